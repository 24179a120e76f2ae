import { type Context, Hono } from "hono";
import { ApiError } from "../api/errors.js";
import { parseDuration } from "../duration.js";
import { dismissIncident, retryIncident } from "../incidents/actions.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { createSilence } from "../incidents/silences.js";
import { parseId } from "./data.js";
import { errorPage, signInPage } from "./layout.js";
import type { Session, Sessions } from "./session.js";

type Form = Record<string, string | File | (string | File)[]>;

const text = (form: Form, key: string, max = 500): string | undefined => {
  const v = form[key];
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string") throw new ApiError("invalid", `${key}: must be text`);
  if (v.length > max) throw new ApiError("invalid", `${key}: longer than ${max} characters`);
  return v.trim() || undefined;
};

/**
 * The action forms (retry, dismiss, silence): the same operations as `/api`, for an operator session
 * whose form carries the session's CSRF token. A viewer gets 403 and nothing changes.
 */
export function actionRoutes(
  deps: IncidentDeps,
  sessions: Sessions,
  sessionOf: (c: Context) => Session | undefined,
): Hono {
  const app = new Hono();
  /** The checked form, or the response that refuses it. */
  const authorize = async (c: Context): Promise<{ form: Form } | { refused: Response }> => {
    const session = sessionOf(c);
    if (!session) return { refused: await c.html(signInPage({ next: "/" }), 401) };
    const refuse = async (message: string) => ({
      refused: await c.html(errorPage({ title: "Refused", message, session }), 403),
    });
    if (session.role !== "operator") return refuse("This session is read-only (viewer token): no actions.");
    const form = (await c.req.parseBody()) as Form;
    const csrf = typeof form.csrf === "string" ? form.csrf : undefined;
    if (!sessions.csrfMatches(session, csrf))
      return refuse("The form has no valid CSRF token for this session; reload the page and try again.");
    return { form };
  };

  app.post("/incidents/:id/retry", async (c) => {
    const a = await authorize(c);
    if ("refused" in a) return a.refused;
    const id = parseId(c.req.param("id"), "incident");
    const r = await retryIncident(deps, id);
    deps.log.info(
      { event: "web_action", action: "retry", incident: id, run: r.runId },
      "retry from the web page",
    );
    return c.redirect(`/incidents/${id}?done=retried`, 303);
  });
  app.post("/incidents/:id/dismiss", async (c) => {
    const a = await authorize(c);
    if ("refused" in a) return a.refused;
    const id = parseId(c.req.param("id"), "incident");
    await dismissIncident(deps, id, text(a.form, "reason"), { closePr: a.form.closePr === "1" });
    deps.log.info({ event: "web_action", action: "dismiss", incident: id }, "dismissal from the web page");
    return c.redirect(`/incidents/${id}?done=dismissed`, 303);
  });
  app.post("/silences", async (c) => {
    const a = await authorize(c);
    if ("refused" in a) return a.refused;
    const service = text(a.form, "service", 200);
    if (!service) throw new ApiError("invalid", "service: required");
    const raw = text(a.form, "for", 20) ?? "";
    const d = parseDuration(raw);
    if ("error" in d) throw new ApiError("invalid", `for: ${d.error}`);
    const seconds = d.seconds;
    await createSilence(deps, { service, seconds, reason: text(a.form, "reason") });
    deps.log.info({ event: "web_action", action: "silence", service, seconds }, "silence from the web page");
    const back = text(a.form, "incident", 20);
    return c.redirect(back && /^\d+$/.test(back) ? `/incidents/${back}?done=silenced` : "/", 303);
  });
  return app;
}
