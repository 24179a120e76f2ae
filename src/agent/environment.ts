import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { egressEnv } from "./egress/run-egress.js";

/** Everything the agent's environment is built from; nothing is read from `process.env`. */
export interface AgentEnvInput {
  /** The service's own PATH (run.ts reads it once and passes it down). */
  servicePath: string;
  /** The per-run home: HOME and every XDG_* dir live under it. */
  home: string;
  worktree: string;
  runId: string;
  incidentId: string;
  promptFile: string;
  contextFile: string;
  prBodyFile: string;
  /** The per-run OpenCode config file (`OPENCODE_CONFIG`). */
  opencodeConfigFile: string;
  /** KEY=value pairs from `agent.environmentFile` (LLM API keys). */
  agentEnv: Record<string, string>;
  /**
   * The run goes out through its egress proxy: the agent gets the proxy variables (they win), and
   * Nix may not build while it evaluates (egress/nix.ts).
   */
  proxied?: boolean | undefined;
}

/** HOME and the XDG base dirs inside a per-run home. */
export function homeDirs(home: string): {
  HOME: string;
  XDG_CONFIG_HOME: string;
  XDG_DATA_HOME: string;
  XDG_CACHE_HOME: string;
  XDG_STATE_HOME: string;
} {
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_STATE_HOME: join(home, ".local", "state"),
  };
}

/** OpenCode switches that keep a run offline (but for the model) and inside the lane. */
export const OPENCODE_FLAGS: Readonly<Record<string, string>> = {
  // A repo's own opencode.json, .opencode/ and AGENTS.md would be merged over OPENCODE_CONFIG.
  OPENCODE_DISABLE_PROJECT_CONFIG: "1",
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_SHARE: "1",
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
  OPENCODE_DISABLE_CLAUDE_CODE: "1",
};

/**
 * Variables an environment file must not set: they would replace the lane's config or permissions
 * (OPENCODE_PERMISSION and OPENCODE_CONFIG_CONTENT have the highest precedence of all) or redirect
 * the dynamic loader into code of the file's choosing.
 */
const FORBIDDEN = /^(OPENCODE_(PERMISSION|CONFIG.*)|LD_.*|NODE_OPTIONS|BUN_OPTIONS)$/;

/**
 * The agent's whole environment: the service's PATH, a per-run home, HEALER_* and OPENCODE_* keys, and
 * behind the egress proxy its variables.
 */
export function buildAgentEnv(input: AgentEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.agentEnv)) {
    if (!FORBIDDEN.test(k)) env[k] = v;
  }
  // Ours come last so the environment file cannot move HOME, PATH or the HEALER_* files.
  return {
    ...env,
    PATH: input.servicePath,
    ...homeDirs(input.home),
    // `opencode run` without --dir uses $PWD, not the process cwd.
    PWD: input.worktree,
    HEALER_RUN_ID: input.runId,
    HEALER_INCIDENT_ID: input.incidentId,
    HEALER_WORKTREE: input.worktree,
    HEALER_PROMPT_FILE: input.promptFile,
    HEALER_CONTEXT_FILE: input.contextFile,
    HEALER_PR_BODY_FILE: input.prBodyFile,
    OPENCODE_CONFIG: input.opencodeConfigFile,
    ...OPENCODE_FLAGS,
    ...(input.proxied ? egressEnv(env.NIX_CONFIG) : {}),
  };
}

/**
 * Creates the per-run home and seeds OpenCode's global config dir. OpenCode background-runs
 * `npm install @opencode-ai/plugin` into every config dir that lacks `node_modules/` or whose
 * package-lock.json does not list it (a registry request per run, and a hang offline); an empty
 * `node_modules/` and a lock entry make it skip that.
 */
export function prepareAgentHome(home: string): void {
  for (const dir of Object.values(homeDirs(home))) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configDir = join(homeDirs(home).XDG_CONFIG_HOME, "opencode");
  mkdirSync(join(configDir, "node_modules"), { recursive: true });
  const deps = { "@opencode-ai/plugin": "*" };
  writeFileSync(join(configDir, "package.json"), `${JSON.stringify({ dependencies: deps }, null, 2)}\n`);
  writeFileSync(
    join(configDir, "package-lock.json"),
    `${JSON.stringify({ name: "opencode", lockfileVersion: 3, requires: true, packages: { "": { dependencies: deps } } }, null, 2)}\n`,
  );
}
