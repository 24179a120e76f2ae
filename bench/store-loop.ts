import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { openDatabase } from "../src/db/database.js";
import { parseDelivery } from "../src/ingest/parsers.js";
import { persist } from "../src/ingest/persist.js";
import { healerBody, SCENARIOS } from "./load.js";
import { createBenchDatabase } from "./setup.js";

/*
 * `npx tsx bench/store-loop.ts DELIVERIES ALERTS ROUNDS`: the store statement alone, in a loop on one
 * connection, with batches of DELIVERIES deliveries of ALERTS alerts each (the bench's bodies, all
 * new). Prints the CPU an alert of the backend (from /proc, so PostgreSQL on this machine) and of
 * this process. With HEALER_LOOP_PID=1 it prints the backend's pid and waits 2 s before the measured
 * rounds (for `perf record -g -p PID`). A fresh database each time, after 200 warm-up batches and
 * VACUUM ANALYZE. Used for the third pass of issue 25 (bench/results/2026-12-06-issue25.md).
 */
const [deliveries, alertsEach, rounds] = process.argv.slice(2).map(Number) as [number, number, number];
if (!(deliveries > 0 && alertsEach > 0 && rounds > 0)) {
  process.stderr.write("usage: npx tsx bench/store-loop.ts DELIVERIES ALERTS ROUNDS\n");
  process.exit(2);
}
const scenario = { ...SCENARIOS.find((s) => s.key === "batch50")!, alertsPerRequest: alertsEach };
const bdb = await createBenchDatabase("store_loop");
const db = openDatabase(bdb.url, { max: 1 });
try {
  let id = 0;
  const item = () => {
    const body = healerBody(scenario).replaceAll("[<id>]", String(++id));
    const receivedAt = new Date();
    const parsed = parseDelivery("alertmanager", body, { receivedAt });
    if (parsed.kind !== "alerts") throw new Error(`the bench body did not parse: ${parsed.kind}`);
    const base = { source: "alertmanager", receivedAt, contentType: "application/json", remoteAddr: null };
    return { base: { ...base, body, bodyBytes: Buffer.byteLength(body) }, alerts: parsed.alerts };
  };
  const batch = () => Array.from({ length: deliveries }, item);
  const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;
  // utime + stime of the backend, in clock ticks (100 a second).
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  for (let i = 0; i < 200; i++) await persist(db, batch());
  await sql`VACUUM ANALYZE`.execute(db);
  const batches = Array.from({ length: rounds }, batch);
  if (process.env.HEALER_LOOP_PID === "1") {
    process.stdout.write(`pid ${pid}\n`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  const t0 = ticks();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (const b of batches) await persist(db, b);
  const wall = performance.now() - w0;
  const c = process.cpuUsage(c0);
  const n = rounds * deliveries * alertsEach;
  const pgUs = (ticks() - t0) * 10_000;
  process.stdout.write(
    `${deliveries}×${alertsEach}: an alert: PostgreSQL ${(pgUs / n).toFixed(1)} µs, this process ` +
      `${((c.user + c.system) / n).toFixed(1)} µs; a batch: ${(wall / rounds).toFixed(2)} ms\n`,
  );
} finally {
  await db.destroy();
  await bdb.drop();
}
