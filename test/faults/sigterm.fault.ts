import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type ServiceProcess, startService } from "../../bench/service.js";
import { writeServiceConfig } from "../../bench/setup.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { createFakeGithub, type FakeGithub, forgeConfig } from "../support/fake-github.js";
import { createHomelabRemote } from "../support/git-remote.js";
import { pidsWith } from "../support/processes.js";
import { SCRIPT_AGENT } from "../support/serve.js";

/* SIGTERM while the agent works: the run releases its lease or finishes; nothing stays stuck. */

const TOKEN = "fault-token-sigterm";
let t: TestDatabase | undefined;
let github: FakeGithub | undefined;
let dir = "";
const services: ServiceProcess[] = [];

afterAll(async () => {
  for (const s of services) await s.stop();
  await github?.stop();
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("releases or finishes the run at SIGTERM, and the next start completes it", async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "healer-sigterm-"));
  const remote = await createHomelabRemote(dir);
  github = await createFakeGithub({ bareRepo: remote.path });
  const stateDir = join(dir, "state");
  const config = writeServiceConfig(dir, TOKEN, {
    databaseUrl: t.url,
    stateDir,
    extra: {
      repo: { url: remote.url, branch: "main" },
      forge: forgeConfig(github, join(dir, "github-token")),
      agent: { command: process.execPath, args: [SCRIPT_AGENT, "slow", "6"], idleTimeoutSeconds: 30 },
      triage: { settleSeconds: 0 },
    },
  });
  const first = await startService(config, { logFile: join(dir, "service.log") });
  services.push(first);
  const res = await fetch(`${first.url}/hooks/generic`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ alerts: [{ name: "nginx-down", service: "nginx.service", host: "nas" }] }),
  });
  expect(res.status).toBe(202);
  const log = join(stateDir, "runs", "1", "agent.log");
  await waitFor("the agent to be working", async () => {
    try {
      return readFileSync(log, "utf8").includes("working 1/6");
    } catch {
      return false;
    }
  });

  expect(await first.stop()).toBe(0);
  const run = await t.db.selectFrom("runs").selectAll().executeTakeFirstOrThrow();
  // Either released (queued, no lease, the attempt given back) or finished: never running with a lease.
  expect(run.state === "finished" || (run.state === "queued" && run.lease_owner === null)).toBe(true);
  expect(pidsWith(`${SCRIPT_AGENT} slow`)).toEqual([]);

  const second = await startService(config, { logFile: join(dir, "service.log") });
  services.push(second);
  const done = await waitFor("the run to finish", async () => {
    const r = await t!.db.selectFrom("runs").selectAll().orderBy("id", "desc").executeTakeFirst();
    return r?.state === "finished" ? r : undefined;
  });
  const incident = await t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
  expect(incident.state).not.toBe("fixing");
  if (run.state === "queued") {
    expect(done.outcome).toBe("pr_opened");
    expect(github.prs).toHaveLength(1);
  }
  const busy = await t.db
    .selectFrom("runs")
    .select("id")
    .where("state", "in", ["queued", "running"])
    .execute();
  expect(busy).toEqual([]);
});
