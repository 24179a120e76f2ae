import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfig, AgentSpec } from "../../src/agent/spawn.js";
import { parseConfig } from "../../src/config/load.js";

export const SCRIPT_AGENT = new URL("../support/agents/script-agent.mjs", import.meta.url).pathname;
export const HAS_BWRAP = spawnSync("bwrap", ["--version"]).status === 0;

/** A state dir with a bare mirror and a git worktree of it, as the run worker makes them. */
export interface Lab {
  root: string;
  stateDir: string;
  mirror: string;
  worktree: string;
  runDir: string;
  cleanup(): void;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    stdio: "pipe",
    env: {
      PATH: process.env.PATH,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  });

// Not under /tmp: the sandbox mounts a fresh /tmp, which would hide the paths the tests probe.
const LAB_BASE = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();

/** Creates a fresh lab (state dir, mirror, worktree) outside /tmp. */
export function makeLab(runId = "1"): Lab {
  const root = mkdtempSync(join(LAB_BASE, "healer-agent-"));
  const stateDir = join(root, "state");
  const seed = join(root, "seed");
  mkdirSync(join(seed, "hosts", "nas"), { recursive: true });
  writeFileSync(join(seed, "flake.nix"), "{ outputs = _: { }; }\n");
  writeFileSync(
    join(seed, "hosts", "nas", "default.nix"),
    '{ config, pkgs, ... }:\n{\n  networking.hostName = "nas";\n  services.nginx.enable = false;\n}\n',
  );
  git(seed, "init", "-q", "-b", "main");
  git(seed, "add", ".");
  git(seed, "commit", "-qm", "init");
  const mirror = join(stateDir, "mirror.git");
  mkdirSync(stateDir, { recursive: true });
  git(root, "clone", "-q", "--bare", seed, mirror);
  const worktree = join(stateDir, "worktrees", `incident-${runId}`);
  git(mirror, "worktree", "add", "-q", "-b", `healer/incident-${runId}`, worktree, "main");
  const runDir = join(stateDir, "runs", runId);
  return {
    root,
    stateDir,
    mirror,
    worktree,
    runDir,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The agent config with defaults, pointing at the lab. */
export function agentConfig(lab: Lab, over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    ...parseConfig({}).agent,
    stateDir: lab.stateDir,
    secretPaths: [],
    ...over,
  };
}

/** A spec for the script agent in `mode`. */
export function scriptSpec(
  lab: Lab,
  mode: string,
  extra: string[] = [],
  over: Omit<Partial<AgentSpec>, "config"> & { config?: Partial<AgentConfig> } = {},
): AgentSpec {
  const { config, ...rest } = over;
  return {
    runId: "1",
    incidentId: 7,
    worktree: lab.worktree,
    runDir: lab.runDir,
    prompt: "Fix incident 7.",
    context: { incident: { id: 7 } },
    prBodyTemplate: "# TITLE\n",
    config: agentConfig(lab, { command: process.execPath, args: [SCRIPT_AGENT, mode, ...extra], ...config }),
    agentEnv: {},
    servicePath: process.env.PATH ?? "/usr/bin:/bin",
    signal: new AbortController().signal,
    killGraceMs: 500,
    onWarning: () => {},
    ...rest,
  };
}

/** A marker no other process has: `sleep <marker>` is findable in /proc. */
export function uniqueMarker(prefix: number): string {
  return `${prefix}.${process.pid}${Math.floor(Math.random() * 1e6)}`;
}

export { pidsWith } from "../support/processes.js";
