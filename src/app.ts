import { Hono } from "hono";
import { apiRouter } from "./api/api.js";
import { bearerAuth, hookTokenFor } from "./api/auth.js";
import { isDbUnavailable, statusOf, toApiError } from "./api/errors.js";
import { hooksRouter } from "./api/hooks.js";
import type { Metrics } from "./api/metrics.js";
import type { Secrets } from "./config/load.js";
import { isReachable } from "./db/database.js";
import { ActionError } from "./incidents/actions.js";
import type { IncidentDeps } from "./incidents/deps.js";
import type { Inflight } from "./inflight.js";
import { createIngester, type Ingester } from "./ingest/ingest.js";
import type { RepeatLedger } from "./ingest/repeats.js";
import { failures } from "./preflight/runner.js";
import type { WebDeps } from "./web/deps.js";
import { webRouter } from "./web/web.js";

export interface AppDeps extends IncidentDeps {
  secrets: Secrets;
  metrics: Metrics;
  /** Extra routers mounted by later parts (GitHub webhook), and the cleanup pass for `POST /api/cleanup`. */
  githubHook?: Hono;
  /** `POST /hooks/forgejo` (Forgejo and Gitea), signed like githubHook, so also before the bearer auth. */
  forgejoHook?: Hono;
  /** `POST /hooks/deployment` (behind the bearer auth), from the lifecycle. */
  deploymentHook?: Hono;
  cleanup?: () => Promise<unknown>;
  /** Ingests in flight: shutdown waits for them before closing the database. */
  inflight?: Inflight;
  /** Exact repeats counted in memory: run.ts writes what is left at shutdown. */
  repeats?: RepeatLedger;
  /** The ingester behind `POST /hooks/<source>` (run.ts shares it with the quick repeat path); made here when absent. */
  ingest?: Ingester;
  /** `GET /api/hosts` and the web page's hosts panel: deployed revisions, from the lifecycle. */
  hosts?: WebDeps["hosts"];
}

/** The HTTP app: hooks, API, health, metrics and the web page. No socket: tests call `app.request()`. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const { secrets } = deps;
  const tokenFor = hookTokenFor(secrets);

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    if (!(await isReachable(deps.db))) return c.json({ ok: false, error: "database unreachable" }, 503);
    // Ingest works without the repair path: failed preflight checks degrade, they do not fail.
    const degraded = failures(deps.preflight?.results() ?? []);
    return c.json(degraded.length > 0 ? { ok: true, degraded } : { ok: true });
  });
  app.get("/metrics", async (c) =>
    c.text(await deps.metrics.render(deps.db, deps.clock.now()), 200, {
      "content-type": "text/plain; version=0.0.4",
    }),
  );
  if (deps.githubHook) app.route("/hooks/github", deps.githubHook);
  if (deps.forgejoHook) app.route("/hooks/forgejo", deps.forgejoHook);
  app.use("/hooks/*", bearerAuth(tokenFor));
  if (deps.deploymentHook) app.route("/hooks/deployment", deps.deploymentHook);
  const ingest =
    deps.ingest ??
    createIngester(deps, {
      unavailable: isDbUnavailable,
      ...(deps.repeats ? { repeats: deps.repeats } : {}),
    });
  app.route("/hooks", hooksRouter(ingest, deps.metrics, deps.inflight));
  app.use(
    "/api/*",
    bearerAuth(() => secrets.token),
  );
  app.route(
    "/api",
    apiRouter(deps, {
      ...(deps.cleanup ? { cleanup: deps.cleanup } : {}),
      ...(deps.hosts ? { hosts: deps.hosts } : {}),
    }),
  );

  if (deps.config.web.enable) app.route("/", webRouter(deps));

  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof ActionError)
      return c.json({ error: err.code, message: err.message }, statusOf(err.code));
    const e = toApiError(err);
    if (e.code === "db_unavailable") deps.log.warn({ err, path: c.req.path }, "database unreachable: 503");
    else if (e.code === "internal") deps.log.error({ err, path: c.req.path }, "request failed");
    return c.json({ error: e.code, message: e.message }, statusOf(e.code));
  });
  return app;
}
