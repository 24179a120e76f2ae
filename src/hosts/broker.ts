import { rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { shownCommand } from "./commands.js";
import type { Inspector } from "./inspect.js";
import { oneLine } from "./ssh-errors.js";

/** One command the agent sent through the run's broker, as the audit trail records it. */
export interface InspectedCommand {
  host: string;
  argv: string[];
  /** The command's exit code; null when the channel gave an error instead. */
  exitCode: number | null;
  /** Output bytes (stdout + stderr) the broker got. */
  bytes: number;
  ms: number;
  truncated: boolean;
  /** The one-line channel error (unknown host, refused, unreachable, host key, timed out). */
  error?: string;
}

/** The broker's answer on the wire: one JSON line. */
export type BrokerAnswer =
  | { exitCode: number; stdout: string; stderr: string; truncated?: true }
  | { error: string };

export interface BrokerOptions {
  /** Where to listen (a Unix socket in the run dir; bound read-only into the sandbox). */
  socketPath: string;
  inspector: Inspector;
  /** Records the command (an `inspected` incident event); best effort, awaited before the answer. */
  onInspected: (c: InspectedCommand) => Promise<void>;
  /** A line for the run log. */
  note: (line: string) => void;
}

export interface InspectBroker {
  socketPath: string;
  /** Stops listening, cancels commands in flight, removes the socket. */
  close(): Promise<void>;
}

/** Where a run's broker socket lives: in the run dir, hidden from other runs. */
export function inspectSocketPath(runDir: string): string {
  return join(runDir, "inspect.sock");
}

/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

/** Commands of one run on the hosts at once; more wait their turn. */
const MAX_IN_FLIGHT = 4;

/** At most `limit` tasks at once, the rest in arrival order. */
class Turns {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((go) => this.waiting.push(go));
    else this.running++;
    try {
      return await task();
    } finally {
      // A finished task hands its slot straight to the next in line, so none can slip in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** A request line longer than this is refused: an argv never needs it, and memory stays bounded. */
const MAX_REQUEST_BYTES = 64 * 1024;

/** The request `{host, argv}`, or the reason it is not one. */
export function parseRequest(line: string): { host: string; argv: string[] } | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return "the request is not JSON";
  }
  const r = v as { host?: unknown; argv?: unknown };
  if (typeof v !== "object" || v === null || typeof r.host !== "string") return "the request has no host";
  if (!Array.isArray(r.argv) || !r.argv.every((a) => typeof a === "string")) {
    return "the request's argv is not a list of strings";
  }
  return { host: r.host, argv: r.argv as string[] };
}

/** The run-log line of one command. */
export function logLine(c: InspectedCommand): string {
  const what = `inspect ${oneLine(c.host, 100)} ${shownCommand(c.argv)}`;
  if (c.error !== undefined) return `${what}: ${c.error} (${c.ms} ms)`;
  return `${what}: exit ${c.exitCode}, ${c.bytes} bytes${c.truncated ? " (cut)" : ""}, ${c.ms} ms`;
}

/**
 * The run's inspection broker: a Unix socket speaking one JSON line each way per connection
 * (`{host, argv}` → `{exitCode, stdout, stderr}` or `{error}`). The Inspector checks the host and
 * the argv and runs it over SSH; every request, refused ones too, is recorded and logged.
 */
export async function startInspectBroker(opts: BrokerOptions): Promise<InspectBroker> {
  if (Buffer.byteLength(opts.socketPath) > MAX_SOCKET_PATH) {
    throw new Error(
      `the inspection socket path ${opts.socketPath} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter stateDir`,
    );
  }
  const open = new Set<Socket>();
  const stop = new AbortController();
  // Background jobs (`inspect … &`) must not open a flood of SSH sessions on the homelab's hosts.
  const turns = new Turns(MAX_IN_FLIGHT);

  const answer = async (s: Socket, line: string) => {
    const req = parseRequest(line);
    let reply: BrokerAnswer;
    if (typeof req === "string") {
      reply = { error: `bad request: ${req}` };
      opts.note(`inspect: ${reply.error}`);
    } else {
      const r = await turns.run(() => opts.inspector.run(req.host, req.argv, { signal: stop.signal }));
      const c: InspectedCommand = r.ok
        ? { ...req, exitCode: r.exitCode, bytes: r.bytes, ms: r.ms, truncated: r.truncated }
        : { ...req, exitCode: null, bytes: 0, ms: r.ms, truncated: false, error: r.error };
      opts.note(logLine(c));
      await opts.onInspected(c).catch(() => undefined);
      reply = r.ok
        ? {
            exitCode: r.exitCode,
            stdout: r.stdout,
            stderr: r.stderr,
            ...(r.truncated ? { truncated: true } : {}),
          }
        : { error: r.error };
    }
    if (!s.destroyed) s.end(`${JSON.stringify(reply)}\n`);
  };

  const server = createServer((s) => {
    open.add(s);
    s.once("close", () => open.delete(s));
    s.on("error", () => s.destroy());
    let buf = "";
    let taken = false;
    s.setEncoding("utf8");
    s.on("data", (chunk: string) => {
      if (taken) return;
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0 && Buffer.byteLength(buf) <= MAX_REQUEST_BYTES) return;
      taken = true;
      if (nl < 0) return void s.end(`${JSON.stringify({ error: "bad request: longer than 64 KiB" })}\n`);
      answer(s, buf.slice(0, nl)).catch(() => s.destroy());
    });
  });
  server.on("error", () => undefined);
  rmSync(opts.socketPath, { force: true });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.socketPath, () => {
      server.off("error", fail);
      ok();
    });
  });
  return {
    socketPath: opts.socketPath,
    close: async () => {
      stop.abort();
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      for (const s of open) s.destroy();
      await closed;
      rmSync(opts.socketPath, { force: true });
    },
  };
}
