import { randomInt } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ServiceProcess, startService } from "../../bench/service.js";
import { writeServiceConfig } from "../../bench/setup.js";
import { type Db, openDatabase } from "../../src/db/database.js";
import { createFakeGithub, type FakeGithub, forgeConfig } from "../support/fake-github.js";
import { createHomelabRemote } from "../support/git-remote.js";
import { SCRIPT_AGENT } from "../support/serve.js";
import {
  type PrivatePostgres,
  privatePostgresUnavailable,
  type StopMode,
  startPrivatePostgres,
} from "./private-postgres.js";

/*
 * PostgreSQL restarted ten times under a steady load of Alertmanager webhooks (8 connections), with
 * a repair run in flight during the first restart, three rounds in a row against one `serve`
 * process: it never exits; every answer is 202 or 503 (never a 500, a reset connection or a wait
 * over 10 s); every alert answered 202 is stored; /readyz comes back after each restart; no run is
 * left running. Stops are `-m fast` and `-m immediate` (a crash: recovery at the next start),
 * each down for a random 1–5 s.
 */

const TOKEN = "fault-token-pgrestart";
const ROUNDS = 3;
const RESTARTS = 10;
const SENDERS = 8;
const ANSWER_LIMIT_MS = 10_000;
const RECOVER_LIMIT_MS = 20_000;

const why = privatePostgresUnavailable();
if (why) console.log(`skipping the PostgreSQL restart fault test: ${why}`);

let pg: PrivatePostgres | undefined;
let svc: ServiceProcess | undefined;
let github: FakeGithub | undefined;
let dir = "";
let stateDir = "";

beforeAll(async () => {
  if (why) return;
  pg = await startPrivatePostgres("healer");
  dir = mkdtempSync(join(tmpdir(), "healer-pgrestart-"));
  stateDir = join(dir, "state");
  const remote = await createHomelabRemote(dir);
  github = await createFakeGithub({ bareRepo: remote.path });
  const config = writeServiceConfig(dir, TOKEN, {
    databaseUrl: pg.url("healer"),
    stateDir,
    extra: {
      repo: { url: remote.url, branch: "main" },
      forge: forgeConfig(github, join(dir, "github-token")),
      // Works for 6 s without touching the database, then changes a file: long enough to span a restart.
      agent: { command: process.execPath, args: [SCRIPT_AGENT, "slow", "6"], idleTimeoutSeconds: 30 },
      triage: { settleSeconds: 0 },
    },
  });
  svc = await startService(config, { logFile: join(dir, "service.log") });
}, 60_000);

