import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { captureIo, cliConfigFor } from "../support/cli-process.js";
import { type Healer, startHealer } from "../support/serve.js";

const exec = promisify(execFile);
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

describe("check-config", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "healer-cli-"));
    writeFileSync(join(dir, "token"), "s3cret-token-value\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, v: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(v));
    return join(dir, name);
  };

  it("names every problem: unknown keys, wrong types, missing required keys", async () => {
    const file = write("bad.json", {
      listen: { hots: "x", port: "80" },
      auth: { tokenFile: join(dir, "token") },
      repo: { url: "git@example:me/homelab.git" },
      triage: { ignore: [{ service: "(" }] },
    });
    const c = captureIo();
    expect(await runCli("check-config", ["--config", file], c.io)).toBe(1);
    expect(c.err()).toContain("listen.hots: unknown key (did you mean listen.host?)");
    expect(c.err()).toContain('listen.port: expected a number, got the string "80"');
    expect(c.err()).toContain("triage.ignore.0.service: not a valid regular expression");
    // Cross-key rules are checked once every key is well-formed.
    const fixed = write("bad2.json", {
      auth: { tokenFile: join(dir, "token") },
      repo: { url: "git@example:me/homelab.git" },
    });
    const d = captureIo();
    expect(await runCli("check-config", ["--config", fixed], d.io)).toBe(1);
    for (const k of ["forge.owner", "forge.repo", "forge.tokenFile"])
      expect(d.err()).toContain(`${k}: required when forge.type is "github"`);
    // A Forgejo forge must name its server: the GitHub default would be wrong.
    const forgejo = write("bad3.json", {
      auth: { tokenFile: join(dir, "token"), forgejo: { webhookSecretFile: "forgejo-hook" } },
      repo: { url: "git@example:me/homelab.git" },
      forge: { type: "forgejo", owner: "me", repo: "homelab", tokenFile: join(dir, "token") },
    });
    const e = captureIo();
    expect(await runCli("check-config", ["--config", forgejo], e.io)).toBe(1);
    expect(e.err()).toContain("forge.apiUrl: set it to your Forgejo server's base URL");
  });

  it("prints the config with secrets redacted; relative *File names resolve in $CREDENTIALS_DIRECTORY", async () => {
    const file = write("good.json", {
      database: { url: "postgres://healer:hunter2@db.lan/healer" },
      auth: { tokenFile: "token" },
      deploy: { prometheus: { url: "http://scraper:prom-pass@prometheus.lan:9090" } },
    });
    const c = captureIo({ CREDENTIALS_DIRECTORY: dir });
    expect(await runCli("check-config", ["--config", file], c.io)).toBe(0);
    const printed = c.out();
    expect(printed).not.toContain("s3cret-token-value");
    expect(printed).not.toContain("hunter2");
    expect(printed).toContain("postgres://healer:***@db.lan/healer");
    expect(printed).not.toContain("prom-pass");
    expect(JSON.parse(printed).deploy.prometheus.url).toBe("http://scraper:***@prometheus.lan:9090");
    expect(JSON.parse(printed).auth.tokenFile).toBe("token");
  });

  it("--shape-only reads no secret file", async () => {
    const file = write("shape.json", { auth: { tokenFile: "/nonexistent/token" } });
    expect(await runCli("check-config", ["--config", file, "--shape-only"], captureIo().io)).toBe(0);
    const c = captureIo();
    expect(await runCli("check-config", ["--config", file], c.io)).toBe(1);
    expect(c.err()).toMatch(/auth\.tokenFile: cannot read \/nonexistent\/token \(ENOENT\)/);
  });
});

describe("operator commands against a running service", () => {
  let h: Healer;
  let config: string;
  beforeAll(async () => {
    h = await startHealer({ agentMode: "no-change" });
    config = cliConfigFor(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("incidents and incident show what was posted; silence, retry and dismiss act on it", async () => {
    const res = await h.post("generic", { name: "disk-full", service: "nas.mount", host: "nas" });
    const id = ((await res.json()) as { incidents: number[] }).incidents[0]!;
    await h.waitFor(
      "needs_human",
      async () =>
        (await h.api<{ incident: { state: string } }>(`/incidents/${id}`)).body.incident.state ===
        "needs_human",
    );

    // The real executable, as an owner types it.
    const { stdout } = await exec(process.execPath, [
      "--import",
      "tsx",
      MAIN,
      "incidents",
      "--config",
      config,
    ]);
    expect(stdout).toMatch(/^ID\s+STATE\s+SERVICE\s+TITLE\s+OCC\s+LAST SEEN\s+PR/);
    expect(stdout).toMatch(
      new RegExp(`^${id}\\s+needs_human\\s+nas\\.mount\\s+disk-full: nas\\.mount\\s+1\\s`, "m"),
    );

    const one = captureIo();
    expect(await runCli("incident", [String(id), "--config", config], one.io)).toBe(0);
    expect(one.out()).toContain(`Incident ${id}: disk-full: nas.mount`);
    expect(one.out()).toMatch(/no_change/);

    const json = captureIo();
    expect(await runCli("incidents", ["--json", "--state", "needs_human", "--config", config], json.io)).toBe(
      0,
    );
    expect(JSON.parse(json.out())).toEqual([expect.objectContaining({ id, state: "needs_human" })]);

    const retry = captureIo();
    expect(await runCli("retry", [String(id), "--config", config], retry.io)).toBe(0);
    expect(retry.out()).toMatch(/^queued run \d+/);

    const silence = captureIo();
    expect(
      await runCli(
        "silence",
        ["--service", "nas.mount", "--for", "2h", "--reason", "disk swap", "--config", config],
        silence.io,
      ),
    ).toBe(0);
    expect(silence.out()).toMatch(
      /^silence \d+: nas\.mount until \S+ \(disk swap\); end it early with `homelab-healer unsilence \d+`\n$/,
    );

    const dismiss = captureIo();
    expect(
      await runCli("dismiss", [String(id), "--reason", "done by hand", "--config", config], dismiss.io),
    ).toBe(0);
    const after = await h.api<{ incident: { state: string; triage_reason: string } }>(`/incidents/${id}`);
    expect(after.body.incident).toMatchObject({ state: "dismissed", triage_reason: "done by hand" });

    const again = captureIo();
    expect(await runCli("dismiss", [String(id), "--config", config], again.io)).toBe(1);
    expect(again.err()).toMatch(/already dismissed/);
  });

  it("cleanup goes through the running service's API with the token", async () => {
    const c = captureIo();
    expect(await runCli("cleanup", ["--config", config], c.io)).toBe(0);
    expect(c.out()).toMatch(/^worktrees removed\s+\d+ \(orphans \d+\)\nbranches deleted\s+\d+/);
  });

  it("reads PostgreSQL directly, so it works while the service is down and needs no secret", async () => {
    await h.halt();
    try {
      const noSecrets = join(h.dir, "cli-nosecret.json");
      writeFileSync(
        noSecrets,
        JSON.stringify({ database: { url: h.t.url }, auth: { tokenFile: "/nonexistent/token" } }),
      );
      const c = captureIo();
      expect(await runCli("incidents", ["--config", noSecrets], c.io)).toBe(0);
      expect(c.out()).toMatch(/dismissed\s+nas\.mount/);
      const down = captureIo();
      expect(await runCli("cleanup", ["--config", config], down.io)).toBe(1);
      expect(down.err()).toMatch(/not answering/);
    } finally {
      await h.restart();
    }
  });
});
