import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { agentArgs, substituteArgs } from "../../src/agent/args.js";
import { buildAgentEnv, prepareAgentHome } from "../../src/agent/environment.js";

const base = {
  servicePath: "/run/current-system/sw/bin:/usr/bin",
  home: "/state/runs/9/home",
  worktree: "/state/worktrees/incident-4",
  runId: "9",
  incidentId: "4",
  promptFile: "/state/runs/9/prompt.md",
  contextFile: "/state/runs/9/context.json",
  prBodyFile: "/state/runs/9/pr-body.md",
  opencodeConfigFile: "/state/runs/9/opencode.json",
};

describe("buildAgentEnv", () => {
  it("holds exactly the contract's keys plus the agent's own secrets", () => {
    const env = buildAgentEnv({ ...base, agentEnv: { OPENAI_API_KEY: "sk-test" } });
    expect(Object.keys(env).sort()).toEqual(
      [
        "OPENAI_API_KEY",
        "PATH",
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
        "PWD",
        "HEALER_RUN_ID",
        "HEALER_INCIDENT_ID",
        "HEALER_WORKTREE",
        "HEALER_PROMPT_FILE",
        "HEALER_CONTEXT_FILE",
        "HEALER_PR_BODY_FILE",
        "OPENCODE_CONFIG",
        "OPENCODE_DISABLE_PROJECT_CONFIG",
        "OPENCODE_DISABLE_AUTOUPDATE",
        "OPENCODE_DISABLE_SHARE",
        "OPENCODE_DISABLE_MODELS_FETCH",
        "OPENCODE_DISABLE_LSP_DOWNLOAD",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS",
        "OPENCODE_DISABLE_CLAUDE_CODE",
      ].sort(),
    );
    expect(env).toMatchObject({
      PATH: base.servicePath,
      HOME: base.home,
      XDG_CONFIG_HOME: "/state/runs/9/home/.config",
      PWD: base.worktree,
      OPENCODE_CONFIG: base.opencodeConfigFile,
      OPENCODE_DISABLE_PROJECT_CONFIG: "1",
      OPENAI_API_KEY: "sk-test",
    });
    for (const v of Object.values(env)) expect(v).not.toMatch(/postgres|ghp_|webhook/i);
  });

  it("does not let the environment file move the lane", () => {
    const env = buildAgentEnv({
      ...base,
      agentEnv: {
        PATH: "/evil",
        HOME: "/root",
        HEALER_PR_BODY_FILE: "/etc/passwd",
        OPENCODE_CONFIG: "/tmp/wide.json",
        OPENCODE_CONFIG_CONTENT: '{"permission":"allow"}',
        OPENCODE_PERMISSION: '"allow"',
        OPENCODE_DISABLE_PROJECT_CONFIG: "0",
        LD_PRELOAD: "/tmp/x.so",
        ANTHROPIC_API_KEY: "k",
      },
    });
    expect(env.PATH).toBe(base.servicePath);
    expect(env.HOME).toBe(base.home);
    expect(env.HEALER_PR_BODY_FILE).toBe(base.prBodyFile);
    expect(env.OPENCODE_CONFIG).toBe(base.opencodeConfigFile);
    expect(env.OPENCODE_DISABLE_PROJECT_CONFIG).toBe("1");
    expect(env).not.toHaveProperty("OPENCODE_CONFIG_CONTENT");
    expect(env).not.toHaveProperty("OPENCODE_PERMISSION");
    expect(env).not.toHaveProperty("LD_PRELOAD");
    expect(env.ANTHROPIC_API_KEY).toBe("k");
  });

  it("behind the egress proxy: the proxy variables, and a NIX_CONFIG whose last line forbids building during evaluation", () => {
    const plain = buildAgentEnv({ ...base, agentEnv: { NIX_CONFIG: "store = dummy://" } });
    expect(plain.NIX_CONFIG).toBe("store = dummy://");
    expect(plain).not.toHaveProperty("HTTPS_PROXY");

    const lane = buildAgentEnv({ ...base, agentEnv: {}, proxied: true });
    expect(lane.HTTPS_PROXY).toBe("http://127.0.0.1:3128");
    expect(lane.NIX_CONFIG).toBe("allow-import-from-derivation = false");
    // The environment file's settings stay; a later line wins in NIX_CONFIG, so the lane's goes last.
    const withFile = buildAgentEnv({
      ...base,
      agentEnv: { NIX_CONFIG: "store = dummy://\nallow-import-from-derivation = true\n" },
      proxied: true,
    });
    expect(withFile.NIX_CONFIG).toBe(
      "store = dummy://\nallow-import-from-derivation = true\nallow-import-from-derivation = false",
    );
  });
});

describe("prepareAgentHome", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates the XDG dirs and seeds OpenCode's config dir so it installs nothing", () => {
    dir = mkdtempSync(join(tmpdir(), "healer-home-"));
    prepareAgentHome(dir);
    for (const d of [".config", ".local/share", ".cache", ".local/state", ".config/opencode/node_modules"]) {
      expect(existsSync(join(dir, d)), d).toBe(true);
    }
    const lock = JSON.parse(readFileSync(join(dir, ".config/opencode/package-lock.json"), "utf8"));
    expect(lock.packages[""].dependencies).toHaveProperty("@opencode-ai/plugin");
    const pkg = JSON.parse(readFileSync(join(dir, ".config/opencode/package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies)).toEqual(Object.keys(lock.packages[""].dependencies));
  });
});

describe("agent args", () => {
  const vars = {
    worktree: "/wt",
    prompt: "fix it",
    promptFile: "/run/prompt.md",
    title: "incident 4",
    runId: "9",
    incidentId: "4",
  };

  it("defaults to the contract's opencode run line", () => {
    expect(agentArgs(undefined, vars)).toEqual([
      "run",
      "--dir",
      "/wt",
      "--format",
      "json",
      "--title",
      "incident 4",
      "fix it",
    ]);
    expect(agentArgs(undefined, { ...vars, model: "p/m" }, ["--agent", "fixer"])).toEqual([
      "run",
      "--dir",
      "/wt",
      "--format",
      "json",
      "--title",
      "incident 4",
      "--model",
      "p/m",
      "--agent",
      "fixer",
      "fix it",
    ]);
  });

  it("substitutes placeholders and drops --model without a model", () => {
    const template = [
      "exec",
      "--cd={worktree}",
      "-m",
      "{model}",
      "--file",
      "{promptFile}",
      "run-{runId}/{incidentId}",
    ];
    expect(substituteArgs(template, vars)).toEqual([
      "exec",
      "--cd=/wt",
      "--file",
      "/run/prompt.md",
      "run-9/4",
    ]);
    expect(substituteArgs(template, { ...vars, model: "p/m" })).toContain("p/m");
  });
});
