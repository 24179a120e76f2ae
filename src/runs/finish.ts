import type { Db } from "../db/database.js";
import type { RunOutcome } from "../db/tables.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { getIncident } from "../incidents/incidents.repo.js";
import { recordEvent, transition } from "../incidents/transitions.js";
import { finishRun, type RunResultFields } from "./queue.repo.js";

export interface Finish extends RunResultFields {
  outcome: RunOutcome;
  /** For humans: what happened, in the incident's events and the log line. */
  message: string;
}

/** What each outcome makes of an incident in `fixing` (SPEC §6 states). */
function nextState(outcome: RunOutcome): "pr_open" | "needs_human" | null {
  switch (outcome) {
    case "pr_opened":
      return "pr_open";
    case "no_change":
    case "refused":
    case "validation_failed":
    case "failed":
    case "timed_out":
      return "needs_human";
    case "cancelled":
      return null;
    default: {
      const never: never = outcome;
      return never;
    }
  }
}

/**
 * Records a run's end (compare-and-set on the lease) and moves its incident on. False when the run
 * was no longer ours (cancelled or reaped meanwhile): then nothing else changes.
 */
export async function finishAndTransition(
  deps: IncidentDeps,
  run: { id: number; incidentId: number; workerId: string },
  f: Finish,
): Promise<boolean> {
  const now = deps.clock.now();
  const { outcome, message, ...fields } = f;
  const ours = await finishRun(deps.db, { runId: run.id, workerId: run.workerId, outcome, now, ...fields });
  if (!ours) return false;
  await moveIncident(deps, run.incidentId, run.id, outcome, message, f);
  return true;
}

/** The incident side of a finished run (also used when a run fails through the reaper or retries). */
export async function moveIncident(
  deps: IncidentDeps,
  incidentId: number,
  runId: number,
  outcome: RunOutcome,
  message: string,
  f: Pick<Finish, "prUrl" | "prNumber"> = {},
): Promise<void> {
  const now = deps.clock.now();
  const incident = await getIncident(deps.db, incidentId);
  const to = nextState(outcome);
  if (!incident || to === null) return;
  if (incident.state !== "fixing") {
    // Dismissed or resolved meanwhile: the run's result is recorded, the incident keeps its state.
    await recordEvent(deps.db, deps.log, {
      incidentId,
      runId,
      kind: "run_finished",
      message: `run ${runId} ended (${outcome}) while the incident was ${incident.state}: ${message}`,
      data: { outcome },
      now,
    });
    return;
  }
  await transition(deps.db, deps.log, incident, {
    to,
    kind: outcome === "pr_opened" ? "pr_opened" : "run_finished",
    message,
    runId,
    data: { outcome, ...(f.prUrl ? { prUrl: f.prUrl } : {}) },
    set:
      outcome === "pr_opened"
        ? {
            pr_url: f.prUrl ?? null,
            pr_number: f.prNumber ?? null,
            pr_state: "open",
            pr_merged_at: null,
            triage_reason: message,
          }
        : { triage_reason: message },
    now,
  });
}

/** Records a failed attempt that goes back to the queue (no state change). */
export async function noteRetry(
  deps: IncidentDeps,
  db: Db,
  incidentId: number,
  runId: number,
  message: string,
) {
  await recordEvent(db, deps.log, { incidentId, runId, kind: "run_retry", message, now: deps.clock.now() });
}
