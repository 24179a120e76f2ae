import { drive, type LoadOptions, type LoadResult, type Scenario } from "./load.js";
import { drivePaced } from "./paced.js";
import { cpuMeter, rssSampler } from "./proc.js";

/** A process under load: where to send, what, and whose CPU and memory to watch. */
export interface Target {
  /**
   * `node-floor`: bench/floor-server.mjs, the ceiling of one Node.js thread serving HTTP here.
   * `pg-floor`: bench/pg-floor-server.mjs, the ceiling of an ingest that commits each body in PostgreSQL.
   */
  name: "healer" | "alertmanager" | "node-floor" | "pg-floor";
  pid: number;
  url: string;
  headers: Record<string, string>;
  body(s: Scenario): string;
}

/** One measured load run against one target. */
export interface Measurement {
  scenario: Scenario["key"];
  label: string;
  target: Target["name"];
  connections: number;
  /** Requests per second asked for (latency at a fixed rate), else unlimited. */
  rate: number | null;
  alertsPerSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  peakRssMiB: number;
  /** CPU per alert answered 2xx, in µs: the service (or Alertmanager), PostgreSQL, the load generator. */
  cpuUsPerAlert: { server: number; postgres: number; client: number };
  load: LoadResult;
}

/** Drives `target` with scenario `s` while sampling its RSS and everyone's CPU. */
export async function measure(
  target: Target,
  s: Scenario,
  opts: Pick<LoadOptions, "connections" | "seconds" | "rate">,
): Promise<Measurement> {
  const rss = rssSampler(target.pid);
  const cpu = cpuMeter(target.pid);
  const common = { url: target.url, headers: target.headers, body: target.body(s), distinct: s.distinct };
  // Unlimited: autocannon, closed loop. At a rate: evenly paced, open loop (autocannon's rate limit
  // sends in bursts, see paced.ts).
  const load =
    opts.rate === undefined
      ? await drive({ ...common, ...opts })
      : await drivePaced({ ...common, ...opts, rate: opts.rate });
  const used = cpu.stop();
  const peakRssMiB = rss.stop();
  const alerts = load.ok * s.alertsPerRequest;
  const perAlert = (sec: number) => (alerts > 0 ? round((sec * 1e6) / alerts, 1) : 0);
  return {
    scenario: s.key,
    label: s.label,
    target: target.name,
    connections: opts.connections,
    rate: opts.rate ?? null,
    alertsPerSecond: round(alerts / load.seconds, 0),
    requestsPerSecond: round(load.ok / load.seconds, 0),
    p50Ms: load.p50,
    p99Ms: load.p99,
    maxMs: load.max,
    peakRssMiB: round(peakRssMiB, 1),
    cpuUsPerAlert: {
      server: perAlert(used.server),
      postgres: perAlert(used.postgres),
      client: perAlert(used.client),
    },
    load,
  };
}

/** Rounds to `digits` decimals. */
export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
