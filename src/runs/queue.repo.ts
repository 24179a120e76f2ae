import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { Run, RunKind, RunOutcome, RunState } from "../db/tables.js";

// The leased run queue: queued → running (leased) → finished, or back to queued (failed attempt,
// expired lease, release). Every rule takes `now` from the caller's Clock, never SQL now().

/** Key of the transaction-scoped advisory lock that serialises claimers across instances. */
const CLAIM_LOCK_KEY = 0x6865616c; // "heal"

/** Backoff after a failed attempt: 30 s · 2^attempt, at most an hour. */
export const BACKOFF_BASE_SECONDS = 30;
export const BACKOFF_MAX_SECONDS = 3600;

/** The backoff in seconds after the given (already counted) attempt; the SQL below computes the same. */
export function backoffSeconds(attempt: number): number {
  return Math.min(BACKOFF_BASE_SECONDS * 2 ** Math.min(attempt, 20), BACKOFF_MAX_SECONDS);
}

// `attempt` is capped before power() so a corrupt counter cannot overflow the double.
const backoffUntil = (now: Date) =>
  sql<Date>`${now}::timestamptz + least(${BACKOFF_BASE_SECONDS} * power(2, least(attempt, 20)), ${BACKOFF_MAX_SECONDS}) * interval '1 second'`;

const leaseUntil = (now: Date, leaseSeconds: number) => new Date(now.getTime() + leaseSeconds * 1000);

