import { readFile } from "node:fs/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../bench/alertmanager.js";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { type Db, openDatabase } from "../../src/db/database.js";
import { isDbUnavailable } from "../../src/db/unavailable.js";
import { memoryLogger, TOKEN, testConfig } from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/*
 * The connection to PostgreSQL lost under a client, on the real server: only our own backend is
 * terminated (pg_terminate_backend sends what a server shutdown sends, 57P01), never the server.
 * The restart itself is test/faults/postgres-restart.fault.ts.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a promise rejected with (fails the test when it resolved). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("a connection lost under a checked-out client", () => {
  let t: TestDatabase;
  let admin: Db;
  beforeAll(async () => {
    t = await createTestDatabase();
    admin = openDatabase(t.url, { max: 1 });
  });
  afterAll(async () => {
    await admin.destroy();
    await t.drop();
  });

  it("fails the transaction as 'database unreachable', does not end the process, and the pool goes on", async () => {
    const failed = await rejection(
      t.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
        await sql`SELECT pg_terminate_backend(${rows[0]!.pid})`.execute(admin);
        // No query is active now: pg emits the server's 57P01 and the closed socket as 'error'
        // events on the client. Without a listener on it, that is an uncaught exception.
        await sleep(300);
        await sql`SELECT 1`.execute(trx);
      }),
    );
    expect(isDbUnavailable(failed), String(failed)).toBe(true);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(t.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it("fails a query in flight the same way", async () => {
    const failed = await t.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn);
      // Observed at once: it rejects while the termination below is still being answered.
      const slow = rejection(sql`SELECT pg_sleep(5)`.execute(conn));
      await sleep(100);
      await sql`SELECT pg_terminate_backend(${rows[0]!.pid})`.execute(admin);
      return slow;
    });
    expect(isDbUnavailable(failed), String(failed)).toBe(true);
    // The server's FATAL went to the query, so the client went back to the pool looking healthy;
    // the socket's close follows within a moment and the pool drops it then. (A query that gets it
    // before that fails as unreachable too: a 503, never a crash.)
    await sleep(200);
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(t.db)).rows).toEqual([{ one: 1 }]);
  });
});

describe("a database that cannot be reached", () => {
  const dbs: Db[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.destroy()));
  });

  /** The app on a database at `url` that nothing answers. */
  function appOn(url: string) {
    const db = openDatabase(url, { max: 2 });
    dbs.push(db);
    const { log, lines } = memoryLogger();
    const app = createApp({
      db,
      log,
      clock: new ManualClock(),
      config: testConfig({}, url),
      wakeRuns: () => {},
      secrets: { token: TOKEN, sourceTokens: {}, agentEnv: {} },
      metrics: new Metrics(),
    });
    return { app, lines };
  }

  const auth = { authorization: `Bearer ${TOKEN}` };
  const urls = {
    "a TCP port nobody listens on": async () => `postgres://postgres@127.0.0.1:${await freePort()}/healer`,
    "a Unix socket that is not there": async () => "postgresql:///healer?host=/nonexistent/run/postgresql",
  };

  for (const [what, url] of Object.entries(urls)) {
    it(`answers 503 db_unavailable on hooks and API, and /readyz 503, for ${what}`, async () => {
      const { app, lines } = appOn(await url());
      const hook = await app.request("/hooks/generic", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ alerts: [{ name: "disk-full", service: "srv.mount" }] }),
      });
      expect(hook.status).toBe(503);
      expect(await hook.json()).toMatchObject({ error: "db_unavailable" });
      const api = await app.request("/api/incidents", { headers: auth });
      expect(api.status).toBe(503);
      expect(await api.json()).toMatchObject({ error: "db_unavailable" });
      expect((await app.request("/readyz")).status).toBe(503);
      expect((await app.request("/healthz")).status).toBe(200);
      // A warning, not an error: an unreachable database is not the service's bug.
      expect(lines.filter((l) => l.msg === "request failed")).toEqual([]);
      expect(lines.some((l) => l.msg === "database unreachable: 503" && l.level === 40)).toBe(true);
    });
  }
});

describe("isDbUnavailable", () => {
  it("knows pg's own errors and server codes, and nothing else", async () => {
    const unreachable = [
      new Error("Connection terminated unexpectedly"),
      new Error("timeout exceeded when trying to connect"),
      new Error("Client has encountered a connection error and is not queryable"),
      Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      Object.assign(new Error("sorry, too many clients already"), { code: "53300" }),
      Object.assign(new Error("connection failure"), { code: "08006" }),
      new Error("wrapped", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) }),
      new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })]),
    ];
    for (const e of unreachable) expect(isDbUnavailable(e), e.message).toBe(true);
    const notFound = await rejection(readFile("/nonexistent/file"));
    const others = [
      new Error("boom"),
      notFound,
      Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: "23505" }),
      Object.assign(new Error("deadlock detected"), { code: "40P01" }),
      undefined,
      "Connection terminated",
    ];
    for (const e of others) expect(isDbUnavailable(e), String(e)).toBe(false);
  });
});