afterAll(async () => {
  await svc?.stop();
  if (dir) console.log(`service log, warnings and errors by message:\n${logSummary()}`);
  await github?.stop();
  pg?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One answer the load saw: its status, or what went wrong instead. */
interface Answer {
  key: string;
  status: number | "reset" | "timeout";
  error?: string;
  ms: number;
  at: number;
}

let startsAt = Date.parse("2026-12-01T00:00:00Z");

/** A webhook as Alertmanager sends it: one alert per round's problem, its summary the answer's key. */
function webhook(round: number, key: string): string {
  const labels = {
    alertname: "SystemdUnitFailed",
    instance: `media-0${round}:9100`,
    job: "node",
    name: "jellyfin.service",
    severity: "critical",
  };
  // A distinct startsAt per request: to Alertmanager's idempotency key, each is a new occurrence.
  startsAt += 1000;
  return JSON.stringify({
    receiver: "healer",
    status: "firing",
    alerts: [
      {
        status: "firing",
        labels,
        annotations: { summary: key },
        startsAt: new Date(startsAt).toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus.home.arpa:9090/graph",
        fingerprint: `5eed0000000000${round}f`,
      },
    ],
    groupLabels: { alertname: "SystemdUnitFailed" },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: "http://alertmanager.home.arpa:9093",
    version: "4",
    groupKey: '{}:{alertname="SystemdUnitFailed"}',
    truncatedAlerts: 0,
  });
}

/** SENDERS loops posting webhooks back to back until stopped; every answer is recorded. */
function startLoad(round: number): { answers: Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  let running = true;
  const sender = async (s: number) => {
    for (let i = 0; running; i++) {
      const key = `r${round}-s${s}-${i}`;
      const at = Date.now();
      try {
        const res = await fetch(`${svc!.url}/hooks/alertmanager`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: webhook(round, key),
          signal: AbortSignal.timeout(ANSWER_LIMIT_MS),
        });
        const body = await res.text();
        const answer: Answer = { key, status: res.status, ms: Date.now() - at, at };
        if (res.status !== 202) answer.error = body;
        answers.push(answer);
      } catch (e) {
        const timeout = (e as Error).name === "TimeoutError";
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        answers.push({
          key,
          status: timeout ? "timeout" : "reset",
          error: `${(e as Error).message} ${cause?.code ?? ""} ${cause?.message ?? ""}`,
          ms: Date.now() - at,
          at,
        });
      }
      if (answers.at(-1)?.status !== 202) await sleep(50);
    }
  };
  const all = Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
  return {
    answers,
    async stop() {
      running = false;
      await all;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (!(await alive())) throw new Error(`the service exited while waiting for ${what}\n${crashReport()}`);
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

const readyz = async () => (await fetch(`${svc!.url}/readyz`, { signal: AbortSignal.timeout(5000) })).status;

/** Still the same process (the child's exit promise has not settled). */
async function alive(): Promise<boolean> {
  return (await Promise.race([svc!.exited, Promise.resolve("running")])) === "running";
}

/** The service's stderr and the end of its log: what a crash leaves behind. */
function crashReport(): string {
  let log = "";
  try {
    log = readFileSync(join(dir, "service.log"), "utf8").split("\n").slice(-30).join("\n");
  } catch {
    // no log yet
  }
  return `stderr:\n${svc!.stderrText().slice(-4000)}\nlog tail:\n${log}`;
}

/** How often each warning or error message appears in the service's log. */
function logSummary(): string {
  const counts = new Map<string, number>();
  for (const line of readFileSync(join(dir, "service.log"), "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const { level, msg } = JSON.parse(line) as { level: number; msg: string };
    if (level >= 40) counts.set(`${level} ${msg}`, (counts.get(`${level} ${msg}`) ?? 0) + 1);
  }
  return [...counts].map(([m, n]) => `  ${n} × ${m}`).join("\n");
}

/** The restarts of one round: alternating fast/immediate from a random start, each down 1–5 s. */
function schedule(): { mode: StopMode; downMs: number }[] {
  const first = randomInt(2);
  return Array.from({ length: RESTARTS }, (_, i) => ({
    mode: (i + first) % 2 === 0 ? "fast" : "immediate",
    downMs: randomInt(1000, 5001),
  }));
}

for (let round = 1; round <= ROUNDS; round++) {
  it.skipIf(why !== undefined)(
    `round ${round}: ${RESTARTS} restarts under load, a repair run in flight, nothing lost, nothing stuck`,
    async () => {
      const db = openDatabase(pg!.url("healer"), { max: 2 });
      try {
        await restartRound(round, db);
      } finally {
        await db.destroy();
      }
    },
    240_000,
  );
}

/** One round: load, ten restarts, then the checks. */
async function restartRound(round: number, db: Db): Promise<void> {
  expect(await alive(), crashReport()).toBe(true);
  const began = Date.now();
  const load = startLoad(round);
  const restarts: string[] = [];
  let working = 0;
  try {
    // The round's incident gets a run; the first restart comes while its agent is working.
    const run = await waitFor(
      "the round's repair run to be working",
      async () => {
        const r = await db
          .selectFrom("runs")
          .innerJoin("incidents", "incidents.id", "runs.incident_id")
          .select(["runs.id", "runs.state"])
          .where("incidents.host", "=", `media-0${round}`)
          .executeTakeFirst();
        if (r?.state !== "running") return undefined;
        const agentLog = readFileSync(join(stateDir, "runs", String(r.id), "agent.log"), "utf8");
        return agentLog.includes("working 1/") ? r : undefined;
      },
      60_000,
    );
    working = Date.now() - began;

    for (const [i, { mode, downMs }] of schedule().entries()) {
      if (i === 0) {
        const state = await db.selectFrom("runs").select("state").where("id", "=", run.id).executeTakeFirst();
        expect(state?.state, "the run is in flight at the first restart").toBe("running");
      }
      const t0 = Date.now();
      await pg!.stop(mode);
      await sleep(downMs);
      await pg!.start();
      const started = Date.now();
      await waitFor("/readyz to be 200 again", async () => (await readyz()) === 200, RECOVER_LIMIT_MS);
      await waitFor(
        "an alert to be answered 202 again",
        async () => load.answers.some((a) => a.status === 202 && a.at >= started),
        RECOVER_LIMIT_MS,
      );
      restarts.push(
        `${mode} down ${downMs} ms, back ${Date.now() - started} ms (cycle ${Date.now() - t0} ms)`,
      );
      expect(await alive(), crashReport()).toBe(true);
      await sleep(randomInt(500, 1500));
    }
  } finally {
    await load.stop();
  }
  console.log(`round ${round}: run working after ${working} ms; restarts: ${restarts.join("; ")}`);

  expect(await alive(), crashReport()).toBe(true);
  const { answers } = load;
  const count = (s: Answer["status"]) => answers.filter((a) => a.status === s).length;
  console.log(
    `round ${round}: ${answers.length} answers: ${count(202)} × 202, ${count(503)} × 503, ` +
      `slowest ${Math.max(...answers.map((a) => a.ms))} ms`,
  );
  const wrong = answers.filter((a) => a.status !== 202 && a.status !== 503);
  expect(wrong.slice(0, 10), `${wrong.length} answers neither 202 nor 503`).toEqual([]);
  expect(answers.filter((a) => a.ms > ANSWER_LIMIT_MS)).toEqual([]);
  const refused = answers.filter((a) => a.status === 503);
  expect(refused.length, "the restarts were felt").toBeGreaterThan(0);
  expect(refused.filter((a) => !a.error?.includes('"db_unavailable"'))).toEqual([]);

  // Every acknowledged alert is stored.
  const stored = new Set(
    (await db.selectFrom("alerts").select("summary").where("summary", "like", `r${round}-%`).execute()).map(
      (r) => r.summary,
    ),
  );
  const acked = answers.filter((a) => a.status === 202).map((a) => a.key);
  expect(acked.filter((k) => !stored.has(k))).toEqual([]);

  // The run that was in flight finished (or was retried and finished); nothing is left running.
  const runs = await waitFor(
    "every run to be finished",
    async () => {
      const all = await db.selectFrom("runs").select(["id", "state", "outcome", "error"]).execute();
      return all.every((r) => r.state === "finished") ? all : undefined;
    },
    90_000,
  );
  const incident = await db
    .selectFrom("incidents")
    .selectAll()
    .where("host", "=", `media-0${round}`)
    .executeTakeFirstOrThrow();
  const events = await db
    .selectFrom("incident_events")
    .select(["kind", "message"])
    .where("incident_id", "=", incident.id)
    .orderBy("id")
    .execute();
  console.log(
    `round ${round}: done after ${Date.now() - began} ms; incident events: ${events
      .map((e) => (e.kind === "run_retry" ? `run_retry (${e.message.slice(0, 120)})` : e.kind))
      .join(", ")}`,
  );
  expect(incident.state, JSON.stringify(events)).toBe("pr_open");
  expect(runs.filter((r) => r.outcome !== "pr_opened")).toEqual([]);
  expect(await readyz()).toBe(200);
}
