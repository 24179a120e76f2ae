import { recentAlerts } from "../ingest/deliveries.repo.js";
import { cancelRun, listRunsForIncident } from "../runs/queue.repo.js";
import type { IncidentDeps } from "./deps.js";
import { getIncident, incidentEvents, judgeableForServices, listIncidents } from "./incidents.repo.js";
import { triageIncident } from "./judge.js";
import { insertSilence } from "./silences.repo.js";
import { startRun } from "./start-run.js";
import { transition } from "./transitions.js";

/** Why an operator action could not be done: answered as 404 or 409. */
export class ActionError extends Error {
  constructor(
    readonly code: "not_found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}

/** One incident with its alerts summary, runs, PRs and events (the API and `homelab-healer incident`). */
export async function incidentDetail(deps: IncidentDeps, id: number) {
  const incident = await getIncident(deps.db, id);
  if (!incident) throw new ActionError("not_found", `no incident ${id}`);
  const alerts = await recentAlerts(deps.db, id, 20);
  const runs = await listRunsForIncident(deps.db, id);
  const prs = runs
    .filter((r) => r.pr_url !== null)
    .map((r) => ({ url: r.pr_url, number: r.pr_number, run: r.id, branch: r.branch }));
  return {
    incident,
    alerts: {
      occurrences: incident.occurrences,
      recent: alerts.map((a) => ({
        id: a.id,
        status: a.status,
        receivedAt: a.received_at,
        summary: a.summary,
        host: a.host,
        service: a.service,
        evidence: (a.details as { evidence?: string[] }).evidence ?? [],
      })),
    },
    runs,
    prs: prs.filter((p, i) => prs.findIndex((q) => q.url === p.url) === i),
    events: await incidentEvents(deps.db, id),
  };
}

export async function incidentList(deps: IncidentDeps, opts: { state?: string | undefined; limit?: number }) {
  return listIncidents(deps.db, {
    state: opts.state as Parameters<typeof listIncidents>[1]["state"],
    limit: Math.min(Math.max(opts.limit ?? 100, 1), 1000),
  });
}

/** `retry ID`: queue a new run now, whatever triage said (the daily budget still holds). */
export async function retryIncident(deps: IncidentDeps, id: number): Promise<{ runId: number }> {
  const incident = await getIncident(deps.db, id);
  if (!incident) throw new ActionError("not_found", `no incident ${id}`);
  if (incident.state === "resolved" || incident.state === "dismissed") {
    throw new ActionError(
      "conflict",
      `incident ${id} is ${incident.state}; a new alert opens a new incident`,
    );
  }
  if (deps.config.repo.url === undefined) {
    throw new ActionError("conflict", "repo.url is not set: there is no repo to repair");
  }
  const r = await startRun(deps, incident, { kind: "repair", message: "retry requested by the operator" });
  if (!r.started) throw new ActionError("conflict", r.message);
  return { runId: r.runId };
}

/** `dismiss ID`: the incident is dismissed and a queued or running run is cancelled. */
export async function dismissIncident(deps: IncidentDeps, id: number, reason: string | undefined) {
  const incident = await getIncident(deps.db, id);
  if (!incident) throw new ActionError("not_found", `no incident ${id}`);
  if (incident.state === "resolved" || incident.state === "dismissed") {
    throw new ActionError("conflict", `incident ${id} is already ${incident.state}`);
  }
  const now = deps.clock.now();
  const cancelled = await cancelRun(deps.db, { incidentId: id, now });
  const moved = await transition(deps.db, deps.log, incident, {
    to: "dismissed",
    kind: "dismissed",
    message: `dismissed by the operator${reason ? `: ${reason}` : ""}`,
    data: { cancelledRuns: cancelled.map((c) => c.runId) },
    set: { triage_reason: reason ?? "dismissed by the operator" },
    now,
  });
  if (!moved) throw new ActionError("conflict", `incident ${id} changed state meanwhile; try again`);
  return { incident: moved, cancelledRuns: cancelled.map((c) => c.runId) };
}

/** `silence`: open and suppressed incidents of the service are judged again at once. */
export async function createSilence(
  deps: IncidentDeps,
  s: { service: string; alertName?: string | undefined; seconds: number; reason?: string | undefined },
) {
  const now = deps.clock.now();
  const silence = await insertSilence(deps.db, {
    service: s.service,
    alertName: s.alertName ?? null,
    reason: s.reason ?? null,
    now,
    expiresAt: new Date(now.getTime() + s.seconds * 1000),
  });
  for (const i of await judgeableForServices(deps.db, [s.service])) await triageIncident(deps, i.id);
  return silence;
}
