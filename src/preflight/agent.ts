import { ARG_PROFILES, compareVersions, parseVersion, TESTED_OPENCODE_VERSION } from "../agent/args.js";
import { BUNDLED_OPENCODE_PACKAGE, bundledOpencode } from "../agent/bundled.js";
import { findOnPath, firstLine } from "./exec.js";
import { agentOutput, trialInLane } from "./trial.js";
import { type CheckGroup, type CheckResult, fail, ok, type PreflightContext, warn } from "./types.js";

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
        `agent.command ${command} not found on PATH`,
        `install OpenCode ${TESTED_OPENCODE_VERSION} (\`npm ci\` installs it as ${BUNDLED_OPENCODE_PACKAGE}; NixOS: the module's default agentPackage), or point agent.command at the agent program`,
      ),
    ];
  }
  // The config loader's caller put the bundled binary in place of a default `opencode` missing from
  // PATH (src/agent/bundled.ts); the line says so.
  const bundled = path === bundledOpencode() ? `, bundled: npm package ${BUNDLED_OPENCODE_PACKAGE}` : "";
  if (args !== undefined) {
    // Not driven as OpenCode: nothing to judge, and it is not started outside a run.
    return [
      ok(
        "agent",
        `${path}${bundled} with agent.args of its own: not OpenCode, so its version is not asked (yours to choose)`,
      ),
    ];
  }
  const result = await openCodeVersion(ctx, path);
  return [{ ...result, found: `${result.found}${bundled}` }];
};

/**
 * Runs `<agent> --version` exactly as a run runs the agent (trialInLane: the run's sandbox, a fresh
 * per-run worktree and home under the state dir as cwd, the run's clean environment), never in the
 * caller's directory: a script agent that writes relative paths must not touch the user's checkout.
 */
export async function openCodeVersion(ctx: PreflightContext, path: string): Promise<CheckResult> {
  const trial = await trialInLane(ctx, { command: path, args: ["--version"] });
  if (!trial.started) {
    return warn(
      "agent",
      `${path} found; its version was not asked: the run's sandbox cannot start (${trial.error})`,
      "see the sandbox line: the agent runs only inside it",
    );
  }
  const text = agentOutput(trial.log);
  if (trial.result.exitCode !== 0) {
    const why = trial.result.ended === "exited" ? `exit ${trial.result.exitCode}` : trial.result.ended;
    return fail(
      "agent",
      `${path} --version failed: ${why} ${firstLine(text)}`.trim(),
      `install OpenCode ${TESTED_OPENCODE_VERSION}, or set agent.args if the agent is not OpenCode`,
    );
  }
  return judgeVersion(path, text);
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
