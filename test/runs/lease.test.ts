import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type Db, openDatabase } from "../../src/db/database.js";
import { type HeartbeatOptions, type LeaseLossReason, startHeartbeat } from "../../src/runs/lease.js";
import { cancelRun, claimNextRun, enqueueRun, getRun } from "../../src/runs/queue.repo.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { insertIncident } from "./support.js";

const LEASE = 60;

describe("startHeartbeat", () => {
  let t: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    t = await createTestDatabase();
    db = t.db;
  });
  afterAll(async () => {
    await t.drop();
  });

  /** A run claimed by w1 at the clock's time. */
  const claimedRun = async (clock: ManualClock) => {
    await sql`UPDATE runs SET state = 'finished', outcome = 'cancelled' WHERE state <> 'finished'`.execute(
      db,
    );
    const incidentId = await insertIncident(db, clock.now());
    const run = await enqueueRun(db, {
      incidentId,
      kind: "repair",
      branch: "b",
      maxAttempts: 2,
      now: clock.now(),
    });
    const claimed = await claimNextRun(db, {
      workerId: "w1",
      now: clock.now(),
      leaseSeconds: LEASE,
      maxConcurrentRuns: 1,
    });
    if (!run || claimed?.id !== run.id) throw new Error("claim failed");
    return run;
  };

  const lossPromise = () => {
    let onLost!: (reason: LeaseLossReason) => void;
    const lost = new Promise<LeaseLossReason>((r) => {
      onLost = r;
    });
    return { lost, onLost };
  };

  /** w1's heartbeat on `run`: every 5 ms unless told otherwise. */
  const beatOn = (
    run: { id: number },
    clock: ManualClock,
    o: Pick<HeartbeatOptions, "onLost"> & Partial<HeartbeatOptions>,
  ) => startHeartbeat({ db, runId: run.id, workerId: "w1", clock, leaseSeconds: LEASE, intervalMs: 5, ...o });

  it("renews the lease while the run is ours", async () => {
    const clock = new ManualClock();
    const run = await claimedRun(clock);
    const { onLost } = lossPromise();
    const hb = beatOn(run, clock, { onLost });
    try {
      for (let i = 0; i < 3; i++) {
        const now = clock.advance(LEASE - 5);
        await vi.waitFor(async () => {
          expect((await getRun(db, run.id))?.heartbeat_at).toEqual(now);
        });
      }
      expect((await getRun(db, run.id))?.lease_expires_at).toEqual(
        new Date(clock.now().getTime() + LEASE * 1000),
      );
    } finally {
      await hb.stop();
    }
  });

  it("calls onLost when the run is cancelled under it", async () => {
    const clock = new ManualClock();
    const run = await claimedRun(clock);
    const { lost, onLost } = lossPromise();
    const hb = beatOn(run, clock, { onLost });
    try {
      await cancelRun(db, { runId: run.id, now: clock.now() });
      expect(await lost).toBe("lost");
    } finally {
      await hb.stop();
    }
  });

  it("confirm() beats at once: true while ours, false (and onLost) right after a cancel", async () => {
    const clock = new ManualClock();
    const run = await claimedRun(clock);
    const reasons: LeaseLossReason[] = [];
    // A long interval: only confirm() beats during this test.
    const hb = beatOn(run, clock, { intervalMs: 3_600_000, onLost: (r) => reasons.push(r) });
    try {
      const now = clock.advance(10);
      expect(await hb.confirm()).toBe(true);
      expect((await getRun(db, run.id))?.heartbeat_at).toEqual(now);
      await cancelRun(db, { runId: run.id, now: clock.now() });
      expect(await hb.confirm()).toBe(false);
      expect(reasons).toEqual(["lost"]);
      expect(await hb.confirm()).toBe(false);
      expect(reasons).toEqual(["lost"]);
    } finally {
      await hb.stop();
    }
  });

  it("gives the run up as expired when the database stays unreachable past the lease", async () => {
    const clock = new ManualClock();
    const run = await claimedRun(clock);
    // Nothing listens on port 1: every heartbeat fails to connect.
    const broken = openDatabase("postgres://postgres@127.0.0.1:1/none", { max: 1 });
    const errors: unknown[] = [];
    const { lost, onLost } = lossPromise();
    const hb = beatOn(run, clock, { db: broken, onLost, onError: (e) => errors.push(e) });
    try {
      await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0));
      clock.advance(LEASE);
      expect(await lost).toBe("expired");
    } finally {
      await hb.stop();
      await broken.destroy();
    }
  });
});
