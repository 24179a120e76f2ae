import { createHmac, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { IncidentDeps } from "../incidents/deps.js";
import { applyPrState } from "./pr-state.js";

/** PR payloads stay far below this; anything larger is not a PR event of ours. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** True when `hex` is the hex HMAC-SHA256 of `body` under `secret` (constant time). */
export function validHexHmac(secret: string, body: Uint8Array, hex: string | undefined): boolean {
  if (hex === undefined || !/^[0-9a-f]{64}$/i.test(hex.trim())) return false;
  const given = Buffer.from(hex.trim(), "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The fields of a `pull_request` event both GitHub and Forgejo/Gitea send (same names on both). */
interface PullRequestEvent {
  action?: string;
  pull_request?: { number?: number; merged?: boolean; head?: { ref?: string; label?: string } };
  repository?: { full_name?: string };
}

/** What tells one forge's webhook from another's: headers, signature scheme, where the branch is. */
export interface PrHookSpec {
  /** `github`, `forgejo`: in log lines. */
  forge: string;
  /** True when the request's signature header matches the raw body. */
  verify(body: Uint8Array, header: (name: string) => string | undefined): boolean;
  /** The header(s) that carry the signature, for the 401's message. */
  signatureHeaders: string;
  /** The event name (`pull_request`, `ping`, …) from the request headers. */
  event(header: (name: string) => string | undefined): string;
  /** The delivery id for log lines. */
  delivery(header: (name: string) => string | undefined): string | undefined;
  /** The PR's head branch name from the payload. */
  branch(pr: NonNullable<PullRequestEvent["pull_request"]>): string | undefined;
  /** A refusal for bodies this forge can send but we cannot verify (Forgejo's form encoding). */
  refuse?(contentType: string): string | undefined;
}

/**
 * A signed PR-event webhook, mounted before the bearer auth because the forge authenticates by
 * signature over the raw body. A closed PR is applied like a poll result would be (merged ⇒
 * verifying, unmerged ⇒ dismissed); a bad or missing signature is 401 and changes nothing.
 */
export function prHookRouter(deps: IncidentDeps, spec: PrHookSpec): Hono {
  const app = new Hono();
  const { owner, repo } = deps.config.forge;
  const ours = owner && repo ? `${owner}/${repo}`.toLowerCase() : undefined;
  app.post("/", async (c) => {
    const header = (name: string) => c.req.header(name);
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_BODY_BYTES) return c.json({ error: "too_large", message: "body over 5 MiB" }, 413);
    const refused = spec.refuse?.(c.req.header("content-type") ?? "");
    if (refused !== undefined) return c.json({ error: "unsupported_media_type", message: refused }, 415);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.byteLength > MAX_BODY_BYTES) {
      return c.json({ error: "too_large", message: "body over 5 MiB" }, 413);
    }
    if (!spec.verify(body, header)) {
      deps.log.warn({ delivery: spec.delivery(header) }, `${spec.forge} webhook with a bad signature`);
      return c.json({ error: "unauthorized", message: `missing or invalid ${spec.signatureHeaders}` }, 401);
    }
    const event = spec.event(header);
    if (event === "ping") return c.json({ ok: true, event });
    if (event !== "pull_request") return c.json({ ok: true, event, ignored: "not a pull_request event" });
    let payload: PullRequestEvent;
    try {
      payload = JSON.parse(Buffer.from(body).toString("utf8")) as PullRequestEvent;
    } catch (e) {
      return c.json({ error: "malformed", message: `body is not JSON: ${(e as Error).message}` }, 400);
    }
    const pr = payload.pull_request;
    if (typeof pr?.number !== "number") {
      return c.json({ error: "invalid", message: "pull_request.number missing" }, 422);
    }
    const fullName = payload.repository?.full_name?.toLowerCase();
    if (ours !== undefined && fullName !== undefined && fullName !== ours) {
      return c.json({ ok: true, event, ignored: `not ${ours}` });
    }
    if (payload.action !== "closed") return c.json({ ok: true, event, ignored: `action ${payload.action}` });
    if (!spec.branch(pr)?.startsWith("healer/")) {
      return c.json({ ok: true, event, ignored: "not a healer branch" });
    }
    const result = await applyPrState(
      deps,
      { number: pr.number, state: pr.merged === true ? "merged" : "closed" },
      "webhook",
    );
    return c.json({ ok: true, event, pr: pr.number, result });
  });
  return app;
}
