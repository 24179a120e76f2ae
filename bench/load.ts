import autocannon from "autocannon";

/** One load shape, driven the same way against both targets. */
export interface Scenario {
  key: "repeated" | "distinct" | "batch50";
  label: string;
  alertsPerRequest: number;
  /** Each request carries new alerts (`[<id>]` in the body, replaced by one new id per request). */
  distinct: boolean;
}

export const SCENARIOS: Scenario[] = [
  { key: "repeated", label: "one alert repeated", alertsPerRequest: 1, distinct: false },
  { key: "distinct", label: "distinct alerts", alertsPerRequest: 1, distinct: true },
  { key: "batch50", label: "50 alerts a request", alertsPerRequest: 50, distinct: true },
];

const STARTS_AT = new Date(Date.UTC(2026, 0, 1)).toISOString();

function labels(s: Scenario, i: number): Record<string, string> {
  return {
    alertname: "NodeFilesystemAlmostFull",
    instance: "nas-01:9100",
    job: "node",
    severity: "warning",
    mountpoint: s.distinct ? `/srv/[<id>]-${i}` : "/srv/media",
  };
}

const annotations = { summary: "Filesystem on nas-01 has less than 5% space left", description: "bench" };

/** Alertmanager's own API body: `POST /api/v2/alerts`, an array of postable alerts. */
export function alertmanagerBody(s: Scenario): string {
  return JSON.stringify(
    Array.from({ length: s.alertsPerRequest }, (_, i) => ({
      labels: labels(s, i),
      annotations,
      startsAt: STARTS_AT,
      generatorURL: "http://prometheus:9090/graph",
    })),
  );
}

/** The same alerts as Alertmanager's webhook delivers them to us: `POST /hooks/alertmanager`. */
export function healerBody(s: Scenario): string {
  const alerts = Array.from({ length: s.alertsPerRequest }, (_, i) => ({
    status: "firing",
    labels: labels(s, i),
    annotations,
    startsAt: STARTS_AT,
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus:9090/graph",
    fingerprint: s.distinct ? `[<id>]-${i}` : "5d7e0a1b2c3d4e5f",
  }));
  return JSON.stringify({
    version: "4",
    groupKey: '{}:{alertname="NodeFilesystemAlmostFull"}',
    truncatedAlerts: 0,
    status: "firing",
    receiver: "healer",
    groupLabels: { alertname: "NodeFilesystemAlmostFull" },
    commonLabels: { alertname: "NodeFilesystemAlmostFull", job: "node" },
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    alerts,
  });
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  statusCodes: Record<string, number>;
  /** Paced runs: the generator's own event-loop delay (its stalls are counted as latency). */
  generatorDelayMs?: { p99: number; max: number };
}

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds?: number;
  /** Stop after this many requests (or at `seconds`, whichever comes first). */
  maxRequests?: number;
  /** Requests per second across all connections (latency at a given rate). */
  rate?: number;
  distinct: boolean;
}

let runs = 0;

/**
 * Drives one target with autocannon; latencies in ms over the 2xx answers. Distinct bodies get a
 * counter for `[<id>]` (autocannon's own idReplacement miscounts Content-Length and stalls).
 */
export async function drive(o: LoadOptions): Promise<LoadResult> {
  const prefix = `${process.pid.toString(36)}r${++runs}n`;
  let n = 0;
  const [head, ...rest] = o.body.split("[<id>]");
  const started = process.hrtime.bigint();
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds ?? 10,
    ...(o.maxRequests !== undefined ? { maxOverallRequests: o.maxRequests } : {}),
    ...(o.rate !== undefined ? { overallRate: o.rate } : {}),
    timeout: 30,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", ...o.headers },
        body: o.body,
        ...(o.distinct
          ? {
              setupRequest: (req: autocannon.Request) => {
                const id = `${prefix}${++n}`;
                return { ...req, body: `${head}${rest.map((part) => id + part).join("")}` };
              },
            }
          : {}),
      },
    ],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const codes: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {}))
    codes[code] = (v as { count: number }).count;
  return {
    requests: r.requests.total,
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    seconds,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    statusCodes: codes,
  };
}
