import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/database.js";
import { createRunWakeup, notifyRunQueued, type RunWakeup } from "../../src/runs/wakeup.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

// A poll longer than the test timeout: a wait that ends "notified" was woken, not timed out.
const NEVER = 120_000;

/** Resolves on the n-th "listening" report of a wake-up's LISTEN connection. */
function listenTracker() {
  const events: boolean[] = [];
  const watchers: (() => void)[] = [];
  return {
    onListenChange: (listening: boolean) => {
      events.push(listening);
      for (const w of watchers.splice(0)) w();
    },
    events,
    async listening(n: number): Promise<void> {
      while (events.filter(Boolean).length < n) await new Promise<void>((r) => watchers.push(r));
    },
  };
}

describe("run wake-up", () => {
  let t: TestDatabase;
  let other: Db;
  const opened: RunWakeup[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    other = openDatabase(t.url, { max: 2 });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((w) => w.close()));
  });
  afterAll(async () => {
    await other.destroy();
    await t.drop();
  });

  it("notify() wakes a waiter, and is remembered when nobody waits", async () => {
    const w = createRunWakeup({ listen: null, pollMs: NEVER });
    opened.push(w);
    const waiting = w.wait();
    w.notify();
    expect(await waiting).toBe("notified");
    w.notify();
    expect(await w.wait()).toBe("notified");
  });

  it("a wait ends at the poll timeout, or when aborted or closed", async () => {
    const w = createRunWakeup({ listen: null, pollMs: 10 });
    opened.push(w);
    expect(await w.wait()).toBe("timeout");
    const slow = createRunWakeup({ listen: null, pollMs: NEVER });
    opened.push(slow);
    const ac = new AbortController();
    const aborted = slow.wait(ac.signal);
    ac.abort();
    expect(await aborted).toBe("aborted");
    const pending = slow.wait();
    await slow.close();
    expect(await pending).toBe("aborted");
  });

  it("a NOTIFY from another connection wakes a waiter listening on its own", async () => {
    const track = listenTracker();
    const w = createRunWakeup({
      listen: { url: t.url },
      pollMs: NEVER,
      onListenChange: track.onListenChange,
    });
    opened.push(w);
    await track.listening(1);
    // Coming up it wakes the worker once, for runs queued while it was not listening.
    expect(await w.wait()).toBe("notified");
    const waiting = w.wait();
    await notifyRunQueued(other);
    expect(await waiting).toBe("notified");
  });

  it("a NOTIFY sent inside a transaction wakes only after commit", async () => {
    const track = listenTracker();
    const w = createRunWakeup({
      listen: { url: t.url },
      pollMs: NEVER,
      onListenChange: track.onListenChange,
    });
    opened.push(w);
    await track.listening(1);
    await w.wait();
    let committed = false;
    const waiting = w.wait().then((r) => ({ r, committed }));
    await other.transaction().execute(async (trx) => {
      await notifyRunQueued(trx);
      await sql`SELECT pg_sleep(0.05)`.execute(trx);
      committed = true;
    });
    expect(await waiting).toEqual({ r: "notified", committed: true });
  });

  it("reconnects after the LISTEN connection is killed", async () => {
    const track = listenTracker();
    const w = createRunWakeup({
      listen: { url: t.url },
      pollMs: NEVER,
      reconnectMinMs: 10,
      onListenChange: track.onListenChange,
    });
    opened.push(w);
    await track.listening(1);
    await w.wait();
    const killed = await sql<{ ok: boolean }>`
      SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE datname = current_database() AND query = 'LISTEN homelab_healer_runs'`.execute(other);
    expect(killed.rows).toEqual([{ ok: true }]);
    await track.listening(2);
    expect(track.events).toEqual([true, false, true]);
    await w.wait();
    const waiting = w.wait();
    await notifyRunQueued(other);
    expect(await waiting).toBe("notified");
  });
});
