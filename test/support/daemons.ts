import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** Where Debian's packages put the real homelab chain (`.ci/run` installs them). */
export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

/** A daemon this test process started: stopped by its PID. */
export interface Daemon {
  pid: number;
  url: string;
  /** The last 4,000 characters of its stderr, for failure messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface AlertmanagerProcess extends Daemon {
  version: string;
}

/** The missing binaries among `bins` (empty when all are installed). */
export function missingBinaries(...bins: string[]): string[] {
  return bins.filter((bin) => !existsSync(bin));
}

/** A free TCP port on 127.0.0.1 (Prometheus and Alertmanager cannot take port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns `bin` listening on `port` and waits (up to 20 s) until `GET /-/ready` answers 200. */
export async function startDaemon(bin: string, args: string[], port: number): Promise<Daemon> {
  const child: ChildProcess = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${bin} did not start: ${stderr}`);
  const daemon: Daemon = {
    pid,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal(pid, "SIGTERM");
      const timer = setTimeout(() => signal(pid, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${bin} exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${daemon.url}/-/ready`)).ok) return daemon;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      await daemon.stop();
      throw new Error(`${bin} not ready within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/**
 * Alertmanager on 127.0.0.1 with `config` (YAML; default: one receiver that sends nothing) and no
 * cluster: without `--cluster.listen-address=` it gossips on 0.0.0.0:9094.
 */
export async function startAlertmanager(
  dir: string,
  config = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n',
): Promise<AlertmanagerProcess> {
  const file = join(dir, "alertmanager.yml");
  writeFileSync(file, config);
  const port = await freePort();
  const daemon = await startDaemon(
    ALERTMANAGER_BIN,
    [
      `--config.file=${file}`,
      `--storage.path=${join(dir, "alertmanager-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    port,
  );
  const status = (await (await fetch(`${daemon.url}/api/v2/status`)).json()) as {
    versionInfo?: { version?: string };
  };
  return { ...daemon, version: status.versionInfo?.version ?? "unknown" };
}

/** Prometheus on 127.0.0.1 with `config` (YAML, written to dir/prometheus.yml) and its TSDB in dir. */
export async function startPrometheus(dir: string, config: string): Promise<Daemon> {
  const file = join(dir, "prometheus.yml");
  writeFileSync(file, config);
  const port = await freePort();
  return await startDaemon(
    PROMETHEUS_BIN,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    port,
  );
}
