/** Input of the per-run OpenCode config. */
export interface OpencodeConfigOptions {
  /** Bash command patterns the agent may run (`agent.allowedCommands`); everything else is denied. */
  allowedCommands: string[];
  /** The owner's `agent.opencodeConfig`: providers, agents, instructions, model… never permissions. */
  userConfig: Record<string, unknown>;
  /** `agent.model` (`provider/model`); wins over a model in `userConfig`. */
  model?: string | undefined;
  worktree: string;
  /**
   * Directories outside the worktree the agent may write to (OpenCode's `external_directory`), e.g. the
   * run directory that holds the PR body file. Everything else outside the worktree is denied.
   */
  externalDirs?: string[] | undefined;
  /** Bash patterns denied even where `allowedCommands` allows them (egress/nix.ts behind the allowlist). */
  deniedCommands?: string[] | undefined;
  /** `inspect <host> <pattern>` for each configured host and `inspect.commands` pattern. */
  inspectCommands?: string[] | undefined;
}

/** Tools the agent needs to read the repo and change Nix files. */
const ALLOWED = ["read", "edit", "glob", "grep", "list", "todowrite", "todoread"] as const;

/** Everything else OpenCode knows, denied by name so no key falls back to a default (some are "ask"). */
const DENIED = [
  "webfetch",
  "websearch",
  "codesearch",
  "task",
  "skill",
  "lsp",
  "doom_loop",
  "question",
  "plan_enter",
  "plan_exit",
] as const;

/** Keys of the owner's config the lane overrides or removes, and why. */
const LANE_KEYS = new Set([
  // The lane owns permissions. `tools` is OpenCode's older spelling of the same thing (`{bash: true}`
  // becomes `bash: allow`), and plugins run code inside OpenCode that can answer permission requests.
  "permission",
  "tools",
  "plugin",
  // Network side effects the run must never have: uploads, self-updates, shadow git repos.
  "share",
  "autoshare",
  "autoupdate",
  "snapshot",
]);

/** OpenCode's permission block for the lane: explicit for every tool, nothing left at "ask". */
export function lanePermission(
  allowedCommands: string[],
  externalDirs: string[] = [],
  deniedCommands: string[] = [],
  inspectCommands: string[] = [],
): Record<string, unknown> {
  // Rules are matched last-wins and keys are wildcards, so the leading "*" denies any tool not named
  // below (MCP tools, tools added by later OpenCode versions) instead of leaving it at the default.
  const permission: Record<string, unknown> = { "*": "deny" };
  for (const key of ALLOWED) permission[key] = "allow";
  const bash: Record<string, string> = { "*": "deny" };
  for (const pattern of allowedCommands) bash[pattern] = "allow";
  // `inspect` reaches other hosts: only the configured host × command pairs, even if a broad
  // allowedCommands pattern would cover more (the broker and the host check again).
  if (inspectCommands.length > 0) bash["inspect *"] = "deny";
  for (const pattern of inspectCommands) bash[pattern] = "allow";
  // After the allowed ones, so they win where both match.
  for (const pattern of deniedCommands) bash[pattern] = "deny";
  permission.bash = bash;
  for (const key of DENIED) permission[key] = "deny";
  const external: Record<string, string> = { "*": "deny" };
  for (const dir of externalDirs) external[`${dir.replace(/\/+$/, "")}/*`] = "allow";
  permission.external_directory = external;
  return permission;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; `over` wins, arrays and scalars are replaced. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** Removes `permission` and `tools` from every agent (and legacy `mode`) entry. */
function stripAgentGrants(agents: unknown): Record<string, unknown> | undefined {
  if (!isObject(agents)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(agents)) {
    if (!isObject(def)) continue;
    // A per-agent permission block merges over the global one and takes precedence, so an agent entry
    // could re-grant bash or webfetch; per-agent `tools` is converted into the same thing.
    const { permission: _p, tools: _t, ...rest } = def;
    out[name] = rest;
  }
  return out;
}

/** The owner's config without anything that could widen the lane. */
export function sanitizeUserConfig(userConfig: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(userConfig)) {
    if (LANE_KEYS.has(k)) continue;
    if (k === "agent" || k === "mode") {
      const agents = stripAgentGrants(v);
      if (agents) out[k] = agents;
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** The per-run OpenCode config: the owner's settings merged under the lane, which always wins. */
export function buildOpencodeConfig(opts: OpencodeConfigOptions): Record<string, unknown> {
  const lane: Record<string, unknown> = {
    $schema: "https://opencode.ai/config.json",
    autoupdate: false,
    share: "disabled",
    snapshot: false,
    permission: lanePermission(
      opts.allowedCommands,
      opts.externalDirs,
      opts.deniedCommands,
      opts.inspectCommands,
    ),
  };
  if (opts.model !== undefined) lane.model = opts.model;
  const merged = deepMerge(sanitizeUserConfig(opts.userConfig), lane);
  // The lane's permission replaces rather than merges: nothing from the owner survives in it.
  merged.permission = lane.permission;
  return merged;
}
