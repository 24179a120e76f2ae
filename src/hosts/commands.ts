/**
 * What `inspect <host> …` may run (`inspect.commands`), and the check the broker makes before any
 * SSH connection. The host checks again with its own list (share/inspect/homelab-healer-inspect):
 * this side only spares a round trip and keeps refused text out of the channel.
 */

/** The default allowlist: read-only commands; the same list the target module defaults to. */
export const DEFAULT_INSPECT_COMMANDS: readonly string[] = [
  "journalctl *",
  "systemctl status *",
  "systemctl show *",
  "systemctl cat *",
  "systemctl list-units *",
  "systemctl list-units",
  "systemctl is-failed *",
  "findmnt",
  "findmnt *",
  "stat *",
  "ls",
  "ls *",
  "id",
  "id *",
  "getent passwd *",
  "getent group *",
  "df",
  "df *",
  "nixos-version",
  "nixos-version *",
];

/** Bytes 0x00–0x1f and 0x7f: newline, tab, ESC… never part of an inspected argument. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point.
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A host name as alerts carry it: not empty, no whitespace or control characters. */
export function isHostName(name: string): boolean {
  return name !== "" && !/\s/.test(name) && !hasControlCharacter(name);
}

/**
 * A name for `hosts.<name>`: letters, digits and `._:@%+-` (what alerts' host labels hold), so it is
 * literal inside the lane's bash patterns (no `*`, `?`, quotes or shell syntax).
 */
export function isConfigHostName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._:@%+-]*$/.test(name);
}

/** Whether a text contains a control character. */
export function hasControlCharacter(text: string): boolean {
  return text.search(CONTROL) >= 0;
}

/** A text with every control character shown as `?`. */
export function withoutControlCharacters(text: string): string {
  return text.replace(CONTROL, "?");
}

/**
 * OpenCode's bash wildcard as the inspection contract defines it: `*` any run of characters (spaces
 * and `/` too), `?` one character, everything else literal, the whole text must match. Unlike
 * OpenCode itself, a trailing ` *` is not optional (`ls *` does not match a bare `ls`): the host's
 * program matches that way, and the broker must never allow what the host refuses.
 */
export function wildcardMatch(text: string, pattern: string): boolean {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += "[\\s\\S]*";
    else if (ch === "?") source += "[\\s\\S]";
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "u").test(text);
}

/** The command string of an argv, as the patterns see it: arguments joined by one space. */
export function commandString(argv: readonly string[]): string {
  return argv.join(" ");
}

/** The text of a command fit for a one-line message: control characters shown as `?`. */
export function shownCommand(argv: readonly string[]): string {
  return withoutControlCharacters(commandString(argv));
}

/**
 * Why an argv may not run, or undefined when it may: no command, a control character in an argument
 * (numbered from 1, as the host numbers them), or no pattern matching its command string.
 */
export function refusal(argv: readonly string[], patterns: readonly string[]): string | undefined {
  if (argv.length === 0 || argv[0] === "") return "no command";
  const bad = argv.findIndex((a) => hasControlCharacter(a));
  if (bad >= 0) return `control character in argument ${bad + 1}`;
  const text = commandString(argv);
  if (!patterns.some((p) => wildcardMatch(text, p))) return `command not allowed: ${shownCommand(argv)}`;
  return undefined;
}
