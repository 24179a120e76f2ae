import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { findOnPath } from "../../src/preflight/exec.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { createFakeGithub, type FakeGithub } from "../support/fake-github.js";
import { createHomelabRemote, type HomelabRemote } from "../support/git-remote.js";
import { OPENCODE } from "../support/real-opencode.js";
import { SCRIPT_AGENT } from "../support/serve.js";

const exec = promisify(execFile);
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
// tsx's loader by its file URL: the embedded-default test runs from a directory without node_modules.
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
const SECRETS = {
  api: "api-token-secret-0001",
  forge: "forge-token-secret-0002",
  webhook: "webhook-secret-0003",
  envValue: "sk-env-file-secret-0004",
};

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      stdout: (s: string) => void out.push(s),
      stderr: (s: string) => void err.push(s),
    },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

describe("homelab-healer doctor", () => {
  let dir: string;
  let t: TestDatabase;
  let remote: HomelabRemote;
  let github: FakeGithub;
  const write = (name: string, v: unknown) => {
    writeFileSync(join(dir, name), typeof v === "string" ? v : JSON.stringify(v));
    return join(dir, name);
  };
  let world: Record<string, unknown>;

  beforeAll(async () => {
    // Outside /tmp: the sandbox trial mounts its own /tmp.
    dir = mkdtempSync(join("/var/tmp", "healer-doctor-"));
    t = await createTestDatabase();
    remote = await createHomelabRemote(dir);
    github = await createFakeGithub({ token: SECRETS.forge, bareRepo: remote.path });
    world = {
      stateDir: join(dir, "state"),
      database: { url: t.url },
      auth: {
        tokenFile: write("api-token", `${SECRETS.api}\n`),
        github: { webhookSecretFile: write("webhook", `${SECRETS.webhook}\n`) },
      },
      repo: { url: remote.url },
      forge: {
        owner: github.owner,
        repo: github.repo,
        apiUrl: github.url,
        tokenFile: write("gh", SECRETS.forge),
      },
      agent: {
        command: process.execPath,
        args: [SCRIPT_AGENT, "change"],
        environmentFile: write("agent.env", `LLM_API_KEY=${SECRETS.envValue}\n`),
      },
    };
  });
  afterAll(async () => {
    await github?.stop();
    await t?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes for a complete setup: one line per check, exit 0, and no secret in the output", async () => {
    const c = io();
    const code = await runCli("doctor", ["--config", write("world.json", world)], c.io);
    const text = c.out();
    expect(code, text).toBe(0);
    for (const name of [
      "config",
      "secrets",
      "database",
      "stateDir",
      "sandbox",
      "agent",
      "git",
      "repo",
      "forge",
      "model",
      "ntfy",
      "github-webhook",
    ])
      expect(text).toMatch(new RegExp(`^(ok|warn) +${name} `, "m"));
    expect(text).not.toMatch(/^FAIL/m);
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);

    const j = io();
    expect(await runCli("doctor", ["--config", join(dir, "world.json"), "--json"], j.io)).toBe(0);
    const report = JSON.parse(j.out()) as {
      ok: boolean;
      checks: { name: string; status: string; found: string }[];
    };
    expect(report.ok).toBe(true);
    expect(report.checks.find((r) => r.name === "repo")).toMatchObject({ status: "ok" });
    for (const secret of Object.values(SECRETS)) expect(j.out()).not.toContain(secret);
  });

  it("with forge.type none and no repo it only warns about what is not configured", async () => {
    const c = io();
    const file = write("bare.json", {
      stateDir: join(dir, "state-bare"),
      database: { url: t.url },
      auth: { tokenFile: join(dir, "api-token") },
      forge: { type: "none" },
      agent: { command: process.execPath, args: [SCRIPT_AGENT, "change"] },
    });
    expect(await runCli("doctor", ["--config", file], c.io), c.out()).toBe(0);
    expect(c.out()).toMatch(/^warn +repo +repo\.url is not set/m);
    expect(c.out()).toMatch(/^warn +forge +forge\.type is "none"/m);
  });

  it("a config pointing at nothing gets a FAIL naming each key, exit 1", async () => {
    const c = io();
    const file = write("nothing.json", {
      ...world,
      forge: { ...(world.forge as object), tokenFile: join(dir, "no-such-token") },
      agent: {
        ...(world.agent as object),
        environmentFile: join(dir, "no-such-env"),
        args: undefined,
        model: "openai/gpt-5",
        command: "no-such-agent",
      },
      repo: { url: join(dir, "no-such-repo.git") },
    });
    expect(await runCli("doctor", ["--config", file], c.io)).toBe(1);
    const text = c.out();
    expect(text).toMatch(/^FAIL +forge +forge\.tokenFile: cannot read .*no-such-token \(ENOENT\)/m);
    expect(text).toMatch(/^FAIL +model +agent\.environmentFile: cannot read .*no-such-env \(ENOENT\)/m);
    expect(text).toMatch(/^FAIL +agent +agent\.command no-such-agent not found on PATH /m);
    // The PATH is printed once, on its own line, not in every "not found" line.
    expect(text.split(c.io.env.PATH).length - 1).toBe(1);
    expect(text).toMatch(/^ok +PATH +/m);
    expect(text).toMatch(/^FAIL +repo +cannot reach repo\.url/m);
  });

  it("a config with a mistake names it and says where to mend it, not check-config", async () => {
    const c = io();
    const file = write("typo.json", { ...world, agent: { ...(world.agent as object), timeoutSecs: 5 } });
    expect(await runCli("doctor", ["--config", file], c.io)).toBe(1);
    expect(c.out()).toContain(
      `FAIL config  agent.timeoutSecs: unknown key (did you mean agent.timeoutSeconds?) → edit ${file}`,
    );
    expect(c.out()).toContain(`\`homelab-healer doctor --config ${file}\` again`);
    expect(c.out()).not.toContain("check-config");
  });

  it("as a program: an unreadable config is a FAIL line, never a stack trace", async () => {
    const r = await exec(
      process.execPath,
      ["--import", "tsx", MAIN, "doctor", "--config", join(dir, "absent.json")],
      {
        env: { PATH: process.env.PATH ?? "" },
      },
    ).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect("code" in r ? r.code : 0).toBe(1);
    expect(r.stdout).toMatch(/^FAIL config .*absent\.json: cannot read \(ENOENT\)/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);
  });
});

