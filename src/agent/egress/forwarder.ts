/** The port the forwarder listens on, on the sandbox's own loopback (a fresh namespace: always free). */
export const SANDBOX_PROXY_PORT = 3128;

/**
 * The forwarder that runs first inside the sandbox, as `node -e FORWARDER_SOURCE -- <socket>
 * <port> <command> [args…]`: it listens on 127.0.0.1:<port> of the sandbox's loopback and pipes every
 * connection to the egress proxy's Unix socket, then starts the agent (stdio inherited) and ends with
 * its exit status. Plain JavaScript run by the service's own node, so it works from the sources and
 * from the built package alike and needs nothing installed. It writes nothing to stdout: that is the
 * agent's event stream.
 */
export const FORWARDER_SOURCE = `"use strict";
const net = require("node:net");
const { spawn } = require("node:child_process");
const [socketPath, portText, command, ...args] = process.argv.slice(1);
const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});
server.on("error", (e) => {
  process.stderr.write("homelab-healer egress forwarder: " + e.message + "\\n");
  process.exit(125);
});
server.listen(Number(portText), "127.0.0.1", () => {
  const child = spawn(command, args, { stdio: "inherit" });
  const relay = (sig) => child.kill(sig);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, relay);
  child.on("error", (e) => {
    process.stderr.write("homelab-healer egress forwarder: cannot start " + command + ": " + e.message + "\\n");
    process.exit(127);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.off(sig, relay);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
});
`;

/** The command line that starts `command args` behind the forwarder. */
export function forwarderArgv(
  node: string,
  socketPath: string,
  command: string,
  args: string[],
): { command: string; args: string[] } {
  return {
    command: node,
    args: ["-e", FORWARDER_SOURCE, "--", socketPath, String(SANDBOX_PROXY_PORT), command, ...args],
  };
}

/** The agent's proxy variables: every client's spelling (curl reads only lower-case http_proxy). */
export function proxyEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${SANDBOX_PROXY_PORT}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    // Nothing bypasses the proxy: there is no other way out of the sandbox.
    NO_PROXY: "",
    no_proxy: "",
  };
}
