import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import type { Db } from "../src/db/database.js";

/*
 * `npm run bench -- --profile`: what one paced run's tail is made of. The service runs with
 * bench/probe/service-probe.mjs (a CPU profile, event-loop delay and GC pauses of exactly that
 * run); PostgreSQL gives pg_stat_statements (when the server preloads it) and a sampler of what its
 * backends wait on.
 */

/** One paced run, profiled. */
export interface Profile {
  scenario: string;
  label: string;
  service: ServiceWindow | null;
  /** Self time by part of the code, % of the samples (idle excluded). */
  parts: { part: string; percent: number }[];
  /** The functions with the most self time. */
  top: { fn: string; percent: number }[];
  statements: Statement[] | string;
  /** What active backends of our database were doing, sampled every 10 ms (% of samples). */
  waits: { wait: string; percent: number }[];
  /** The load generator's own event-loop delay: its stalls are counted as the service's latency. */
  generatorDelayMs: { p99: number; max: number };
}

export interface ServiceWindow {
  seconds: number;
  cpuSeconds: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number; over20ms: number | null };
  gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
  gcPausesOver5ms: { kind: string; atMs: number; ms: number }[];
  heapUsedMiB: number;
  /** Peaks of process.memoryUsage() over the window. */
  peakMiB?: Record<string, number>;
}

export interface Statement {
  query: string;
  calls: number;
  meanMs: number;
  maxMs: number;
  totalMs: number;
  rows: number;
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time of a V8 CPU profile, by part of the code and by function. */
export function summarizeCpuProfile(path: string): Pick<Profile, "parts" | "top"> {
  const profile = JSON.parse(readFileSync(path, "utf8")) as { nodes: CpuNode[] };
  const byPart = new Map<string, number>();
  const byFn = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (hits === 0 || functionName === "(idle)") continue;
    total += hits;
    const part = partOf(functionName, url);
    byPart.set(part, (byPart.get(part) ?? 0) + hits);
    const fn = `${functionName || "(anonymous)"} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ""}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
  }
  const pct = (n: number) => Math.round((n / Math.max(1, total)) * 1000) / 10;
  const sorted = (m: Map<string, number>, k: number) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  return {
    parts: sorted(byPart, 12).map(([part, n]) => ({ part, percent: pct(n) })),
    top: sorted(byFn, 15).map(([fn, n]) => ({ fn, percent: pct(n) })),
  };
}

function partOf(fn: string, url: string): string {
  if (fn.startsWith("(")) return fn; // (garbage collector), (program), (root)
  if (!url) return "native (V8 builtins, C++)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /dist\/([^/]+)\//.exec(url) ?? /src\/([^/]+)\//.exec(url);
  return ours ? `ours: ${ours[1]}/` : "ours";
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|dist|src)\//, "$1/");
}

/** pg_stat_statements, when the server loads it (shared_preload_libraries); else why not. */
export async function statementsAvailable(db: Db): Promise<string | null> {
  const r = await sql<{ libs: string }>`SELECT current_setting('shared_preload_libraries') AS libs`.execute(
    db,
  );
  if (!/pg_stat_statements/.test(r.rows[0]?.libs ?? ""))
    return "pg_stat_statements is not in shared_preload_libraries on this server";
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.execute(db);
  return null;
}

export async function resetStatements(db: Db): Promise<void> {
  await sql`SELECT pg_stat_statements_reset()`.execute(db);
}

/** The statements of our database by total time (the bench's own excluded). */
export async function readStatements(db: Db): Promise<Statement[]> {
  const r = await sql<{
    query: string;
    calls: string;
    mean: number;
    max: number;
    total: number;
    rows: string;
  }>`
    SELECT regexp_replace(left(query, 400), '\\s+', ' ', 'g') AS query, calls, mean_exec_time AS mean,
           max_exec_time AS max, total_exec_time AS total, rows
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT ILIKE '%pg_stat%' AND query NOT ILIKE '%pg_stat_activity%'
    ORDER BY total_exec_time DESC LIMIT 8`.execute(db);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return r.rows.map((s) => ({
    query: s.query.slice(0, 140),
    calls: Number(s.calls),
    meanMs: r2(s.mean),
    maxMs: r2(s.max),
    totalMs: Math.round(s.total),
    rows: Number(s.rows),
  }));
}

/** Samples what our database's active backends wait on, every 10 ms, until stopped. */
export function waitSampler(db: Db): { stop(): Promise<Profile["waits"]> } {
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await sql<{ wait: string }>`
        SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`.execute(db);
      samples++;
      for (const row of r.rows) counts.set(row.wait, (counts.get(row.wait) ?? 0) + 1);
      await new Promise((res) => setTimeout(res, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([wait, n]) => ({ wait, percent: Math.round((n / Math.max(1, samples)) * 1000) / 10 }));
    },
  };
}

/** Waits for the probe to write window `index` (it writes the profile, then the summary). */
export async function readWindow(
  dir: string,
  index: number,
): Promise<ServiceWindow & { profilePath: string }> {
  const json = join(dir, `window-${index}.json`);
  const until = Date.now() + 30_000;
  while (!existsSync(json)) {
    if (Date.now() > until) throw new Error(`the service probe wrote no ${json}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ...(JSON.parse(readFileSync(json, "utf8")) as ServiceWindow),
    profilePath: join(dir, `window-${index}.cpuprofile`),
  };
}