/** Queues a run; null when the incident already has a live (queued or running) run. */
export async function enqueueRun(
  db: Db,
  args: { incidentId: number; kind: RunKind; branch: string; maxAttempts: number; now: Date },
): Promise<Run | null> {
  // The partial unique index runs_one_live_per_incident decides, also across instances: the
  // conflict target repeats its predicate so Postgres infers that index.
  const row = await db
    .insertInto("runs")
    .values({
      incident_id: args.incidentId,
      kind: args.kind,
      state: "queued",
      max_attempts: args.maxAttempts,
      run_after: args.now,
      branch: args.branch,
      created_at: args.now,
      agent_stats: "{}",
    })
    .onConflict((oc) => oc.column("incident_id").where("state", "<>", "finished").doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Claims the oldest due queued run for `workerId`, counting the attempt, unless
 * `maxConcurrentRuns` runs already hold a live lease (across every instance sharing the database).
 */
export async function claimNextRun(
  db: Db,
  args: { workerId: string; now: Date; leaseSeconds: number; maxConcurrentRuns: number },
): Promise<Run | null> {
  const { workerId, now, leaseSeconds, maxConcurrentRuns } = args;
  // Why the advisory lock: "count the running runs, then claim one" is a read-then-write. Two
  // claimers in separate transactions could both count maxConcurrentRuns - 1 and both claim, and
  // SKIP LOCKED does not help because they claim different rows. A transaction-scoped advisory
  // lock makes claimers take turns; it is released at commit, so a crashed claimer never holds it.
  // Why two statements: under READ COMMITTED each statement takes a fresh snapshot, so the claim
  // statement, started after the lock was granted, sees the previous claimer's committed row. One
  // statement taking the lock inside would count with a snapshot from before it waited.
  // One connection at a time, so it also works on PGlite.
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${CLAIM_LOCK_KEY})`.execute(trx);
    const { rows } = await sql<Run>`
      WITH busy AS (
        SELECT count(*) AS n FROM runs
        WHERE state = 'running' AND lease_expires_at >= ${now}
      ), next AS (
        SELECT id FROM runs
        WHERE state = 'queued' AND run_after <= ${now}
          AND (SELECT n FROM busy) < ${maxConcurrentRuns}
        ORDER BY run_after, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
      )
      UPDATE runs r SET
        state = 'running',
        attempt = r.attempt + 1,
        lease_owner = ${workerId},
        lease_expires_at = ${leaseUntil(now, leaseSeconds)},
        heartbeat_at = ${now},
        started_at = ${now}
      FROM next WHERE r.id = next.id
      RETURNING r.*`.execute(trx);
    return rows[0] ?? null;
  });
}

/**
 * Renews the lease; false when it is lost (reaped, cancelled, finished, or already expired): the
 * worker must then stop.
 */
export async function heartbeat(
  db: Db,
  args: { runId: number; workerId: string; now: Date; leaseSeconds: number },
): Promise<boolean> {
  // An expired lease is not renewed even if the reaper has not run yet: the claim already counts
  // it as a free slot, so renewing it could exceed maxConcurrentRuns.
  const res = await db
    .updateTable("runs")
    .set({ lease_expires_at: leaseUntil(args.now, args.leaseSeconds), heartbeat_at: args.now })
    .where("id", "=", args.runId)
    .where("state", "=", "running")
    .where("lease_owner", "=", args.workerId)
    .where("lease_expires_at", ">=", args.now)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/**
 * Puts a run this worker holds back in the queue, giving the attempt back: at once on graceful
 * shutdown, or after `runAfter` with the `error` when the forge or git was unavailable (not the
 * agent's failure, so no attempt is spent).
 */
export async function releaseRun(
  db: Db,
  args: { runId: number; workerId: string; now: Date; runAfter?: Date; error?: string },
): Promise<boolean> {
  const res = await db
    .updateTable("runs")
    .set((eb) => ({
      state: "queued",
      attempt: sql<number>`greatest(${eb.ref("attempt")} - 1, 0)`,
      run_after: args.runAfter ?? args.now,
      lease_owner: null,
      lease_expires_at: null,
      started_at: null,
      ...(args.error !== undefined && { error: args.error }),
    }))
    .where("id", "=", args.runId)
    .where("state", "=", "running")
    .where("lease_owner", "=", args.workerId)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** What a finished run records besides its outcome. */
export interface RunResultFields {
  worktree?: string | null;
  exitCode?: number | null;
  error?: string | null;
  prUrl?: string | null;
  prNumber?: number | null;
  commitSha?: string | null;
  validation?: "passed" | "failed" | "skipped" | null;
  agentStats?: Record<string, unknown>;
}

/** Finishes a run this worker holds; false when it no longer holds it (compare-and-set on the owner). */
export async function finishRun(
  db: Db,
  args: { runId: number; workerId: string; outcome: RunOutcome; now: Date } & RunResultFields,
): Promise<boolean> {
  // No lease-expiry check: if the lease ran out but nobody reaped it yet, the result is still ours
  // and worth keeping. lease_owner stays as a record of who ran it.
  const res = await db
    .updateTable("runs")
    .set({
      state: "finished",
      outcome: args.outcome,
      finished_at: args.now,
      lease_expires_at: null,
      ...(args.worktree !== undefined && { worktree: args.worktree }),
      ...(args.exitCode !== undefined && { exit_code: args.exitCode }),
      ...(args.error !== undefined && { error: args.error }),
      ...(args.prUrl !== undefined && { pr_url: args.prUrl }),
      ...(args.prNumber !== undefined && { pr_number: args.prNumber }),
      ...(args.commitSha !== undefined && { commit_sha: args.commitSha }),
      ...(args.validation !== undefined && { validation: args.validation }),
      ...(args.agentStats !== undefined && { agent_stats: JSON.stringify(args.agentStats) }),
    })
    .where("id", "=", args.runId)
    .where("state", "=", "running")
    .where("lease_owner", "=", args.workerId)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** A run that was cancelled, and whether a worker was running it (it stops at its next heartbeat). */
export interface CancelledRun {
  runId: number;
  incidentId: number;
  wasRunning: boolean;
}

/** Cancels the live run of an incident, or one run: queued and running runs both finish as cancelled. */
export async function cancelRun(
  db: Db,
  args: ({ incidentId: number; runId?: undefined } | { runId: number; incidentId?: undefined }) & {
    now: Date;
  },
): Promise<CancelledRun[]> {
  // The self-join reads the state before the update, so the caller learns whether a worker holds it.
  const target = args.runId !== undefined ? sql`id = ${args.runId}` : sql`incident_id = ${args.incidentId}`;
  const { rows } = await sql<CancelledRun>`
    UPDATE runs r SET state = 'finished', outcome = 'cancelled', finished_at = ${args.now},
      lease_expires_at = NULL
    FROM (SELECT id, state FROM runs WHERE ${target} AND state <> 'finished' FOR UPDATE) old
    WHERE r.id = old.id
    RETURNING r.id AS "runId", r.incident_id AS "incidentId", old.state = 'running' AS "wasRunning"`.execute(
    db,
  );
  return rows;
}

/** Where a failed attempt left the run: back in the queue, failed for good, or not ours any more. */
export type RetryResult = "requeued" | "failed" | "lost";

/**
 * Records a failed attempt of a run this worker holds: queued again after the backoff while
 * attempts remain, else finished with `finalOutcome` (default `failed`).
 */
export async function retryLater(
  db: Db,
  args: {
    runId: number;
    workerId: string;
    error: string;
    now: Date;
    finalOutcome?: "failed" | "timed_out";
  },
): Promise<RetryResult> {
  // Every SET expression reads the row as it was, so `attempt < max_attempts` decides all columns alike.
  const { rows } = await sql<{ state: RunState }>`
    UPDATE runs SET
      state = CASE WHEN attempt < max_attempts THEN 'queued' ELSE 'finished' END,
      outcome = CASE WHEN attempt < max_attempts THEN NULL ELSE ${args.finalOutcome ?? "failed"} END,
      run_after = CASE WHEN attempt < max_attempts THEN ${backoffUntil(args.now)} ELSE run_after END,
      finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE ${args.now}::timestamptz END,
      lease_owner = CASE WHEN attempt < max_attempts THEN NULL ELSE lease_owner END,
      lease_expires_at = NULL,
      error = ${args.error}
    WHERE id = ${args.runId} AND state = 'running' AND lease_owner = ${args.workerId}
    RETURNING state`.execute(db);
  const row = rows[0];
  if (!row) return "lost";
  return row.state === "queued" ? "requeued" : "failed";
}

/** A run whose lease had expired, and whether it went back to the queue (else it failed). */
export interface ReapedRun {
  runId: number;
  incidentId: number;
  requeued: boolean;
}

/** Reaps running runs whose lease expired: requeued with backoff while attempts remain, else failed. */
export async function reapExpiredLeases(db: Db, args: { now: Date }): Promise<ReapedRun[]> {
  // A crashed or hung worker stops heartbeating; its run must not stay "running" forever. Several
  // instances may reap at once: a plain UPDATE re-checks `state = 'running'` after waiting on a row
  // lock, so each run is reaped once.
  const { rows } = await sql<ReapedRun>`
    UPDATE runs SET
      state = CASE WHEN attempt < max_attempts THEN 'queued' ELSE 'finished' END,
      outcome = CASE WHEN attempt < max_attempts THEN NULL ELSE 'failed' END,
      run_after = CASE WHEN attempt < max_attempts THEN ${backoffUntil(args.now)} ELSE run_after END,
      finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE ${args.now}::timestamptz END,
      error = 'lease expired at ' || to_char(lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        || ' (worker ' || coalesce(lease_owner, '?') || ', attempt ' || attempt || ' of ' || max_attempts || ')',
      lease_owner = CASE WHEN attempt < max_attempts THEN NULL ELSE lease_owner END,
      lease_expires_at = NULL
    WHERE state = 'running' AND lease_expires_at < ${args.now}
    RETURNING id AS "runId", incident_id AS "incidentId", state = 'queued' AS requeued`.execute(db);
  return rows;
}

/** Runs queued since `since` (the caller checks `agent.maxRunsPerDay` over a rolling 24 h). */
export async function runsStartedSince(db: Db, since: Date): Promise<number> {
  const row = await db
    .selectFrom("runs")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("created_at", ">=", since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Run counts by state and outcome (outcome is null unless finished), for metrics. */
export async function countByOutcome(
  db: Db,
): Promise<{ state: RunState; outcome: RunOutcome | null; count: number }[]> {
  const rows = await db
    .selectFrom("runs")
    .select((eb) => ["state", "outcome", eb.fn.countAll<number>().as("count")])
    .groupBy(["state", "outcome"])
    .orderBy("state")
    .orderBy("outcome")
    .execute();
  return rows.map((r) => ({ state: r.state, outcome: r.outcome, count: Number(r.count) }));
}

/** Every run of an incident, oldest first. */
export async function listRunsForIncident(db: Db, incidentId: number): Promise<Run[]> {
  return db.selectFrom("runs").selectAll().where("incident_id", "=", incidentId).orderBy("id").execute();
}

/** One run, or null. */
export async function getRun(db: Db, id: number): Promise<Run | null> {
  return (await db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
}
