import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { createFakeGithub, type FakeGithub } from "../support/fake-github.js";
import { createHomelabRemote, type HomelabRemote } from "../support/git-remote.js";
import { pidsWith } from "../support/processes.js";
import { SCRIPT_AGENT } from "../support/serve.js";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** `homelab-healer serve` as a real child process; resolves with its port once it listens. */
async function serve(config: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", "--config", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return { child, port };
}

describe("crash recovery", () => {
  let dir: string;
  let t: TestDatabase;
  let github: FakeGithub;
  let remote: HomelabRemote;
  let config: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "healer-crash-"));
    t = await createTestDatabase();
    remote = await createHomelabRemote(dir);
    github = await createFakeGithub({ bareRepo: remote.path });
    writeFileSync(join(dir, "token"), "crash-token\n");
    writeFileSync(join(dir, "gh"), `${github.token}\n`);
    config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        listen: { host: "127.0.0.1", port: 0 },
        database: { url: t.url },
        stateDir: join(dir, "state"),
        auth: { tokenFile: join(dir, "token") },
        repo: { url: remote.url },
        forge: { owner: github.owner, repo: github.repo, apiUrl: github.url, tokenFile: join(dir, "gh") },
        // "slow 8": the agent works for 8 s, so the kill lands mid-run; the path makes it findable.
        agent: { command: process.execPath, args: [SCRIPT_AGENT, "slow", "8"] },
        triage: { settleSeconds: 0 },
      }),
    );
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await github?.stop();
    await t?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a service killed with SIGKILL mid-run leaves a lease that is reaped; the run is retried and finishes once", {
    timeout: 120_000,
  }, async () => {
    const { child: first, port } = await serve(config);
    children.push(first);
    const res = await fetch(`http://127.0.0.1:${port}/hooks/generic`, {
      method: "POST",
      headers: { authorization: "Bearer crash-token", "content-type": "application/json" },
      body: JSON.stringify({ name: "nginx-down", service: "nginx.service", host: "nas" }),
    });
    expect(res.status).toBe(202);
    const run = await until(async () =>
      t.db.selectFrom("runs").selectAll().where("state", "=", "running").executeTakeFirst(),
    );
    await until(async () => pidsWith(SCRIPT_AGENT).length > 0);

    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    // The agent died with it: bubblewrap's PID namespace goes with its parent.
    await until(async () => pidsWith(SCRIPT_AGENT).length === 0);
    const stuck = await t.db
      .selectFrom("runs")
      .selectAll()
      .where("id", "=", run.id)
      .executeTakeFirstOrThrow();
    expect(stuck).toMatchObject({ state: "running", attempt: 1 });

    // Time passes: the lease runs out (instead of waiting its 120 s).
    await t.db
      .updateTable("runs")
      .set({ lease_expires_at: new Date(Date.now() - 1000) })
      .where("id", "=", run.id)
      .execute();
    const { child: second } = await serve(config);
    children.push(second);
    // Reaped, queued with backoff: make it due now.
    await until(async () =>
      t.db
        .selectFrom("runs")
        .select("id")
        .where("id", "=", run.id)
        .where("state", "=", "queued")
        .executeTakeFirst(),
    );
    await t.db.updateTable("runs").set({ run_after: new Date() }).where("id", "=", run.id).execute();
    const done = await until(
      async () =>
        t.db
          .selectFrom("runs")
          .selectAll()
          .where("id", "=", run.id)
          .where("state", "=", "finished")
          .executeTakeFirst(),
      60_000,
    );
    expect(done).toMatchObject({ outcome: "pr_opened", attempt: 2 });
    expect(await t.db.selectFrom("runs").selectAll().execute()).toHaveLength(1);
    expect(github.prs).toHaveLength(1);
    const events = await t.db.selectFrom("incident_events").select(["kind", "message"]).execute();
    expect(events.some((e) => e.kind === "run_retry" && /lease reaped/.test(e.message))).toBe(true);
    second.kill("SIGTERM");
    await new Promise((r) => second.once("exit", r));
  });
});

async function until<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}
