import { join } from "node:path";

/** The files of one run under `stateDir/runs/<id>/`. */
export interface RunFiles {
  /** stdout and stderr of the agent, appended across attempts. */
  log: string;
  home: string;
  prompt: string;
  context: string;
  prBody: string;
  opencodeConfig: string;
  /** The run's own programs for the agent's PATH (the `inspect` client). */
  bin: string;
}

/** Where a run keeps its files. */
export function runFiles(runDir: string): RunFiles {
  return {
    log: join(runDir, "agent.log"),
    home: join(runDir, "home"),
    prompt: join(runDir, "prompt.md"),
    context: join(runDir, "context.json"),
    prBody: join(runDir, "pr-body.md"),
    opencodeConfig: join(runDir, "opencode.json"),
    bin: join(runDir, "bin"),
  };
}

/** Values for the placeholders of `agent.args`. */
export interface ArgVars {
  worktree: string;
  prompt: string;
  promptFile: string;
  title: string;
  model?: string | undefined;
  runId: string;
  incidentId: string;
}

/**
 * The OpenCode the project is tested with: the `opencode-linux-x64` entry of package-lock.json (a test
 * keeps the two equal). Flags, permission semantics and the event stream were learned on it.
 */
export const TESTED_OPENCODE_VERSION = "1.18.33";

/** How one OpenCode major version is driven headless. */
export interface ArgProfile {
  major: number;
  /** The argv for one turn. */
  args: (vars: ArgVars, extraArgs: string[]) => string[];
}

/**
 * The argument profiles, by major version. OpenCode 1.x: `run --dir <worktree> --format json --title
 * <title> [--model <m>] <prompt>` (SPEC §7). A major without an entry is refused: its flags are unknown.
 */
export const ARG_PROFILES: readonly ArgProfile[] = [
  {
    major: 1,
    args: (vars, extraArgs) => {
      const args = ["run", "--dir", vars.worktree, "--format", "json", "--title", vars.title];
      if (vars.model !== undefined) args.push("--model", vars.model);
      return [...args, ...extraArgs, vars.prompt];
    },
  },
];

/** The `x.y.z` in a `--version` answer (`1.18.33`, `opencode 1.18.33`, `v1.2.0`), or undefined. */
export function parseVersion(text: string): { version: string; major: number } | undefined {
  const m = /(?:^|[^\d.])v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? { version: `${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]) } : undefined;
}

/** The argument profile for a version string, or undefined when no profile covers its major. */
export function profileFor(version: string): ArgProfile | undefined {
  const v = parseVersion(version);
  return v === undefined ? undefined : ARG_PROFILES.find((p) => p.major === v.major);
}

/** Compares two `x.y.z` versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The default argv: the profile of the tested version's major (SPEC §7). */
export function defaultArgs(vars: ArgVars, extraArgs: string[] = []): string[] {
  return profileFor(TESTED_OPENCODE_VERSION)!.args(vars, extraArgs);
}

const PLACEHOLDER = /\{(worktree|prompt|promptFile|title|model|runId|incidentId)\}/g;

/**
 * `agent.args` with placeholders replaced: `{worktree} {prompt} {promptFile} {title} {model} {runId}
 * {incidentId}`, anywhere inside an element. Without a model, an element that is exactly `{model}` is
 * dropped together with a `--model`/`-m` right before it. `extraArgs` go at the end.
 */
export function substituteArgs(template: string[], vars: ArgVars, extraArgs: string[] = []): string[] {
  const out: string[] = [];
  for (const arg of template) {
    if (arg === "{model}" && vars.model === undefined) {
      const prev = out[out.length - 1];
      if (prev === "--model" || prev === "-m") out.pop();
      continue;
    }
    out.push(arg.replace(PLACEHOLDER, (_, key: keyof ArgVars) => vars[key] ?? ""));
  }
  return [...out, ...extraArgs];
}

/** The agent's argv: `agent.args` substituted when set, else the default. */
export function agentArgs(template: string[] | undefined, vars: ArgVars, extraArgs: string[] = []): string[] {
  return template === undefined ? defaultArgs(vars, extraArgs) : substituteArgs(template, vars, extraArgs);
}
