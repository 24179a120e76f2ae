import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type Db, openDatabase } from "../../src/db/database.js";
import {
  backoffSeconds,
  cancelRun,
  claimNextRun,
  countByOutcome,
  enqueueRun,
  finishRun,
  getRun,
  heartbeat,
  listRunsForIncident,
  reapExpiredLeases,
  releaseRun,
  retryLater,
  runsStartedSince,
} from "../../src/runs/queue.repo.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { insertIncident } from "./support.js";

const LEASE = 60;

describe("run queue", () => {
  let t: TestDatabase;
  let db: Db;
  let clock: ManualClock;

  beforeAll(async () => {
    t = await createTestDatabase();
    db = t.db;
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(async () => {
    // Each test starts from an empty queue; runs reference incidents, so both go.
    await sql`TRUNCATE runs, incident_events, alerts, incidents RESTART IDENTITY CASCADE`.execute(db);
    clock = new ManualClock();
  });

  const enqueue = async (maxAttempts = 2) => {
    const incidentId = await insertIncident(db, clock.now());
    const run = await enqueueRun(db, {
      incidentId,
      kind: "repair",
      branch: `healer/incident-${incidentId}`,
      maxAttempts,
      now: clock.now(),
    });
    if (!run) throw new Error("enqueue refused");
    return run;
  };
  const claim = (workerId = "w1", maxConcurrentRuns = 10, on: Db = db) =>
    claimNextRun(on, { workerId, now: clock.now(), leaseSeconds: LEASE, maxConcurrentRuns });

  // Opens every connection of both pools first, so the claims below really overlap.
  const warm = (...pools: Db[]) =>
    Promise.all(pools.flatMap((p) => Array.from({ length: 5 }, () => sql`SELECT pg_sleep(0.05)`.execute(p))));

  it("keeps one live run per incident, and allows a new one once it finished", async () => {
    const first = await enqueue();
    const again = { incidentId: first.incident_id, kind: "repair" as const, branch: "b", maxAttempts: 2 };
    expect(await enqueueRun(db, { ...again, now: clock.now() })).toBeNull();
    await claim();
    expect(await enqueueRun(db, { ...again, now: clock.now() })).toBeNull();
    expect(
      await finishRun(db, { runId: first.id, workerId: "w1", outcome: "no_change", now: clock.now() }),
    ).toBe(true);
    const next = await enqueueRun(db, { ...again, kind: "follow_up", now: clock.now() });
    expect(next?.kind).toBe("follow_up");
    expect((await listRunsForIncident(db, first.incident_id)).map((r) => r.id)).toEqual([first.id, next?.id]);
  });

  it("claims due runs oldest first and counts the attempt at claim", async () => {
    const a = await enqueue();
    const b = await enqueue();
    clock.advance(30);
    const c = await enqueue();
    clock.advance(-10);
    const first = await claim();
    expect(first).toMatchObject({ id: a.id, state: "running", attempt: 1, lease_owner: "w1" });
    expect(first?.started_at).toEqual(clock.now());
    expect(first?.heartbeat_at).toEqual(clock.now());
    expect(first?.lease_expires_at).toEqual(new Date(clock.now().getTime() + LEASE * 1000));
    expect((await claim())?.id).toBe(b.id);
    // c's run_after is still 10 s away.
    expect(await claim()).toBeNull();
    clock.advance(10);
    expect((await claim())?.id).toBe(c.id);
    expect((await getRun(db, a.id))?.attempt).toBe(1);
  });

  it("never hands one run to two concurrent claimers (two pools)", async () => {
    const other = openDatabase(t.url, { max: 5 });
    try {
      const ids = new Set<number>();
      for (let i = 0; i < 20; i++) ids.add((await enqueue()).id);
      await warm(db, other);
      const claims = await Promise.all(
        Array.from({ length: 40 }, (_, i) => claim(`w${i}`, 100, i % 2 === 0 ? db : other)),
      );
      const claimed = claims.flatMap((r) => (r ? [r.id] : []));
      expect(claimed.length).toBe(20);
      expect(new Set(claimed)).toEqual(ids);
    } finally {
      await other.destroy();
    }
  });

  it("holds maxConcurrentRuns = 1 across two pools claiming at once", async () => {
    const other = openDatabase(t.url, { max: 5 });
    try {
      for (let i = 0; i < 10; i++) await enqueue();
      await warm(db, other);
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => claim(`w${i}`, 1, i % 2 === 0 ? db : other)),
      );
      const won = claims.filter((r) => r !== null);
      expect(won.length).toBe(1);
      const running = await db.selectFrom("runs").select("id").where("state", "=", "running").execute();
      expect(running.length).toBe(1);
      // A slot frees when the run finishes, and also when its lease has expired.
      const winner = won[0]!;
      expect(await claim("late", 1)).toBeNull();
      await finishRun(db, {
        runId: winner.id,
        workerId: winner.lease_owner!,
        outcome: "failed",
        now: clock.now(),
      });
      expect(await claim("late", 1)).not.toBeNull();
      clock.advance(LEASE + 1);
      expect(await claim("later", 1)).not.toBeNull();
    } finally {
      await other.destroy();
    }
  });

  it("heartbeat keeps the lease; a lost or expired lease returns false", async () => {
    const run = await enqueue();
    await claim("w1");
    clock.advance(LEASE - 1);
    expect(
      await heartbeat(db, { runId: run.id, workerId: "w1", now: clock.now(), leaseSeconds: LEASE }),
    ).toBe(true);
    const renewed = await getRun(db, run.id);
    expect(renewed?.lease_expires_at).toEqual(new Date(clock.now().getTime() + LEASE * 1000));
    expect(renewed?.heartbeat_at).toEqual(clock.now());
    expect(
      await heartbeat(db, { runId: run.id, workerId: "w2", now: clock.now(), leaseSeconds: LEASE }),
    ).toBe(false);
    clock.advance(LEASE + 1);
    expect(
      await heartbeat(db, { runId: run.id, workerId: "w1", now: clock.now(), leaseSeconds: LEASE }),
    ).toBe(false);
  });

  it("reaps an expired lease: requeued with backoff, then failed when attempts are spent", async () => {
    const run = await enqueue(2);
    await claim("w1");
    clock.advance(LEASE);
    // Exactly at expiry the lease still holds.
    expect(await reapExpiredLeases(db, { now: clock.now() })).toEqual([]);
    clock.advance(1);
    expect(await reapExpiredLeases(db, { now: clock.now() })).toEqual([
      { runId: run.id, incidentId: run.incident_id, requeued: true },
    ]);
    const queued = await getRun(db, run.id);
    expect(queued).toMatchObject({ state: "queued", attempt: 1, lease_owner: null, lease_expires_at: null });
    expect(queued?.run_after).toEqual(new Date(clock.now().getTime() + backoffSeconds(1) * 1000));
    expect(queued?.error).toMatch(/lease expired/);
    expect(
      await heartbeat(db, { runId: run.id, workerId: "w1", now: clock.now(), leaseSeconds: LEASE }),
    ).toBe(false);
    expect(await claim("w2")).toBeNull();
    clock.advance(backoffSeconds(1));
    expect(await claim("w2")).toMatchObject({ id: run.id, attempt: 2 });
    clock.advance(LEASE + 1);
    expect(await reapExpiredLeases(db, { now: clock.now() })).toEqual([
      { runId: run.id, incidentId: run.incident_id, requeued: false },
    ]);
    const failed = await getRun(db, run.id);
    expect(failed).toMatchObject({ state: "finished", outcome: "failed", attempt: 2 });
    expect(failed?.finished_at).toEqual(clock.now());
    expect(failed?.error).toMatch(/lease expired.*worker w2.*attempt 2 of 2/);
  });

  it("caps the backoff at an hour", () => {
    expect([1, 2, 3, 6, 7, 50].map(backoffSeconds)).toEqual([60, 120, 240, 1920, 3600, 3600]);
  });

  it("retryLater requeues while attempts remain, then fails; a stranger's call is lost", async () => {
    const run = await enqueue(2);
    await claim("w1");
    expect(await retryLater(db, { runId: run.id, workerId: "w9", error: "x", now: clock.now() })).toBe(
      "lost",
    );
    expect(await retryLater(db, { runId: run.id, workerId: "w1", error: "exit 1", now: clock.now() })).toBe(
      "requeued",
    );
    const queued = await getRun(db, run.id);
    expect(queued).toMatchObject({ state: "queued", error: "exit 1", outcome: null });
    expect(queued?.run_after).toEqual(new Date(clock.now().getTime() + 60_000));
    clock.advance(60);
    await claim("w1");
    expect(
      await retryLater(db, {
        runId: run.id,
        workerId: "w1",
        error: "agent timed out",
        now: clock.now(),
        finalOutcome: "timed_out",
      }),
    ).toBe("failed");
    expect(await getRun(db, run.id)).toMatchObject({ state: "finished", outcome: "timed_out", attempt: 2 });
  });

  it("releaseRun gives the attempt back and makes the run claimable at once", async () => {
    const run = await enqueue(1);
    await claim("w1");
    expect(await releaseRun(db, { runId: run.id, workerId: "w2", now: clock.now() })).toBe(false);
    expect(await releaseRun(db, { runId: run.id, workerId: "w1", now: clock.now() })).toBe(true);
    expect(await getRun(db, run.id)).toMatchObject({ state: "queued", attempt: 0, lease_owner: null });
    expect(await claim("w2")).toMatchObject({ id: run.id, attempt: 1, lease_owner: "w2" });
  });

  it("cancels queued runs at once and running runs for their worker to notice", async () => {
    const queued = await enqueue();
    expect(await cancelRun(db, { runId: queued.id, now: clock.now() })).toEqual([
      { runId: queued.id, incidentId: queued.incident_id, wasRunning: false },
    ]);
    expect(await getRun(db, queued.id)).toMatchObject({ state: "finished", outcome: "cancelled" });
    expect(await claim()).toBeNull();

    const running = await enqueue();
    await claim("w1");
    expect(await cancelRun(db, { incidentId: running.incident_id, now: clock.now() })).toEqual([
      { runId: running.id, incidentId: running.incident_id, wasRunning: true },
    ]);
    expect(
      await heartbeat(db, { runId: running.id, workerId: "w1", now: clock.now(), leaseSeconds: LEASE }),
    ).toBe(false);
    expect(
      await finishRun(db, { runId: running.id, workerId: "w1", outcome: "pr_opened", now: clock.now() }),
    ).toBe(false);
    expect(await getRun(db, running.id)).toMatchObject({ outcome: "cancelled" });
    expect(await cancelRun(db, { incidentId: running.incident_id, now: clock.now() })).toEqual([]);
  });

  it("finishRun records the result only for the lease owner", async () => {
    const run = await enqueue();
    await claim("w1");
    const result = {
      runId: run.id,
      outcome: "pr_opened" as const,
      now: clock.now(),
      worktree: "/state/worktrees/1",
      exitCode: 0,
      prUrl: "https://github.com/o/r/pull/7",
      prNumber: 7,
      commitSha: "abc123",
      validation: "passed" as const,
      agentStats: { toolCalls: 4, tokens: { input: 10 } },
    };
    expect(await finishRun(db, { ...result, workerId: "w2" })).toBe(false);
    expect(await finishRun(db, { ...result, workerId: "w1" })).toBe(true);
    expect(await getRun(db, run.id)).toMatchObject({
      state: "finished",
      outcome: "pr_opened",
      finished_at: clock.now(),
      lease_owner: "w1",
      lease_expires_at: null,
      exit_code: 0,
      pr_number: 7,
      commit_sha: "abc123",
      validation: "passed",
      agent_stats: { toolCalls: 4, tokens: { input: 10 } },
    });
  });

  it("counts runs for the daily budget and by outcome", async () => {
    const a = await enqueue();
    clock.advance(3600);
    await enqueue();
    await enqueue();
    expect(await runsStartedSince(db, new Date(clock.now().getTime() - 1800_000))).toBe(2);
    expect(await runsStartedSince(db, new Date(clock.now().getTime() - 86_400_000))).toBe(3);
    await claim("w1");
    await finishRun(db, { runId: a.id, workerId: "w1", outcome: "no_change", now: clock.now() });
    await claim("w1");
    expect(await countByOutcome(db)).toEqual([
      { state: "finished", outcome: "no_change", count: 1 },
      { state: "queued", outcome: null, count: 1 },
      { state: "running", outcome: null, count: 1 },
    ]);
  });
});
