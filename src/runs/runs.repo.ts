import { sql } from "kysely";
import type { Db } from "../db/database.js";

/** Records what a run has done so far (its worktree, its commit), so a later attempt can see it. */
export async function recordRunProgress(
  db: Db,
  runId: number,
  progress: {
    worktree?: string;
    commitSha?: string;
    validation?: "passed" | "failed" | "skipped";
    agentStats?: Record<string, unknown>;
  },
): Promise<void> {
  await db
    .updateTable("runs")
    .set({
      ...(progress.worktree !== undefined && { worktree: progress.worktree }),
      ...(progress.commitSha !== undefined && { commit_sha: progress.commitSha }),
      ...(progress.validation !== undefined && { validation: progress.validation }),
      ...(progress.agentStats !== undefined && { agent_stats: JSON.stringify(progress.agentStats) }),
    })
    .where("id", "=", runId)
    .execute();
}

/**
 * Puts a run this worker holds back in the queue until `runAfter` without spending the attempt: a
 * forge or git outage is not the agent's failure.
 */
export async function deferRun(
  db: Db,
  args: { runId: number; workerId: string; runAfter: Date; error: string },
): Promise<boolean> {
  const res = await db
    .updateTable("runs")
    .set((eb) => ({
      state: "queued",
      attempt: sql<number>`greatest(${eb.ref("attempt")} - 1, 0)`,
      run_after: args.runAfter,
      lease_owner: null,
      lease_expires_at: null,
      error: args.error,
    }))
    .where("id", "=", args.runId)
    .where("state", "=", "running")
    .where("lease_owner", "=", args.workerId)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}
