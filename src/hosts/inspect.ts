import type { Logger } from "pino";
import type { ConfigFile } from "../config/schema.js";
import { refusal, shownCommand } from "./commands.js";
import { channelError, oneLine } from "./ssh-errors.js";
import { runSsh } from "./ssh-run.js";
import { encodeArgv } from "./wire.js";

/** What one command through the channel gave: its output, or one line saying why there is none. */
export type InspectResult =
  | {
      ok: true;
      exitCode: number;
      stdout: string;
      stderr: string;
      bytes: number;
      ms: number;
      truncated: boolean;
    }
  | { ok: false; error: string; ms: number };

/** The read-only SSH channel to the homelab's hosts (issue 20; docs: the inspect protocol). */
export interface Inspector {
  /** Hosts configured under `hosts.*` (names as alerts carry them). */
  hosts(): string[];
  /** Runs argv on the host through the channel; never throws for channel problems. */
  run(host: string, argv: string[], opts?: { signal?: AbortSignal }): Promise<InspectResult>;
}

/** The config the channel reads: `hosts.*` and `inspect.*` (key paths already resolved by loading). */
export type InspectConfig = Pick<ConfigFile, "hosts" | "inspect">;

export interface InspectorOptions {
  /** The service's PATH, where `ssh` is found (run.ts passes it; nothing here reads the environment). */
  path?: string | undefined;
  /** The ssh program; default `ssh` from `path`. */
  ssh?: string | undefined;
  /** Between SIGTERM and SIGKILL of a timed-out ssh; default 2000. */
  killGraceMs?: number | undefined;
}

/** Where and as whom one ssh connection goes, with which key and known hosts. */
export interface SshTarget {
  keyFile: string;
  knownHostsFile: string;
  address: string;
  port: number;
  user: string;
  connectTimeoutSeconds: number;
}

/**
 * The ssh argv up to the remote words: the protocol's exact options (`-F none`: no user config
 * applies; only this key, only these host keys, never a prompt).
 */
export function sshOptions(t: SshTarget): string[] {
  return [
    "-F",
    "none",
    "-T",
    "-i",
    t.keyFile,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${t.knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `ConnectTimeout=${t.connectTimeoutSeconds}`,
    "-p",
    String(t.port),
    "-l",
    t.user,
    "--",
    t.address,
  ];
}

/** The ssh argv for one command on a configured host. */
export function sshArgv(config: InspectConfig, host: string, argv: readonly string[]): string[] {
  const h = config.hosts[host]!;
  return [
    ...sshOptions({
      keyFile: config.inspect.sshKeyFile ?? "/dev/null",
      knownHostsFile: config.inspect.knownHostsFile ?? "/dev/null",
      address: h.address,
      port: h.port,
      user: h.user,
      connectTimeoutSeconds: Math.max(1, Math.min(10, config.inspect.timeoutSeconds)),
    }),
    encodeArgv(argv),
  ];
}

/** Builds the Inspector from the config: once, in run.ts (and by doctor). */
export function createInspector(config: InspectConfig, log: Logger, opts: InspectorOptions = {}): Inspector {
  const names = Object.keys(config.hosts).sort();
  return {
    hosts: () => [...names],
    run: async (host, argv, runOpts = {}) => {
      const started = Date.now();
      if (!Object.hasOwn(config.hosts, host)) {
        const known = names.length > 0 ? names.join(", ") : "none";
        const error = `unknown host ${oneLine(host)}: the configured hosts are ${known}`;
        return { ok: false, error, ms: Date.now() - started };
      }
      const why = refusal(argv, config.inspect.commands);
      if (why !== undefined) {
        return { ok: false, error: `refused: ${why} (inspect.commands)`, ms: Date.now() - started };
      }
      return runOnHost(config, log, host, argv, { ...opts, signal: runOpts.signal });
    },
  };
}

/**
 * Runs argv on a configured host without the local allowlist check: doctor uses it to see that the
 * host refuses on its own. Everything else goes through `Inspector.run`.
 */
export async function runOnHost(
  config: InspectConfig,
  log: Logger,
  host: string,
  argv: string[],
  opts: InspectorOptions & { signal?: AbortSignal | undefined },
): Promise<InspectResult> {
  const started = Date.now();
  const ms = () => Date.now() - started;
  const ran = await runSsh(opts.ssh ?? "ssh", sshArgv(config, host, argv), {
    path: opts.path,
    timeoutMs: config.inspect.timeoutSeconds * 1000,
    maxBytes: config.inspect.maxOutputBytes,
    killGraceMs: opts.killGraceMs ?? 2000,
    signal: opts.signal,
  });
  const h = config.hosts[host]!;
  const where = `${host} (${h.address}:${h.port})`;
  if (ran.spawnError !== undefined)
    return { ok: false, error: `cannot start ssh: ${ran.spawnError}`, ms: ms() };
  if (ran.ended === "aborted")
    return { ok: false, error: `cancelled: ${shownCommand(argv)} on ${host}`, ms: ms() };
  if (ran.ended === "timeout") {
    const error = `timed out after ${config.inspect.timeoutSeconds}s (inspect.timeoutSeconds): ${shownCommand(argv)} on ${where}`;
    return { ok: false, error, ms: ms() };
  }
  const stdout = ran.stdout.toString("utf8");
  const stderr = ran.stderr.toString("utf8");
  if (!ran.truncated) {
    const error = channelError(ran.code, stderr, where);
    if (error !== undefined) {
      log.debug({ host, code: ran.code }, `inspect channel error: ${error}`);
      return { ok: false, error, ms: ms() };
    }
  }
  const limit = `output cut at ${config.inspect.maxOutputBytes} bytes (inspect.maxOutputBytes); narrow the command (e.g. journalctl -n, --since)`;
  const sep = stderr === "" || stderr.endsWith("\n") ? "" : "\n";
  return {
    ok: true,
    // Cut for its size, its own exit code is unknown: 141 (128 + SIGPIPE) is what a shell reports
    // for a command whose reader stopped reading, as in `cmd | head -c N`.
    exitCode: ran.truncated ? 141 : (ran.code ?? 141),
    stdout,
    stderr: ran.truncated ? `${stderr}${sep}inspect: ${limit}\n` : stderr,
    bytes: ran.stdout.length + ran.stderr.length,
    ms: ms(),
    truncated: ran.truncated,
  };
}
