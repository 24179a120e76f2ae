import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { runCli } from "../../src/cli/cli.js";
import { hostsTable } from "../../src/cli/format.js";
import { ManualClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/load.js";
import { noneForge } from "../../src/forge/forge.js";
import type { HostView } from "../../src/hosts/registry.js";
import type { IncidentDeps } from "../../src/incidents/deps.js";
import { createLifecycle } from "../../src/lifecycle/lifecycle.js";
import { memoryLogger } from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const SHARED = "shared-token-0123456789";
const DEPLOY = "deploy-token-9876543210";
const REV = "a".repeat(40);

/** POST /hooks/deployment behind the real bearer auth, with `auth.sources.deployment.tokenFile` set. */
describe("POST /hooks/deployment, GET /api/hosts, /metrics", () => {
  let t: TestDatabase;
  let dir: string;
  let app: ReturnType<typeof createApp>;
  const clock = new ManualClock(new Date("2026-12-06T08:00:00Z"));
  const post = (body: unknown, token = DEPLOY, type = "application/json") =>
    app.request("/hooks/deployment", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": type },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const count = async () =>
    Number(
      (
        await t.db
          .selectFrom("deployments")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    t = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), "healer-deploy-api-"));
    writeFileSync(join(dir, "token"), SHARED);
    writeFileSync(join(dir, "deploy-token"), DEPLOY);
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        stateDir: join(dir, "state"),
        database: { url: t.url },
        auth: {
          tokenFile: join(dir, "token"),
          sources: { deployment: { tokenFile: join(dir, "deploy-token") } },
        },
      }),
    );
    const { config, secrets } = loadConfig(join(dir, "config.json"));
    expect(secrets.sourceTokens.deployment).toBe(DEPLOY);
    const { log } = memoryLogger();
    const deps: IncidentDeps = { db: t.db, log, clock, config, wakeRuns: () => {} };
    const lifecycle = createLifecycle({ ...deps, secrets }, { forge: noneForge });
    app = createApp({
      ...deps,
      secrets,
      metrics: new Metrics(),
      deploymentHook: lifecycle.deploymentHook,
      hosts: () => lifecycle.deploy.hosts(),
    });
  });
  afterAll(async () => {
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 401 without the deployment token (the shared one is refused there)", async () => {
    expect((await post({ host: "media-01", revision: REV, status: "done" }, SHARED)).status).toBe(401);
    expect((await post({ host: "media-01", revision: REV, status: "done" }, "")).status).toBe(401);
    expect(await count()).toBe(0);
  });

  it("refuses bad input naming the field, and stores nothing", async () => {
    const cases: [unknown, number, string][] = [
      [{ host: "media-01", revision: REV }, 422, "status"],
      [{ host: "media-01", revision: REV, status: "done", extra: 1 }, 422, "extra: unknown field"],
      [{ host: "media-01", revision: "abc1234", status: "done" }, 422, "revision: must be 40 hex digits"],
      [{ host: "media-01", revision: `${"g".repeat(40)}`, status: "done" }, 422, "revision"],
      [{ host: "media-01", revision: `${REV}-clean`, status: "done" }, 422, "revision"],
      [
        { host: "media\u001b[31m-01", revision: REV, status: "done" },
        422,
        "host: contains a control character",
      ],
      [{ host: "media-01\n", revision: REV, status: "done" }, 422, "host: contains a control character"],
      [{ host: "", revision: REV, status: "done" }, 422, "host: is empty"],
      [{ host: "media-01", revision: REV, status: "ok" }, 422, "status"],
      [{ host: "media-01", revision: REV, status: "done", at: "yesterday" }, 422, "at"],
      [[], 422, "(body)"],
      ["{not json", 400, "not JSON"],
    ];
    for (const [body, status, names] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(((await res.json()) as { message: string }).message).toContain(names);
    }
    expect((await post({ host: "h", revision: REV, status: "done" }, DEPLOY, "text/plain")).status).toBe(415);
    expect(await count()).toBe(0);
  });

  it("stores a report (host lower case, -dirty split off, at as sent), lists the host and its age", async () => {
    const res = await post({
      host: "Media-01",
      revision: `${REV.toUpperCase()}-dirty`,
      status: "done",
      at: "2026-12-06T07:00:00Z",
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      host: "media-01",
      revision: REV,
      dirty: true,
      status: "done",
      at: "2026-12-06T07:00:00.000Z",
    });
    const hosts = await app.request("/api/hosts", { headers: { authorization: `Bearer ${SHARED}` } });
    expect(hosts.status).toBe(200);
    const list = ((await hosts.json()) as { hosts: HostView[] }).hosts;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      host: "media-01",
      revision: `${REV}-dirty`,
      source: "hook",
      ageSeconds: 3600,
      behind: null,
      drift: { kind: "unknown" },
      waiting: [],
    });
    expect(hostsTable(list)).toMatch(
      /^HOST\s+REVISION\s+SOURCE\s+AGE\s+STATUS\s+BEHIND\s+WAITING\nmedia-01\s+aaaaaaaaaaaa-dirty\s+hook\s+60m\s+done\s+\?\s+-\n$/,
    );
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('homelab_healer_host_revision_age_seconds{host="media-01"} 3600');
    expect(metrics).toContain("homelab_healer_incidents_waiting_deploy 0");
  });

  it("homelab-healer hosts [--json] reads the same from PostgreSQL", async () => {
    const out: string[] = [];
    const io = {
      env: { PATH: process.env.PATH ?? "" },
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void out.push(t),
    };
    expect(await runCli("hosts", ["--config", join(dir, "config.json"), "--json"], io)).toBe(0);
    const list = JSON.parse(out.join("")) as HostView[];
    expect(list.map((h) => [h.host, h.revision, h.source])).toEqual([["media-01", `${REV}-dirty`, "hook"]]);
    out.length = 0;
    expect(await runCli("hosts", ["--config", join(dir, "config.json")], io)).toBe(0);
    expect(out.join("")).toMatch(
      /^HOST +REVISION .*\nmedia-01 +aaaaaaaaaaaa-dirty +hook +\S+ +done +\? +-\n$/,
    );
  });
});
