import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { DEFAULT_INSPECT_COMMANDS } from "../../src/hosts/commands.js";
import { encodeArgv, installInspectProgram, type SshResult } from "../support/sshd.js";

/*
 * What both inspect-target test files share: a directory with the host program and its commands
 * file, a scratch directory the target user can write (so a marker's absence means nothing ran,
 * not that it could not), the refused cases and the check of a refusal.
 */

/** One test's inspected-host files. */
export interface Target {
  dir: string;
  scratch: string;
  /** Must never appear: every refused case would create it if it ran. */
  marker: string;
  /** Must survive: `rm -rf` of it is refused. */
  victim: string;
  /** `<program> <commands file>`, for authorized_keys. */
  forcedCommand: string;
  remove(): void;
}

export interface Refusal {
  name: string;
  /** What arrives in SSH_ORIGINAL_COMMAND. */
  wire: string;
  /** The refusal line after `homelab-healer-inspect: refused: `. */
  reason: RegExp;
}

/** The default allowlist (protocol) plus what these tests need to see effects. */
const commands = (scratch: string): string[] => [
  "# the protocol's defaults",
  ...DEFAULT_INSPECT_COMMANDS,
  "",
  "# for the tests: output of exact arguments, a literal bracket, and a write the refusals must not do",
  "printf *",
  "cat [ab]",
  `touch ${scratch}/control-?`,
];

/** Makes the program, its commands file, the scratch directory and the victim file. */
export function createTarget(prefix: string): Target {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const scratch = join(dir, "scratch");
  mkdirSync(scratch);
  chmodSync(scratch, 0o777);
  const victim = join(scratch, "victim");
  writeFileSync(victim, "still here\n", { mode: 0o666 });
  return {
    dir,
    scratch,
    marker: join(scratch, "pwned"),
    victim,
    forcedCommand: installInspectProgram(dir, commands(scratch)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** What arrives at the target for each refused case (argv, or raw SSH_ORIGINAL_COMMAND). */
export function refusalsFor({ marker, victim }: Target): Refusal[] {
  return [
    {
      name: "rm -rf on a file the target user may delete",
      wire: encodeArgv(["rm", "-rf", victim]),
      reason: /^command not allowed: rm -rf /,
    },
    {
      name: "journalctl -u x; touch <marker> (split by a shell)",
      wire: encodeArgv(["journalctl", "-u", "x;", "touch", marker]),
      reason: /^shell syntax in argument 3: journalctl -u x; touch /,
    },
    {
      name: "journalctl -u x; touch <marker> (as one argument)",
      wire: encodeArgv(["journalctl", "-u", `x; touch ${marker}`]),
      reason: /^shell syntax in argument 3: /,
    },
    {
      name: "the whole command line as argv[0], which the joined string would let pass as journalctl *",
      wire: encodeArgv([`journalctl -u x touch ${marker}`]),
      reason: /^command not allowed: journalctl -u x touch /,
    },
    {
      name: 'journalctl -u "$(touch <marker>)" as a literal argument',
      wire: encodeArgv(["journalctl", "-u", `$(touch ${marker})`]),
      reason: /^shell syntax in argument 3: journalctl -u \$\(touch /,
    },
    {
      name: "a redirection into the marker",
      wire: encodeArgv(["ls", ">", marker]),
      reason: /^shell syntax in argument 2: ls > /,
    },
    {
      name: "a pipe, even as a journalctl --grep alternation (the price of the rule)",
      wire: encodeArgv(["journalctl", "--grep", "timeout|failed"]),
      reason: /^shell syntax in argument 3: journalctl --grep timeout\|failed$/,
    },
    {
      name: "a background & and a parameter expansion in braces",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${…}, sent as a literal.
      wire: encodeArgv(["ls", "&", "${HOME}"]),
      reason: /^shell syntax in argument 2: ls & \$\{HOME\}$/,
    },
    {
      name: "a backquoted touch",
      wire: encodeArgv(["ls", `\`touch ${marker}\``]),
      reason: /^shell syntax in argument 2: /,
    },
    {
      name: "an argument with a newline",
      wire: encodeArgv(["ls", `x\ntouch ${marker}`]),
      reason: /^control character in argument 2: ls x\?touch /,
    },
    {
      name: "an argument with a NUL byte",
      wire: encodeArgv(["ls", `x\0y`]),
      reason: /^control character in argument 2: /,
    },
    {
      name: "an argument ending in a newline (which command substitution would strip)",
      wire: encodeArgv(["ls", "x\n"]),
      reason: /^control character in argument 2: ls x\?$/,
    },
    { name: "a word that is not base64", wire: `touch ${marker}`, reason: /^not base64: word 1$/ },
    {
      name: "base64 without its padding",
      wire: `${encodeArgv(["ls"])} ${Buffer.from("a").toString("base64").replace(/=+$/, "")}`,
      reason: /^not base64: word 2$/,
    },
    {
      name: "two spaces (an empty word)",
      wire: `${encodeArgv(["ls"])}  ${encodeArgv(["x"])}`,
      reason: /^not base64: word 2$/,
    },
    { name: "an empty command", wire: "", reason: /^no command$/ },
    {
      name: "more than 128 arguments (each would cost the host a process)",
      wire: encodeArgv(["ls", ...Array.from({ length: 200 }, () => "a")]),
      reason: /^too many arguments: 201, at most 128$/,
    },
    {
      name: "more than 16384 encoded bytes",
      wire: encodeArgv(["ls", "a".repeat(13_000)]),
      reason: /^command too long: 17341 bytes encoded, at most 16384$/,
    },
    {
      name: "a pattern's [ is literal: cat a does not match `cat [ab]`",
      wire: encodeArgv(["cat", "a"]),
      reason: /^command not allowed: cat a$/,
    },
    {
      name: "a bare command where only `name *` is listed",
      wire: encodeArgv(["journalctl"]),
      reason: /^command not allowed: journalctl$/,
    },
    {
      name: "a path as the command",
      wire: encodeArgv(["/bin/ls"]),
      reason: /^command not allowed: \/bin\/ls$/,
    },
    {
      name: "a touch the list allows only for other names",
      wire: encodeArgv(["touch", marker]),
      reason: /^command not allowed: touch /,
    },
  ];
}

/** Checks a refusal: exit 125, nothing on stdout, exactly one line on stderr, nothing ran. */
export function expectRefused(target: Target, result: SshResult, reason: RegExp): void {
  expect(result.code, result.stderr).toBe(125);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n");
  expect(lines, result.stderr).toHaveLength(2);
  expect(lines[1]).toBe("");
  const prefix = "homelab-healer-inspect: refused: ";
  expect(lines[0]?.startsWith(prefix), lines[0]).toBe(true);
  expect(lines[0]?.slice(prefix.length)).toMatch(reason);
  expect(existsSync(target.marker)).toBe(false);
  expect(existsSync(target.victim)).toBe(true);
}
