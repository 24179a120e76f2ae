import type { Transaction } from "kysely";
import type { Database, RunOutcome } from "../db/tables.js";
import type { IncidentDeps } from "../incidents/deps.js";
import {
  type EventInput,
  logEvent,
  logTransition,
  storeEvent,
  type TransitionInput,
  transitionInTx,
} from "../incidents/transitions.js";
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
    // A dry run's commit waits for the owner's review as a PR would (README "Dry run").
    case "committed":
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

/** Log lines to write once the transaction that justified them has committed. */
export type AfterCommit = (() => void)[];

/** Runs `fn` in one transaction; the log lines it queues on `after` are written after the commit. */
export async function inTx<T>(
  deps: Pick<IncidentDeps, "db">,
  fn: (trx: Transaction<Database>, after: AfterCommit) => Promise<T>,
): Promise<T> {
  const after: AfterCommit = [];
  const out = await deps.db.transaction().execute((trx) => fn(trx, after));
  for (const line of after) line();
  return out;
}

/** An event that changes no state, stored in the caller's transaction and logged after its commit. */
async function eventInTx(
  trx: Transaction<Database>,
  deps: IncidentDeps,
  after: AfterCommit,
  event: EventInput,
): Promise<void> {
  await storeEvent(trx, event);
  after.push(() => logEvent(deps.log, event));
}

/**
 * Records a run's end (compare-and-set on the lease) and moves its incident on, in one transaction:
 * a crash between the two cannot leave an incident in `fixing` with no live run. False when the run
 * was no longer ours (cancelled or reaped meanwhile): then nothing else changes.
 */
export async function finishAndTransition(
  deps: IncidentDeps,
  run: { id: number; incidentId: number; workerId: string },
  f: Finish,
): Promise<boolean> {
  const now = deps.clock.now();
  const { outcome, message, ...fields } = f;
  return inTx(deps, async (trx, after) => {
    if (!(await finishRun(trx, { runId: run.id, workerId: run.workerId, outcome, now, ...fields })))
      return false;
    await moveIncidentInTx(trx, deps, after, {
      incidentId: run.incidentId,
      runId: run.id,
      outcome,
      message,
      f,
    });
    return true;
  });
}

/**
 * The incident side of a finished run, inside the caller's transaction (also when a run fails through
 * the reaper or its last retry). Log lines go to `after`, for the caller to write after commit.
 */
export async function moveIncidentInTx(
  trx: Transaction<Database>,
  deps: IncidentDeps,
  after: AfterCommit,
  m: {
    incidentId: number;
    runId: number;
    outcome: RunOutcome;
    message: string;
    f?: Pick<Finish, "prUrl" | "prNumber">;
  },
): Promise<void> {
  const { incidentId, runId, outcome, message, f = {} } = m;
  const now = deps.clock.now();
  const to = nextState(outcome);
  if (to === null) return;
  // FOR UPDATE: the state read here is the one the compare-and-set below expects.
  const incident = await trx
    .selectFrom("incidents")
    .select(["id", "state"])
    .where("id", "=", incidentId)
    .forUpdate()
    .executeTakeFirst();
  if (!incident) return;
  if (incident.state !== "fixing") {
    // Dismissed or resolved meanwhile: the run's result is recorded, the incident keeps its state.
    await eventInTx(trx, deps, after, {
      incidentId,
      runId,
      kind: "run_finished",
      message: `run ${runId} ended (${outcome}) while the incident was ${incident.state}: ${message}`,
      data: { outcome },
      now,
    });
    return;
  }
  const input: TransitionInput = {
    to,
    kind: outcome === "pr_opened" || outcome === "committed" ? outcome : "run_finished",
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
        : outcome === "committed"
          ? // No PR: nothing to poll or comment on; the reason says where the commit is.
            { pr_url: null, pr_number: null, pr_state: null, pr_merged_at: null, triage_reason: message }
          : { triage_reason: message },
    now,
  };
  if (await transitionInTx(trx, incident, input)) after.push(() => logTransition(deps.log, incident, input));
}

/** Records, in the caller's transaction, a failed attempt that goes back to the queue (no state change). */
export async function noteRetryInTx(
  trx: Transaction<Database>,
  deps: IncidentDeps,
  after: AfterCommit,
  r: { incidentId: number; runId: number; message: string },
): Promise<void> {
  await eventInTx(trx, deps, after, { ...r, kind: "run_retry", now: deps.clock.now() });
}
