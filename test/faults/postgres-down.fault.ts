import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ServiceProcess, startService } from "../../bench/service.js";
import { writeServiceConfig } from "../../bench/setup.js";
import { openDatabase } from "../../src/db/database.js";
import {
  type PrivatePostgres,
  privatePostgresUnavailable,
  startPrivatePostgres,
} from "./private-postgres.js";

/* PostgreSQL goes away during ingest: 503 (senders retry) while it is down, back without a restart. */

const TOKEN = "fault-token-pgdown";
const why = privatePostgresUnavailable();
if (why) console.log(`skipping the PostgreSQL-down fault test: ${why}`);

let pg: PrivatePostgres | undefined;
let svc: ServiceProcess | undefined;
let dir = "";

beforeAll(async () => {
  if (why) return;
  pg = await startPrivatePostgres("healer");
  dir = mkdtempSync(join(tmpdir(), "healer-pgdown-"));
  const config = writeServiceConfig(dir, TOKEN, {
    databaseUrl: pg.url("healer"),
    stateDir: join(dir, "state"),
  });
  svc = await startService(config, { logFile: join(dir, "service.log") });
});

afterAll(async () => {
  await svc?.stop();
  pg?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = (key: string) =>
  fetch(`${svc!.url}/hooks/generic`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      alerts: [{ name: "disk-full", service: "srv.mount", summary: key, idempotencyKey: key }],
    }),
  });

it.skipIf(why !== undefined)(
  "answers 503 while PostgreSQL is down and recovers without a restart",
  async () => {
    expect((await post("before")).status).toBe(202);

    await pg!.stop();
    // An exact repeat of the alert stored before needs no statement: 202 while the database is down.
    const repeat = await post("before");
    expect(repeat.status).toBe(202);
    expect(await repeat.json()).toMatchObject({ accepted: 0, duplicates: 1, repeat: true });
    for (const key of ["down-1", "down-2", "down-3"]) {
      const res = await post(key);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: "db_unavailable" });
    }
    expect((await fetch(`${svc!.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${svc!.url}/healthz`)).status).toBe(200);

    await pg!.start();
    const until = Date.now() + 30_000;
    let status = 0;
    while (status !== 202 && Date.now() < until) {
      status = (await post("after")).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(202);
    expect((await fetch(`${svc!.url}/readyz`)).status).toBe(200);

    // Same process throughout; the senders' retries of the refused alerts are taken now.
    expect(await Promise.race([svc!.exited, Promise.resolve("running")])).toBe("running");
    expect((await post("down-1")).status).toBe(202);
    const db = openDatabase(pg!.url("healer"), { max: 1 });
    const rows = await db.selectFrom("alerts").select("summary").orderBy("id").execute();
    expect(rows.map((r) => r.summary)).toEqual(["before", "after", "down-1"]);
    // The repeat's count, kept while the database was down, is written once it is back.
    let repeats = 0;
    const counted = Date.now() + 15_000;
    while (repeats !== 1 && Date.now() < counted) {
      const row = await db.selectFrom("deliveries").select("repeats").orderBy("id").executeTakeFirstOrThrow();
      repeats = row.repeats;
      if (repeats !== 1) await new Promise((r) => setTimeout(r, 200));
    }
    await db.destroy();
    expect(repeats).toBe(1);
  },
);
