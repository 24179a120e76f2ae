import { sql } from "kysely";
import type { Incident, RunKind } from "../db/tables.js";
import { enqueueRun, runsStartedSince } from "../runs/queue.repo.js";
import { costSince } from "../runs/usage.repo.js";
import { branchName, type IncidentDeps } from "./deps.js";
import { logTransition, type TransitionInput, transitionInTx } from "./transitions.js";
import { costBudgetReason } from "./triage.js";

export type StartRunResult =
  | { started: true; runId: number }
  | { started: false; reason: "budget_spent" | "run_live" | "state_changed"; message: string };

// One lock for the daily budget, so two instances cannot both take the last run of the day.
const BUDGET_LOCK = sql`pg_advisory_xact_lock(hashtext('homelab-healer:run-budget'))`;

/**
 * Queues a run for an incident and moves it to `fixing`, atomically: the budget is checked under a
 * transaction-scoped advisory lock shared by every instance, the run row and the transition commit
 * together (or neither does).
 */
export async function startRun(
  deps: IncidentDeps,
  incident: Pick<Incident, "id" | "state" | "follow_ups">,
  opts: { kind: RunKind; message: string; data?: Record<string, unknown>; countFollowUp?: boolean },
): Promise<StartRunResult> {
  const now = deps.clock.now();
  const { agent } = deps.config;
  const followUp = opts.countFollowUp ? incident.follow_ups + 1 : incident.follow_ups;
  const input: TransitionInput = {
    to: "fixing",
    kind: opts.kind === "follow_up" ? "follow_up" : "run_queued",
    message: opts.message,
    data: opts.data ?? {},
    set: { branch: branchName(incident.id, followUp), follow_ups: followUp, triage_reason: opts.message },
    now,
  };
  const result = await deps.db
    .transaction()
    .execute(async (trx): Promise<StartRunResult> => {
      await sql`SELECT ${BUDGET_LOCK}`.execute(trx);
      const used = await runsStartedSince(trx, new Date(now.getTime() - 86_400_000));
      if (used >= agent.maxRunsPerDay) {
        return {
          started: false,
          reason: "budget_spent",
          message: `run budget spent: ${used} runs in the last 24 h (agent.maxRunsPerDay = ${agent.maxRunsPerDay})`,
        };
      }
      const cap = agent.maxCostPerDay;
      if (cap !== undefined) {
        const spent = await costSince(trx, new Date(now.getTime() - 86_400_000));
        if (spent >= cap)
          return { started: false, reason: "budget_spent", message: costBudgetReason(spent, cap) };
      }
      const run = await enqueueRun(trx, {
        incidentId: incident.id,
        kind: opts.kind,
        branch: branchName(incident.id, followUp),
        maxAttempts: agent.maxAttempts,
        now,
      });
      if (!run) return { started: false, reason: "run_live", message: "a run is already queued or running" };
      const moved = await transitionInTx(trx, incident, { ...input, runId: run.id });
      if (!moved) {
        // The incident moved on meanwhile: roll the run back with the transaction.
        throw new StateChanged();
      }
      return { started: true, runId: run.id };
    })
    .catch((e: unknown) => {
      if (e instanceof StateChanged) {
        return {
          started: false,
          reason: "state_changed",
          message: "the incident changed state meanwhile",
        } as const;
      }
      throw e;
    });
  if (result.started) {
    logTransition(deps.log, incident, { ...input, runId: result.runId });
    deps.wakeRuns();
  }
  return result;
}

class StateChanged extends Error {}
