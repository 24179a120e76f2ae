import { PGlite } from "@electric-sql/pglite";
import { Kysely } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import type { Db } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import type { Database } from "../../src/db/tables.js";
import {
  claimNextRun,
  enqueueRun,
  finishRun,
  getRun,
  heartbeat,
  reapExpiredLeases,
} from "../../src/runs/queue.repo.js";
import { createRunWakeup, notifyRunQueued } from "../../src/runs/wakeup.js";
import { insertIncident } from "./support.js";

// PGlite takes seconds to start: one instance for the whole file.
describe("run queue on PGlite", () => {
  let pglite: PGlite;
  let db: Db;

  beforeAll(async () => {
    // The same parsers openDatabase() sets up; built here because the wake-up needs the instance.
    pglite = new PGlite(undefined, { parsers: { 20: (v: string) => Number.parseInt(v, 10) } });
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    await migrateToLatest(db as never);
  });
  afterAll(async () => {
    await db.destroy();
  });

  it("claims, heartbeats, finishes and reaps on one connection", async () => {
    const clock = new ManualClock();
    const incidentId = await insertIncident(db, clock.now());
    const run = await enqueueRun(db, {
      incidentId,
      kind: "repair",
      branch: `healer/incident-${incidentId}`,
      maxAttempts: 1,
      now: clock.now(),
    });
    expect(run).not.toBeNull();
    const args = { workerId: "w1", leaseSeconds: 60, maxConcurrentRuns: 1 };
    const claimed = await claimNextRun(db, { ...args, now: clock.now() });
    expect(claimed).toMatchObject({ id: run?.id, state: "running", attempt: 1 });
    expect(await claimNextRun(db, { ...args, workerId: "w2", now: clock.now() })).toBeNull();
    clock.advance(30);
    expect(await heartbeat(db, { runId: run!.id, workerId: "w1", now: clock.now(), leaseSeconds: 60 })).toBe(
      true,
    );
    expect(
      await finishRun(db, { runId: run!.id, workerId: "w1", outcome: "no_change", now: clock.now() }),
    ).toBe(true);
    expect(await getRun(db, run!.id)).toMatchObject({ state: "finished", outcome: "no_change" });

    const second = await enqueueRun(db, {
      incidentId,
      kind: "follow_up",
      branch: "b",
      maxAttempts: 1,
      now: clock.now(),
    });
    await claimNextRun(db, { ...args, now: clock.now() });
    clock.advance(61);
    expect(await reapExpiredLeases(db, { now: clock.now() })).toEqual([
      { runId: second?.id, incidentId, requeued: false },
    ]);
  });

  it("wakes a waiter through PGlite's own LISTEN", async () => {
    let listening!: () => void;
    const up = new Promise<void>((r) => {
      listening = r;
    });
    const w = createRunWakeup({
      listen: { pglite },
      pollMs: 120_000,
      onListenChange: (on) => {
        if (on) listening();
      },
    });
    try {
      await up;
      const waiting = w.wait();
      await notifyRunQueued(db);
      expect(await waiting).toBe("notified");
    } finally {
      await w.close();
    }
  });
});
