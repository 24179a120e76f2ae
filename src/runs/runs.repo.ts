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
