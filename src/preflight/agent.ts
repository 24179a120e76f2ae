import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARG_PROFILES, compareVersions, parseVersion, TESTED_OPENCODE_VERSION } from "../agent/args.js";
import { BUNDLED_OPENCODE_PACKAGE, bundledOpencode } from "../agent/bundled.js";
import { findOnPath, firstLine, runProgram } from "./exec.js";
import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

const KNOWN_MAJORS = ARG_PROFILES.map((p) => `${p.major}.x`).join(", ");

/**
 * The agent command is runnable and, driven with the default (OpenCode) arguments, is a version an
 * argument profile covers; a version other than the tested one is a warning that names both.
 */
export const agentChecks: CheckGroup = async (ctx) => {
  const { command, args } = ctx.config.agent;
  const path = findOnPath(command, ctx.path);
  if (path === undefined) {
    return [
      fail(
        "agent",
        `agent.command ${command} not found on PATH (${ctx.path})`,
        `install OpenCode ${TESTED_OPENCODE_VERSION} (\`npm ci\` installs it as ${BUNDLED_OPENCODE_PACKAGE}; NixOS: the module's default agentPackage), or point agent.command at the agent program`,
      ),
    ];
  }
  // The config loader's caller put the bundled binary in place of a default `opencode` missing from
  // PATH (src/agent/bundled.ts); the line says so.
  const bundled = path === bundledOpencode() ? `, bundled: npm package ${BUNDLED_OPENCODE_PACKAGE}` : "";
  if (args !== undefined) {
    return [ok("agent", `${path}${bundled} with agent.args of its own (its version is yours to choose)`)];
  }
  const result = await openCodeVersion(path, ctx.path);
  return [{ ...result, found: `${result.found}${bundled}` }];
};

/** Runs `opencode --version` (in a throwaway home: even that writes to ~/.cache) and judges it. */
export async function openCodeVersion(path: string, servicePath: string): Promise<CheckResult> {
  const home = mkdtempSync(join(tmpdir(), "healer-version-"));
  try {
    const ran = await runProgram(path, ["--version"], {
      env: { PATH: servicePath, HOME: home, XDG_CACHE_HOME: join(home, ".cache") },
      timeoutMs: 30_000,
    });
    const text = `${ran.stdout}\n${ran.stderr}`;
    if (ran.code !== 0) {
      return fail(
        "agent",
        `${path} --version failed: ${ran.error ?? `exit ${ran.code}`} ${firstLine(text)}`.trim(),
        `install OpenCode ${TESTED_OPENCODE_VERSION}, or set agent.args if the agent is not OpenCode`,
      );
    }
    return judgeVersion(path, text);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The verdict on a `--version` answer: refused without a profile, warned when not the tested one. */
export function judgeVersion(path: string, text: string): CheckResult {
  const v = parseVersion(text);
  if (v === undefined) {
    return fail(
      "agent",
      `${path} --version answered "${firstLine(text)}": not a version`,
      `install OpenCode ${TESTED_OPENCODE_VERSION}, or set agent.args if the agent is not OpenCode`,
    );
  }
  if (!ARG_PROFILES.some((p) => p.major === v.major)) {
    return fail(
      "agent",
      `OpenCode ${v.version} at ${path}: no argument profile for major version ${v.major} (profiles: ${KNOWN_MAJORS}); runs are refused`,
      `install OpenCode ${TESTED_OPENCODE_VERSION} (the version tested), or set agent.args to a command line this version understands`,
    );
  }
  const cmp = compareVersions(v.version, TESTED_OPENCODE_VERSION);
  if (cmp !== 0) {
    return warn(
      "agent",
      `OpenCode ${v.version} at ${path} is ${cmp < 0 ? "older" : "newer"} than ${TESTED_OPENCODE_VERSION}, the version tested: its flags, permissions and events were not tried`,
      `use OpenCode ${TESTED_OPENCODE_VERSION} (NixOS: the module's default agentPackage)`,
    );
  }
  return ok("agent", `OpenCode ${v.version} at ${path} (the version tested)`);
}
