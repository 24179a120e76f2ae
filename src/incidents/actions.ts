import { recentAlerts } from "../ingest/deliveries.repo.js";
import { cancelRun, listRunsForIncident } from "../runs/queue.repo.js";
import { failedRunTail } from "../runs/run-log.js";
import type { IncidentDeps } from "./deps.js";
import { getIncident, incidentEvents, listIncidents, updateIncidentFields } from "./incidents.repo.js";
import { startRun } from "./start-run.js";
import { recordEvent, transition } from "./transitions.js";

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
  // A failed run's last lines, so `incident ID` shows the agent's own words (`logs RUN_ID` has all).
  const runs = await Promise.all(
    (await listRunsForIncident(deps.db, id)).map(async (r) => ({
      ...r,
      logTail: (await failedRunTail(deps.config.stateDir, r)) ?? null,
    })),
  );
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
        labels: a.labels,
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

/**
 * `retry ID`: queue a new run now, whatever triage said (the daily budget still holds). After a dry
 * run `replaces` says which commit the new run's branch will replace (its worktree starts the branch
 * afresh from `repo.branch`).
 */
export async function retryIncident(
  deps: IncidentDeps,
  id: number,
): Promise<{ runId: number; replaces?: string }> {
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
  const last = (await listRunsForIncident(deps.db, id)).at(-1);
  const replaces =
    last?.outcome === "committed" && last.commit_sha
      ? `the dry-run commit ${last.commit_sha.slice(0, 12)} on ${last.branch}`
      : undefined;
  const r = await startRun(deps, incident, {
    kind: "repair",
    message: `retry requested by the operator${replaces ? `; it replaces ${replaces}` : ""}`,
  });
  if (!r.started) throw new ActionError("conflict", r.message);
  return replaces ? { runId: r.runId, replaces } : { runId: r.runId };
}

/**
 * `dismiss ID`: the incident is dismissed and a queued or running run is cancelled; with `closePr`
 * its open PR is closed on the forge too (a failure there is reported, the dismissal stands).
 */
export async function dismissIncident(
  deps: IncidentDeps,
  id: number,
  reason: string | undefined,
  opts: { closePr?: boolean } = {},
) {
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
  const result = { incident: moved, cancelledRuns: cancelled.map((c) => c.runId) };
  if (!opts.closePr || moved.pr_number === null || moved.pr_state !== "open") return result;
  return { ...result, closedPr: await closePr(deps, moved.id, moved.pr_number, now) };
}

/** Closes the dismissed incident's PR; the outcome is an event and part of the answer. */
async function closePr(
  deps: IncidentDeps,
  incidentId: number,
  prNumber: number,
  now: Date,
): Promise<{ pr: number; closed: boolean; error?: string }> {
  if (!deps.closePr) return { pr: prNumber, closed: false, error: "no forge to close it on" };
  try {
    await deps.closePr(prNumber);
  } catch (e) {
    const error = (e as Error).message;
    await recordEvent(deps.db, deps.log, {
      incidentId,
      kind: "pr_close_failed",
      message: `closing PR #${prNumber} failed: ${error}`,
      data: { pr: prNumber },
      now,
    });
    return { pr: prNumber, closed: false, error };
  }
  await updateIncidentFields(deps.db, incidentId, { pr_state: "closed" });
  await recordEvent(deps.db, deps.log, {
    incidentId,
    kind: "pr_closed",
    message: `PR #${prNumber} closed by the operator's dismissal`,
    data: { pr: prNumber },
    now,
  });
  return { pr: prNumber, closed: true };
}
