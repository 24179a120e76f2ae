import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/*
 * The agent's `inspect <host> <command> [args…]`. Inside the sandbox there is no network (egress
 * allowlist mode) and no guarantee of socat, nc or python, but there is the service's own node: the
 * whole host root is bound read-only, and the egress forwarder already runs with it (process.execPath).
 * So the client is a few lines of plain JavaScript run by that node, speaking one JSON line to the
 * run's broker socket, in front of a /bin/sh wrapper (sh is on every NixOS and Debian host, and the
 * agent's bash tool needs a shell anyway) that names node, the script and the socket by absolute path:
 * nothing depends on the agent's PATH or environment.
 */

/** The client: `node inspect.cjs <socket> <host> <command> [args…]`; exit code = the command's. */
export const CLIENT_SOURCE = `"use strict";
// homelab-healer's inspect client (generated per run): asks the run's broker to run a command on a host.
const net = require("node:net");
const [socketPath, host, ...argv] = process.argv.slice(2);
const fail = (message) => {
  process.stderr.write("inspect: " + String(message).split("\\n")[0] + "\\n");
  process.exit(125);
};
if (!host || argv.length === 0) fail("usage: inspect <host> <command> [args...]");
const s = net.connect(socketPath);
let got = "";
s.setEncoding("utf8");
s.on("connect", () => s.write(JSON.stringify({ host, argv }) + "\\n"));
s.on("data", (d) => (got += d));
s.on("error", (e) => fail("cannot reach the inspection broker: " + e.message));
s.on("end", () => {
  let a;
  try {
    a = JSON.parse(got);
  } catch {
    fail("the inspection broker gave no answer");
  }
  if (typeof a !== "object" || a === null) fail("the inspection broker gave no answer");
  if (typeof a.error === "string") fail(a.error);
  const out = a.stdout ?? "";
  process.stdout.write(out);
  if (a.truncated === true && out !== "" && !out.endsWith("\\n")) process.stdout.write("\\n");
  // Output cut at inspect.maxOutputBytes: the notice (on stderr) follows the output on stdout, in one
  // ordered stream. An agent reading both pipes (OpenCode's bash tool) could otherwise get it before
  // the output's end and drop it with its own truncation of long output, which keeps the tail.
  (a.truncated === true ? process.stdout : process.stderr).write(a.stderr ?? "");
  process.exitCode = Number.isInteger(a.exitCode) ? a.exitCode : 125;
});
`;

/** A text as one single-quoted sh word. */
function shQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The files of the client, to bind read-only into the sandbox; `binDir` goes first on the agent's PATH. */
export interface InspectClient {
  binDir: string;
  files: string[];
}

/** Writes `binDir/inspect` (sh wrapper) and `binDir/inspect.cjs` (the client) for one run. */
export function writeInspectClient(binDir: string, socketPath: string, node: string): InspectClient {
  mkdirSync(binDir, { recursive: true, mode: 0o700 });
  const script = join(binDir, "inspect.cjs");
  const wrapper = join(binDir, "inspect");
  writeFileSync(script, CLIENT_SOURCE);
  writeFileSync(
    wrapper,
    `#!/bin/sh\n# homelab-healer: inspect <host> <command> [args...] through this run's broker (read-only, audited).\nexec ${shQuote(node)} ${shQuote(script)} ${shQuote(socketPath)} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  return { binDir, files: [wrapper, script] };
}