describe("doctor on the embedded default (no config file)", () => {
  it("exits 0 with warnings: without repo.url no run needs the agent, the model or the sandbox yet; the agent is the bundled OpenCode", async () => {
    // The embedded default's state dir is ./.homelab-healer: run from a scratch dir.
    const dir = mkdtempSync(join("/var/tmp", "healer-doctor-embedded-"));
    // A PATH with bubblewrap alone (where installed): doctor asks the agent's version inside the
    // run's sandbox, and no `opencode` may be on it.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const bwrap = findOnPath("bwrap", process.env.PATH ?? "");
    if (bwrap !== undefined) symlinkSync(bwrap, join(bin, "bwrap"));
    try {
      const r = await exec(process.execPath, ["--import", TSX, MAIN, "doctor"], {
        cwd: dir,
        env: { PATH: bin },
      }).catch((e: { code: number; stdout: string; stderr: string }) => e);
      const text = r.stdout;
      expect("code" in r ? r.code : 0, `${text}${r.stderr}`).toBe(0);
      expect(text).toMatch(/^ok +database +PGlite in .*\.homelab-healer\/db/m);
      expect(text).toMatch(/^warn +repo +repo\.url is not set/m);
      if (OPENCODE === undefined) {
        expect(text).toMatch(
          /^warn +agent +.*not found on PATH.*\(no run needs it until repo\.url is set\)/m,
        );
      } else {
        // No `opencode` on this PATH, and the cwd has no node_modules: the agent is the OpenCode npm
        // installed next to the program (opencode-linux-x64), found from the program's own location.
        expect(text).toContain(
          `ok   agent            OpenCode 1.18.33 at ${OPENCODE} (the version tested), bundled: npm package opencode-${process.platform}-${process.arch}\n`,
        );
      }
      expect(text).toMatch(
        /^warn +model +agent\.model is not set \(no run needs it until repo\.url is set\)/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
