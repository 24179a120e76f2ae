import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { statusOf, toApiError } from "../api/errors.js";
import { ActionError } from "../incidents/actions.js";
import { actionRoutes } from "./actions.js";
import { ASSETS } from "./assets.js";
import { homeData, incidentData, runData } from "./data.js";
import type { WebDeps } from "./deps.js";
import { homePage } from "./home.js";
import { incidentPage } from "./incident.js";
import { errorPage, signInPage } from "./layout.js";
import { runPage } from "./run.js";
import { COOKIE, type Session, Sessions } from "./session.js";

// Everything comes from this origin; nothing inline runs; no one may frame the page.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Frame-Options", "DENY");
  if (!c.req.path.startsWith("/static/")) c.header("Cache-Control", "no-store");
};

/** Where to go after signing in: only this page's own paths, never another site. */
function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/((incidents|runs)\/\d+)?$/.test(next) ? next : "/";
}

/** The web page: sign-in, `/`, `/incidents/:id`, `/runs/:id`, the action forms and the static files. */
export function webRouter(deps: WebDeps): Hono {
  const app = new Hono();
  const sessions = new Sessions(deps.secrets, deps.config.web.sessionSeconds);
  const sessionOf = (c: Context): Session | undefined =>
    sessions.read(getCookie(c, COOKIE), deps.clock.now());
  const html = (c: Context, body: ReturnType<typeof signInPage>, status: ContentfulStatusCode = 200) =>
    c.html(body, status);
  const signIn = (c: Context) =>
    html(c, signInPage({ next: safeNext(c.req.path) }), c.req.path === "/" ? 200 : 401);

  for (const path of ["/", "/login", "/logout", "/silences", "/incidents/*", "/runs/*", "/static/*"]) {
    app.use(path, securityHeaders);
  }
  for (const path of ["/login", "/logout", "/silences", "/incidents/*"]) {
    app.post(path, bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text("form too large", 413) }));
  }
  for (const a of Object.values(ASSETS)) {
    app.get(a.path, (c) =>
      c.body(a.body, 200, { "content-type": a.type, "cache-control": "public, max-age=31536000, immutable" }),
    );
  }

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const role = typeof form.token === "string" ? sessions.roleFor(form.token.trim()) : undefined;
    const next = safeNext(form.next);
    if (!role) {
      deps.log.warn({ event: "web_signin_refused" }, "web sign-in with a wrong token");
      return html(c, signInPage({ next, error: "Wrong token." }), 401);
    }
    const https = new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
    setCookie(c, COOKIE, sessions.issue(role, deps.clock.now()), {
      httpOnly: true,
      sameSite: "Strict",
      secure: deps.config.web.secureCookies || https,
      path: "/",
      maxAge: deps.config.web.sessionSeconds,
    });
    deps.log.info({ event: "web_signin", role }, `web sign-in (${role})`);
    return c.redirect(next, 303);
  });
  app.post("/logout", (c) => {
    deleteCookie(c, COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  app.get("/", async (c) => {
    const session = sessionOf(c);
    if (!session) return signIn(c);
    return html(c, homePage(await homeData(deps, session, c.req.query())));
  });
  app.get("/incidents/:id", async (c) => {
    const session = sessionOf(c);
    if (!session) return signIn(c);
    return html(c, incidentPage(await incidentData(deps, c.req.param("id")), session, c.req.query("done")));
  });
  app.get("/runs/:id", async (c) => {
    const session = sessionOf(c);
    if (!session) return signIn(c);
    return html(c, runPage(await runData(deps, session, c.req.param("id"))));
  });
  app.route("/", actionRoutes(deps, sessions, sessionOf));

  app.onError((err, c) => {
    const session = sessionOf(c);
    if (err instanceof ActionError) {
      const title = err.code === "not_found" ? "Not found" : "Not done";
      return html(c, errorPage({ title, message: err.message, session }), statusOf(err.code));
    }
    const e = toApiError(err);
    if (e.code === "internal") deps.log.error({ err, path: c.req.path }, "web page failed");
    return html(c, errorPage({ title: "Error", message: e.message, session }), statusOf(e.code));
  });
  return app;
}
