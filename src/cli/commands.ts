import { parseArgs } from "node:util";

type Option = { type: "string" | "boolean"; short?: string };

/** One command of the executable: its name, the arguments it takes, what it does and its options. */
export interface Command {
  name: string;
  /** The usage line after the command's name (`ID [--json]`). */
  args: string;
  summary: string;
  /** Positional arguments: each is a required ID named here (`ID`, `RUN_ID`). */
  ids?: string[];
  options: Record<string, Option>;
}

const config = { config: { type: "string" } } as const;
const json = { json: { type: "boolean" } } as const;

/** Every command, in the order `--help` lists them. Each also takes `--help`/`-h`. */
export const COMMANDS: Command[] = [
  {
    name: "serve",
    args: "[--config FILE]",
    summary: "migrate, then serve hooks, API, runs and maintenance until SIGTERM/SIGINT",
    options: { ...config },
  },
  {
    name: "migrate",
    args: "[--config FILE]",
    summary: "apply database migrations and exit",
    options: { ...config },
  },
  {
    name: "check-config",
    args: "[--config FILE] [--shape-only]",
    summary: "validate the config and print it with secrets redacted; --shape-only reads no secret file",
    options: { ...config, "shape-only": { type: "boolean" } },
  },
  {
    name: "incidents",
    args: "[--state S] [--json]",
    summary: "list incidents",
    options: { ...config, ...json, state: { type: "string" } },
  },
  {
    name: "incident",
    args: "ID [--json]",
    summary: "one incident: alerts, triage, runs (a failed one's last lines), PRs, events",
    ids: ["ID"],
    options: { ...config, ...json },
  },
  { name: "retry", args: "ID", summary: "queue a new run", ids: ["ID"], options: { ...config } },
  {
    name: "dismiss",
    args: "ID [--reason R] [--close-pr]",
    summary: "dismiss (cancels a live run; --close-pr closes its PR)",
    ids: ["ID"],
    options: { ...config, reason: { type: "string" }, "close-pr": { type: "boolean" } },
  },
  {
    name: "silence",
    args: "--service S [--alert A] --for DURATION [--reason R]",
    summary: "suppress a service (or one alert of it) for a while; DURATION like 90s, 15m, 2h, 1d, 1h30m",
    options: {
      ...config,
      service: { type: "string" },
      alert: { type: "string" },
      for: { type: "string" },
      reason: { type: "string" },
    },
  },
  {
    name: "silences",
    args: "[--json]",
    summary: "list the silences in force",
    options: { ...config, ...json },
  },
  { name: "unsilence", args: "ID", summary: "end a silence now", ids: ["ID"], options: { ...config } },
  {
    name: "logs",
    args: "RUN_ID [--follow]",
    summary: "a run's output (agent and validation); --follow waits for more until the run ends",
    ids: ["RUN_ID"],
    options: { ...config, follow: { type: "boolean", short: "f" } },
  },
  { name: "cleanup", args: "", summary: "one maintenance pass now", options: { ...config } },
  {
    name: "hosts",
    args: "[--json]",
    summary: "each host: deployed revision, source, age, commits behind, waiting incidents",
    options: { ...config, ...json },
  },
  {
    name: "doctor",
    args: "[--json] [--probe-model]",
    summary: "check every dependency of the repair path; exit 1 on a FAIL",
    options: { ...config, ...json, "probe-model": { type: "boolean" } },
  },
];

const line = (c: Command) => `homelab-healer ${c.name}${c.args ? ` ${c.args}` : ""}`;

/** `homelab-healer --help`: every command and what it does (on the next line when the usage is long). */
export function usage(): string {
  const width = 38;
  const lines = COMMANDS.map((c) => {
    const head = `${c.name}${c.args ? ` ${c.args}` : ""}`;
    return head.length <= width
      ? `  ${head.padEnd(width)}  ${c.summary}`
      : `  ${head}\n  ${"".padEnd(width)}  ${c.summary}`;
  });
  return `usage: homelab-healer <command> [options]; homelab-healer <command> --help for one
${lines.join("\n")}
Every command takes --config FILE; else $HOMELAB_HEALER_CONFIG, else the embedded default (./.homelab-healer, PGlite).
`;
}

/** `homelab-healer COMMAND --help`. */
export function commandUsage(c: Command): string {
  const configArg = c.args.includes("--config") ? "" : " [--config FILE]";
  return `usage: ${line(c)}${configArg}\n  ${c.summary}\n`;
}

/** A command line that does not fit its command: exit 2 with this message and the command's usage. */
export class UsageError extends Error {}

export type Parsed =
  | { help: true; command: Command }
  | {
      help: false;
      command: Command;
      values: Record<string, string | boolean | undefined>;
      /** The IDs, by their name in `ids`, checked to be positive integers. */
      ids: Record<string, number>;
    };

/**
 * Parses a command's arguments strictly: an unknown flag, a missing or extra argument, or an ID that
 * is not a positive integer is a UsageError naming it. `--help` wins over everything else.
 */
export function parseCommand(name: string, argv: string[]): Parsed {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command: ${name}`);
  if (argv.includes("--help") || argv.includes("-h")) return { help: true, command };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: command.options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs names the flag ("Unknown option '--sevice'"); the usage line follows.
    throw new UsageError(`${name}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, "")}`);
  }
  const names = command.ids ?? [];
  const extra = parsed.positionals.slice(names.length);
  if (extra.length > 0) throw new UsageError(`${name}: unexpected argument: ${extra.join(" ")}`);
  const ids: Record<string, number> = {};
  names.forEach((n, i) => {
    const raw = parsed.positionals[i];
    if (raw === undefined) throw new UsageError(`${name}: ${n} is missing`);
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < 1)
      throw new UsageError(`${name}: ${n} must be a positive whole number, got "${raw}"`);
    ids[n] = v;
  });
  return { help: false, command, values: parsed.values, ids };
}
