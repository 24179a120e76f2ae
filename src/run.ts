import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { networkWarning } from "./agent/egress/warning.js";
import { hookTokenFor } from "./api/auth.js";
import { isDbUnavailable } from "./api/errors.js";
import { Metrics } from "./api/metrics.js";
import { type QuickRepeat, quickRepeats } from "./api/quick-repeat.js";
import { createApp } from "./app.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config, Secrets } from "./config/load.js";
import { openDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { createInspector } from "./hosts/inspect.js";
import type { IncidentDeps } from "./incidents/deps.js";
import { incidentTick } from "./incidents/maintenance.js";
import { Inflight } from "./inflight.js";
import { createIngester } from "./ingest/ingest.js";
import { RepeatLedger } from "./ingest/repeats.js";
import { createLifecycle } from "./lifecycle/lifecycle.js";
import { type BoundServer, bindFirst } from "./listen.js";
import { startLoop } from "./maintenance.js";
import { startPreflight } from "./preflight/monitor.js";
import { createRunWakeup, notifyRunQueued } from "./runs/wakeup.js";
import { startWorker } from "./runs/worker.js";

export interface RunOptions {
  config: Config;
  secrets: Secrets;
  log: Logger;
  signal: AbortSignal;
  clock?: Clock;
  /** The PATH the agent gets (the service's own, from main.ts: nothing else reads the environment). */
  servicePath: string;
  /** Called once listening, with the bound address. */
  onListening?: (address: { host: string; port: number }) => void;
  /** Maintenance interval (ms); tests make it short. */
  tickMs?: number;
  /** Preflight checks at start and then every this many ms (default hourly); null: none (tests). */
  preflightMs?: number | null;
}

/**
 * Builds every dependency by hand, in one place, and runs until `signal` aborts. Shutdown order:
 * stop accepting requests, stop the maintenance loop, let runs reach a safe point or release their
 * lease, then close the database.
 */
export async function run(opts: RunOptions): Promise<void> {
  const clock = opts.clock ?? systemClock;
  // Bind first: a serve that cannot listen must not open the database or start a loop (BindError).
  const { server, bound, setHandler, fail } = await bindFirst(opts.config.listen);
  try {
    return await serveBound(opts, clock, server, bound, setHandler);
  } catch (e) {
    fail();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw e;
  }
}

async function serveBound(
  opts: RunOptions,
  clock: Clock,
  server: BoundServer,
  bound: { host: string; port: number },
  setHandler: (fetch: (req: Request) => Response | Promise<Response>, quick?: QuickRepeat) => void,
): Promise<void> {
  const { config, secrets, log } = opts;
  const db = openDatabase(config.databaseUrl);
  const applied = await migrateToLatest(db as never);
  if (applied.length) log.info({ migrations: applied }, "migrations applied");
  const network = networkWarning(config.agent);
  if (network) log.warn({ event: "agent_network_open" }, network);

  const pglite = config.databaseUrl.startsWith("pglite://");
  const wakeup = createRunWakeup({
    listen: pglite ? null : { url: config.databaseUrl },
    onListenChange: (up, err) =>
      up ? log.debug("listening for queued runs") : log.warn({ err }, "LISTEN connection lost; reconnecting"),
  });
  const preflight =
    opts.preflightMs === null
      ? undefined
      : startPreflight({
          ctx: { config, secrets, secretProblems: {}, path: opts.servicePath, db },
          log,
          intervalMs: opts.preflightMs ?? 3_600_000,
        });
  const deps: IncidentDeps = {
    db,
    log,
    clock,
    config,
    ...(preflight ? { preflight } : {}),
    wakeRuns: () => {
      wakeup.notify();
      if (!pglite) notifyRunQueued(db).catch((err: unknown) => log.warn({ err }, "NOTIFY failed"));
    },
  };
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  // One inspection channel: the runs' brokers and the deployment poller share it.
  const inspector = createInspector(config, log, { path: opts.servicePath });
  const lifecycle = createLifecycle({ ...deps, secrets }, { inspector });
  // The incident rules call back into the lifecycle (PR comments, closing a PR on dismissal).
  Object.assign(deps, lifecycle.hooks);
  const worker = startWorker({
    ...deps,
    secrets,
    wakeup,
    workerId,
    servicePath: opts.servicePath,
    forge: lifecycle.forge,
    inspector,
  });

  let lastTick = clock.now();
  const loop = startLoop("maintenance", log, opts.tickMs ?? 5000, async () => {
    const since = lastTick;
    lastTick = clock.now();
    await worker.reap();
    await incidentTick(deps, since);
    await lifecycle.tick();
  });

  const inflight = new Inflight();
  const repeats = new RepeatLedger(db, log).start();
  const ingest = createIngester(deps, { unavailable: isDbUnavailable, repeats });
  const metrics = new Metrics(preflight);
  const app = createApp({
    inflight,
    ingest,
    ...deps,
    secrets,
    metrics,
    githubHook: lifecycle.githubHook,
    forgejoHook: lifecycle.forgejoHook,
    deploymentHook: lifecycle.deploymentHook,
    hosts: () => lifecycle.deploy.hosts(),
    cleanup: () => lifecycle.cleanup(),
  });
  setHandler(app.fetch, quickRepeats({ ingest, tokenFor: hookTokenFor(secrets), metrics }));
  log.info(
    { listen: `http://${bound.host}:${bound.port}`, database: pglite ? "pglite" : "postgres" },
    "homelab-healer serving",
  );
  opts.onListening?.(bound);

  await new Promise<void>((resolve) => {
    if (opts.signal.aborted) resolve();
    else opts.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  log.info("shutting down: no new requests");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ("closeIdleConnections" in server) server.closeIdleConnections();
  // A client that keeps its connection open must not hold the shutdown: cut it after a grace.
  const cut = setTimeout(() => {
    if ("closeAllConnections" in server) server.closeAllConnections();
  }, 10_000);
  cut.unref();
  await closed;
  clearTimeout(cut);
  await inflight.idle();
  await repeats.close();
  await loop.stop();
  await preflight?.stop();
  await lifecycle.idle();
  await worker.stop();
  await wakeup.close();
  await db.destroy();
  log.info("stopped");
}
