import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../src/db/database.js";
import { drive } from "./load.js";
import { round } from "./measure.js";
import { rssSampler } from "./proc.js";

export interface StormResult {
  alerts: number;
  /** The time bound: a storm that is not through by then is reported as far as it got. */
  limitSeconds: number;
  accepted202: number;
  seconds: number;
  alertsPerSecond: number;
  p99Ms: number;
  peakRssMiB: number;
  incidents: number;
  runs: number;
  occurrences: number;
}

const stormBody = (perRequest: number) =>
  JSON.stringify({
    alerts: Array.from({ length: perRequest }, (_, i) => ({
      name: "disk-full",
      service: "srv-media.mount",
      host: "nas-01",
      summary: "No space left on device",
      idempotencyKey: `[<id>]-${i}`,
    })),
  });

/**
 * A storm: `alerts` alerts of one fingerprint (distinct occurrences, 50 a request) at full speed.
 * They must make one incident and one run; the service's RSS is sampled throughout.
 */
export async function storm(
  svc: { pid: number; url: string },
  db: Db,
  o: { token: string; alerts: number; connections: number; seconds: number },
): Promise<StormResult> {
  const perRequest = 50;
  const rss = rssSampler(svc.pid);
  const load = await drive({
    url: `${svc.url}/hooks/generic`,
    headers: { authorization: `Bearer ${o.token}` },
    body: stormBody(perRequest),
    connections: o.connections,
    maxRequests: Math.ceil(o.alerts / perRequest),
    seconds: o.seconds,
    distinct: true,
  });
  const peakRssMiB = rss.stop();
  const incidents = await db.selectFrom("incidents").select(["id", "occurrences"]).execute();
  const runs = await db.selectFrom("runs").select("id").execute();
  return {
    alerts: o.alerts,
    limitSeconds: o.seconds,
    accepted202: load.ok * perRequest,
    seconds: round(load.seconds, 2),
    alertsPerSecond: round((load.ok * perRequest) / load.seconds, 0),
    p99Ms: load.p99,
    peakRssMiB: round(peakRssMiB, 1),
    incidents: incidents.length,
    runs: runs.length,
    occurrences: incidents.reduce((n, i) => n + i.occurrences, 0),
  };
}

export interface AgentStartResult {
  samples: number;
  /** Decision (the `run_queued` event) to the agent's first line, ms. */
  medianMs: number;
  maxMs: number;
  all: number[];
  /** agent.network of the lane measured (allowlist: own network namespace and the egress proxy). */
  network?: string;
}

/** Ms from the decision to act on `incidentId` to its agent's start stamp, once the agent has run. */
async function decisionToStart(db: Db, stateDir: string, incidentId: number, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const event = await db
      .selectFrom("incident_events")
      .select(["at", "run_id"])
      .where("incident_id", "=", incidentId)
      .where("kind", "=", "run_queued")
      .executeTakeFirst();
    if (event?.run_id) {
      let log = "";
      try {
        log = readFileSync(join(stateDir, "runs", String(event.run_id), "agent.log"), "utf8");
      } catch {
        // not started yet
      }
      const m = /"bench-agent-start","at":(\d+)/.exec(log);
      if (m) return Number(m[1]) - event.at.getTime();
    }
    if (Date.now() > until)
      throw new Error(`no agent start for incident ${incidentId} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends `samples` new problems one after another and times each decision → agent start. */
export async function agentStartLatency(
  svc: { url: string },
  db: Db,
  o: { token: string; stateDir: string; samples: number },
): Promise<AgentStartResult> {
  const all: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const res = await fetch(`${svc.url}/hooks/generic`, {
      method: "POST",
      headers: { authorization: `Bearer ${o.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        alerts: [{ name: `latency-probe-${i}`, service: `probe${i}.service`, host: "nas-01" }],
      }),
    });
    const { incidents } = (await res.json()) as { incidents: number[] };
    all.push(await decisionToStart(db, o.stateDir, incidents[0]!, 60_000));
    // Let the run finish (the lane runs one at a time) before the next decision.
    await waitRunsIdle(db, 60_000);
  }
  const sorted = [...all].sort((a, b) => a - b);
  return {
    samples: all.length,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    maxMs: sorted.at(-1) ?? 0,
    all,
  };
}

/** Waits until no run is queued or running. */
export async function waitRunsIdle(db: Db, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const busy = await db
      .selectFrom("runs")
      .select("id")
      .where("state", "in", ["queued", "running"])
      .execute();
    if (busy.length === 0) return;
    if (Date.now() > until) throw new Error("runs still busy");
    await new Promise((r) => setTimeout(r, 50));
  }
}
