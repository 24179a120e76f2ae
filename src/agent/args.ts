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

/** The SPEC §7 default: `run --dir <worktree> --format json --title <title> [--model <m>] <prompt>`. */
export function defaultArgs(vars: ArgVars, extraArgs: string[] = []): string[] {
  const args = ["run", "--dir", vars.worktree, "--format", "json", "--title", vars.title];
  if (vars.model !== undefined) args.push("--model", vars.model);
  return [...args, ...extraArgs, vars.prompt];
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
