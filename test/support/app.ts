import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { type Config, parseConfig, resolveConfig, type Secrets } from "../../src/config/load.js";
import type { IncidentDeps } from "../../src/incidents/deps.js";
import { RepeatLedger } from "../../src/ingest/repeats.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export const TOKEN = "test-token-0123456789";

/** A logger whose lines are kept for assertions. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: "debug" }, stream), lines };
}

/** A config built from an object (as if read from a file), with the state dir and database given. */
export function testConfig(
  raw: Record<string, unknown>,
  databaseUrl: string,
  stateDir = "/tmp/healer-test-state",
): Config {
  const parsed = parseConfig({
    stateDir,
    database: { url: databaseUrl },
    auth: { tokenFile: "/dev/null" },
    ...raw,
  });
  return { ...resolveConfig(parsed, false, { shapeOnly: true }).config };
}

export interface TestApp {
  t: TestDatabase;
  app: ReturnType<typeof createApp>;
  deps: IncidentDeps;
  clock: ManualClock;
  lines: Record<string, unknown>[];
  wakes: { n: number };
  /** Exact repeats counted in memory; not flushed on a timer here: a test calls `flush()`. */
  repeats: RepeatLedger;
  post(source: string, body: string | object, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** The app on a fresh database, a manual clock and a memory logger; no worker runs. */
export async function createTestApp(
  raw: Record<string, unknown> = {},
  secrets: Partial<Secrets> = {},
): Promise<TestApp> {
  const t = await createTestDatabase();
  const clock = new ManualClock();
  const { log, lines } = memoryLogger();
  const config = testConfig(raw, t.url);
  const wakes = { n: 0 };
  const deps: IncidentDeps = { db: t.db, log, clock, config, wakeRuns: () => void wakes.n++ };
  const repeats = new RepeatLedger(t.db, log);
  const app = createApp({
    ...deps,
    repeats,
    secrets: { token: TOKEN, sourceTokens: {}, agentEnv: {}, ...secrets },
    metrics: new Metrics(),
  });
  return {
    t,
    app,
    deps,
    clock,
    lines,
    wakes,
    repeats,
    post: async (source, body, headers = {}) =>
      await app.request(`/hooks/${source}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    close: async () => {
      await repeats.close();
      await t.drop();
    },
  };
}
