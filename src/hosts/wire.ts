/* The wire between the broker and the host program (the inspection protocol, issue 20). */

/** The exit code by which the host program says it refused the command. */
export const HOST_REFUSED_EXIT_CODE = 125;

/** How the host program's one refusal line on stderr starts. */
export const REFUSED_PREFIX = "homelab-healer-inspect: refused:";

/**
 * One argv as the host program reads it from `SSH_ORIGINAL_COMMAND`: each argument base64 (RFC 4648,
 * padded), joined by one space, `-` for an empty argument. No shell on either side ever reads the
 * agent's text: on the wire it is never anything but base64.
 */
export function encodeArgv(argv: readonly string[]): string {
  return argv.map((a) => (a === "" ? "-" : Buffer.from(a, "utf8").toString("base64"))).join(" ");
}
