import { withoutControlCharacters } from "./commands.js";
import { HOST_REFUSED_EXIT_CODE, REFUSED_PREFIX } from "./wire.js";

/** A text as one line: control characters as `?`, at most `max` characters. */
export function oneLine(text: string, max = 300): string {
  const line = withoutControlCharacters(text);
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The last non-empty line of ssh's stderr: its own diagnosis comes last. */
function lastLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.replace(/\r$/, "").trim());
  return lines.filter((l) => l !== "").at(-1) ?? "";
}

/** ssh's messages (OpenSSH 9/10, C locale) for a host key it cannot verify, most specific first. */
const HOST_KEY: [RegExp, string][] = [
  [/REMOTE HOST IDENTIFICATION HAS CHANGED/, "host key mismatch"],
  [/No \S+ host key is known for/, "unknown host key"],
  [/Host key verification failed/, "host key not verified"],
];

/** ssh's messages for a host it cannot reach at all. */
const UNREACHABLE =
  /Connection refused|Connection timed out|timed out during banner exchange|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known|Connection closed by|Connection reset by/;

/**
 * The one-line error for an ssh that ended without the command's own answer, or undefined when the
 * command answered (its exit code and output are the result). ssh exits 255 for its own failures; the
 * host program exits 125 with one `refused:` line when its allowlist refuses the command.
 */
export function channelError(code: number | null, stderr: string, where: string): string | undefined {
  if (code === HOST_REFUSED_EXIT_CODE) {
    const line = stderr.split("\n").find((l) => l.startsWith(REFUSED_PREFIX));
    if (line !== undefined)
      return `refused by ${where}: ${oneLine(line.slice(REFUSED_PREFIX.length).trim())}`;
    return undefined;
  }
  if (code !== 255) return undefined;
  const said = oneLine(lastLine(stderr)) || "ssh exited 255 without a message";
  for (const [re, what] of HOST_KEY) {
    if (re.test(stderr)) {
      return `${what} for ${where}: ${said}; the key must be in inspect.knownHostsFile (no trust on first use)`;
    }
  }
  if (UNREACHABLE.test(stderr)) return `host unreachable: ${where}: ${said}`;
  if (/Permission denied/.test(stderr)) {
    return `login refused by ${where}: ${said} Is inspect.sshKeyFile's public key in the host's inspectTarget.authorizedKeys?`;
  }
  // 255 with no ssh diagnosis: the remote command's own exit code (ssh passes it through).
  if (stderr.trim() === "" || !/^(ssh|kex_exchange_identification|Load key|Warning)/m.test(stderr))
    return undefined;
  return `ssh failed for ${where}: ${said}`;
}
