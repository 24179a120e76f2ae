import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { Clock } from "../../src/clock.js";
import { type Config, loadConfig } from "../../src/config/load.js";
import { run } from "../../src/run.js";
import { memoryLogger } from "./app.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { createFakeForge, type FakeForge, type ForgeKind, fakeForgeConfig } from "./forges.js";
import { createHomelabRemote, type HomelabRemote } from "./git-remote.js";

export const SCRIPT_AGENT = fileURLToPath(new URL("./agents/script-agent.mjs", import.meta.url));
export const SERVE_TOKEN = "serve-test-token-abcdef";

export interface Healer {
  url: string;
  t: TestDatabase;
  config: Config;
  /** The fake forge (GitHub unless `forge` said otherwise; the name is older than Forgejo support). */
  github: FakeForge;
  remote: HomelabRemote;
  dir: string;
  lines: Record<string, unknown>[];
  log: Logger;
  /** POSTs a body to /hooks/<source> with the token. */
  post(source: string, body: string | object): Promise<Response>;
  /** GET/POST on /api with the token; JSON answer. */
  api<T = unknown>(
    path: string,
    init?: { method?: string; body?: unknown },
  ): Promise<{ status: number; body: T }>;
  /** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
  waitFor<T>(
    what: string,
    check: () => Promise<T | undefined | null | false>,
    timeoutMs?: number,
  ): Promise<T>;
  /** Stops the service (ordered shutdown), then the fake GitHub, drops the DB and the temp dir. */
  stop(): Promise<void>;
  /** Stops only the service; `restart()` starts it again on the same DB, repo and GitHub. */
  halt(): Promise<void>;
  restart(): Promise<void>;
}

export interface HealerOptions {
  /** Script agent mode (`change`, `no-change`, `hang`, …) or a whole `agent` section. */
  agentMode?: string;
  /** Merged over the generated config (top-level keys replace). */
  config?: (base: Record<string, unknown>) => Record<string, unknown>;
  clock?: Clock;
  tickMs?: number;
  /** Where the state dir goes (default: a fresh temp dir); known paths let a scripted LLM name files. */
  stateDir?: string;
  /** The service's PATH (default: this process's). */
  servicePath?: string;
  /** Preflight checks at start and every this many ms; default none (they would add GitHub requests). */
  preflightMs?: number;
  /** Which fake forge the service talks to; default GitHub. */
  forge?: ForgeKind;
}

/**
 * The whole service in-process, as `serve` runs it: a config file with secret files, the real
 * PostgreSQL, a bare homelab repo as origin, the fake GitHub (or Forgejo), and the script agent in bubblewrap.
 */
export async function startHealer(opts: HealerOptions = {}): Promise<Healer> {
  const dir = mkdtempSync(join(tmpdir(), "healer-serve-"));
  const t = await createTestDatabase();
  const remote = await createHomelabRemote(dir);
  const github = await createFakeForge(opts.forge ?? "github", { bareRepo: remote.path });
  writeFileSync(join(dir, "token"), `${SERVE_TOKEN}\n`);
  const base: Record<string, unknown> = {
    listen: { host: "127.0.0.1", port: 0 },
    database: { url: t.url },
    stateDir: opts.stateDir ?? join(dir, "state"),
    auth: { tokenFile: join(dir, "token") },
    repo: { url: remote.url, branch: "main" },
    forge: fakeForgeConfig(github, join(dir, `${github.kind}-token`)),
    agent: {
      command: process.execPath,
      args: [SCRIPT_AGENT, opts.agentMode ?? "change"],
      idleTimeoutSeconds: 20,
      timeoutSeconds: 60,
    },
    triage: { settleSeconds: 0 },
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(opts.config ? opts.config(base) : base, null, 2));
  const { config, secrets } = loadConfig(join(dir, "config.json"));
  const { log, lines } = memoryLogger();

  let controller: AbortController;
  let running: Promise<void>;
  let url = "";
  const start = async () => {
    controller = new AbortController();
    let listening: (u: string) => void;
    const ready = new Promise<string>((r) => {
      listening = r;
    });
    running = run({
      config,
      secrets,
      log,
      signal: controller.signal,
      servicePath: opts.servicePath ?? process.env.PATH ?? "/usr/bin:/bin",
      preflightMs: opts.preflightMs ?? null,
      tickMs: opts.tickMs ?? 200,
      ...(opts.clock ? { clock: opts.clock } : {}),
      onListening: ({ host, port }) => listening(`http://${host}:${port}`),
    });
    url = await Promise.race([
      ready,
      running.then(() => Promise.reject(new Error("service stopped before listening"))),
    ]);
  };
  await start();

  const h: Healer = {
    get url() {
      return url;
    },
    t,
    config,
    github,
    remote,
    dir,
    lines,
    log,
    post: (source, body) =>
      fetch(`${url}/hooks/${source}`, {
        method: "POST",
        headers: { authorization: `Bearer ${SERVE_TOKEN}`, "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    async api(path, init = {}) {
      const res = await fetch(`${url}/api${path}`, {
        method: init.method ?? "GET",
        headers: { authorization: `Bearer ${SERVE_TOKEN}`, "content-type": "application/json" },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async waitFor(what, check, timeoutMs = 45_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = await check();
        if (v) return v;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async halt() {
      controller.abort();
      await running;
    },
    restart: start,
    async stop() {
      if (!controller.signal.aborted) await h.halt();
      await github.stop();
      await t.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
