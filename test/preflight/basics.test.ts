import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseChecks } from "../../src/preflight/database.js";
import { notifyChecks, secretChecks } from "../../src/preflight/notify.js";
import { programChecks } from "../../src/preflight/programs.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { closedPort, scratch } from "./support.js";

describe("database and state dir checks", () => {
  const s = scratch();
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
    s.cleanup();
  });

  it("pass on a reachable, migrated database and a writable state dir", async () => {
    const [db, dir] = await databaseChecks(s.ctx({ database: { url: t.url } }));
    expect(db).toMatchObject({ name: "database", status: "ok" });
    expect(db!.found).toMatch(/reachable; migrations current \(\d+ applied\)$/);
    expect(dir).toMatchObject({ name: "stateDir", status: "ok" });
    expect(dir!.found).toMatch(/writable, [\d.]+ GiB free$/);
  });

  it("fail for a database nobody answers for, without printing its password", async () => {
    const [db] = await databaseChecks(
      s.ctx({ database: { url: "postgres://healer:db-password-777@127.0.0.1:9/healer" } }),
    );
    expect(db).toMatchObject({ name: "database", status: "fail" });
    expect(db!.found).toContain("cannot reach postgres://healer:***@127.0.0.1:9/healer");
    expect(JSON.stringify(db)).not.toContain("db-password-777");
  });

  it("fail for a state dir that cannot be written", async () => {
    const file = s.file("not-a-dir", "");
    const [, dir] = await databaseChecks(s.ctx({ database: { url: t.url }, stateDir: `${file}/state` }));
    expect(dir).toMatchObject({ name: "stateDir", status: "fail" });
    expect(dir!.found).toContain("is not writable (ENOTDIR)");
  });
});

describe("program checks", () => {
  const s = scratch();
  afterAll(() => s.cleanup());

  it("fail without git, warn without rg and without allowed programs, fail without validate's program", async () => {
    const bin = s.bin({ journalctl: "#!/bin/sh\n" });
    const results = await programChecks(
      s.ctx(
        {
          validate: { command: ["nix", "flake", "check"] },
          agent: { allowedCommands: ["journalctl *", "ls *"] },
        },
        { path: bin },
      ),
    );
    const by = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(by.git).toMatchObject({ status: "fail" });
    expect(by.rg).toMatchObject({ status: "warn" });
    expect(by.validate).toMatchObject({
      status: "fail",
      found: "validate.command's program nix not found on PATH",
    });
    expect(by.allowedCommands).toMatchObject({ status: "warn" });
    expect(by.allowedCommands!.found).toBe("not on PATH: ls (the agent is denied them anyway)");
  });

  it("pass when every program is there", async () => {
    const bin = s.bin({ nix: "#!/bin/sh\n", rg: "#!/bin/sh\n" });
    const results = await programChecks(
      s.ctx(
        {
          validate: { command: ["nix", "flake", "check"] },
          agent: { allowedCommands: ["ls *", "git log*"] },
        },
        { path: `${bin}:/usr/bin:/bin` },
      ),
    );
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ["git", "ok"],
      ["rg", "ok"],
      ["validate", "ok"],
      ["allowedCommands", "ok"],
    ]);
  });
});

describe("ntfy, webhook and token files", () => {
  const s = scratch();
  let ntfy: Server;
  let url = "";
  const seen: string[] = [];
  beforeAll(async () => {
    ntfy = createServer((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end('{"healthy":true}');
    });
    await new Promise<void>((ok) => ntfy.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(ntfy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    ntfy.closeAllConnections();
    await new Promise<void>((ok) => ntfy.close(() => ok()));
    s.cleanup();
  });

  it("ntfy: ok when it answers, a warning when it does not", async () => {
    const [up] = await notifyChecks(s.ctx({ notify: { ntfy: { url, topic: "homelab" } } }));
    expect(up).toMatchObject({ name: "ntfy", status: "ok" });
    expect(seen).toContain("/v1/health");
    const [down] = await notifyChecks(
      s.ctx({ notify: { ntfy: { url: `http://127.0.0.1:${await closedPort()}`, topic: "x" } } }),
    );
    expect(down).toMatchObject({ name: "ntfy", status: "warn" });
    expect(down!.found).toContain("ECONNREFUSED");
  });

  it("the webhook secret and per-source tokens: a FAIL naming the key when the file is missing", async () => {
    const ctx = s.ctx({
      auth: {
        tokenFile: s.file("t", "tok-abcdef\n"),
        github: { webhookSecretFile: `${s.dir}/missing-secret` },
        sources: { grafana: { tokenFile: `${s.dir}/missing-grafana` } },
      },
    });
    const [, hook] = await notifyChecks(ctx);
    expect(hook).toMatchObject({ name: "github-webhook", status: "fail" });
    expect(hook!.found).toContain("auth.github.webhookSecretFile: cannot read");
    const [tokens] = await secretChecks(ctx);
    expect(tokens).toMatchObject({ name: "secrets", status: "fail" });
    expect(tokens!.found).toContain("auth.sources.grafana.tokenFile: cannot read");
  });
});
