import { type Kysely, sql } from "kysely";
import type { Database } from "../db/tables.js";

type Q = Kysely<Database>;

/** Finished runs whose worktree is still on record and that finished before `before`. */
export async function worktreesDue(
  db: Q,
  before: Date,
): Promise<{ id: number; incident_id: number; branch: string; worktree: string }[]> {
  const rows = await db
    .selectFrom("runs")
    .select(["id", "incident_id", "branch", "worktree"])
    .where("state", "=", "finished")
    .where("worktree", "is not", null)
    .where("worktree_removed_at", "is", null)
    .where("finished_at", "<=", before)
    .orderBy("id")
    .execute();
  return rows.map((r) => ({ ...r, worktree: r.worktree as string }));
}

/** Notes that a run's worktree is gone (its log in stateDir/runs/<id>/ stays). */
export async function markWorktreeRemoved(db: Q, runId: number, now: Date): Promise<void> {
  await db
    .updateTable("runs")
    .set({ worktree_removed_at: now })
    .where("id", "=", runId)
    .where("worktree_removed_at", "is", null)
    .execute();
}

/** Branches and worktrees of queued and running runs: cleanup never touches these. */
export async function liveRuns(db: Q): Promise<{ branch: string; worktree: string | null }[]> {
  return db.selectFrom("runs").select(["branch", "worktree"]).where("state", "<>", "finished").execute();
}

/** Worktrees of finished runs still inside their retention (removed by the retention rule when due). */
export async function retainedWorktrees(db: Q): Promise<string[]> {
  const rows = await db
    .selectFrom("runs")
    .select("worktree")
    .where("state", "=", "finished")
    .where("worktree", "is not", null)
    .where("worktree_removed_at", "is", null)
    .execute();
  return rows.map((r) => r.worktree as string);
}

/** A pushed branch whose PR may be done with, and what the incident knows of that PR. */
export interface BranchCandidate {
  incident_id: number;
  branch: string;
  pr_number: number;
  /** The incident's current PR and its last known state. */
  current_pr: number | null;
  pr_state: string | null;
}

/**
 * Branches that had a PR and have not been cleaned up for that PR yet (a `branch_cleanup` event
 * names branch and PR), where the PR is known merged or closed, or was superseded by a later PR of
 * the incident (the caller asks the forge about those). No queued or running run may use the branch.
 */
export async function branchCandidates(db: Q): Promise<BranchCandidate[]> {
  const { rows } = await sql<BranchCandidate>`
    SELECT DISTINCT r.incident_id, r.branch, r.pr_number, i.pr_number AS current_pr, i.pr_state
    FROM runs r
    JOIN incidents i ON i.id = r.incident_id
    WHERE r.pr_number IS NOT NULL
      AND r.state = 'finished'
      AND (i.pr_number IS DISTINCT FROM r.pr_number OR i.pr_state IN ('merged', 'closed'))
      AND NOT EXISTS (SELECT 1 FROM runs l WHERE l.branch = r.branch AND l.state <> 'finished')
      AND NOT EXISTS (
        SELECT 1 FROM incident_events e
        WHERE e.incident_id = r.incident_id AND e.kind = 'branch_cleanup'
          AND e.data->>'branch' = r.branch AND e.data->>'pr' = r.pr_number::text)
    ORDER BY r.incident_id, r.pr_number`.execute(db);
  return rows.map((r) => ({
    ...r,
    incident_id: Number(r.incident_id),
    pr_number: Number(r.pr_number),
    current_pr: r.current_pr === null ? null : Number(r.current_pr),
  }));
}

/**
 * Deletes up to `limit` alerts received before `before`, except those of live incidents (their
 * history is what a run reads). Returns how many went.
 */
export async function purgeAlerts(db: Q, before: Date, limit: number): Promise<number> {
  const r = await sql`
    DELETE FROM alerts WHERE id IN (
      SELECT a.id FROM alerts a
      LEFT JOIN incidents i ON i.id = a.incident_id
      WHERE a.received_at < ${before}
        AND (i.id IS NULL OR i.state IN ('resolved', 'dismissed'))
      LIMIT ${limit})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Deletes up to `limit` deliveries received before `before` that no alert refers to any more. */
export async function purgeDeliveries(db: Q, before: Date, limit: number): Promise<number> {
  const r = await sql`
    DELETE FROM deliveries WHERE id IN (
      SELECT d.id FROM deliveries d
      WHERE d.received_at < ${before}
        AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.delivery_id = d.id)
      LIMIT ${limit})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
