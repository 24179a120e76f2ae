import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

export interface AlertmanagerProcess {
  pid: number;
  url: string;
  version: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (Alertmanager cannot be told to take port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Alertmanager on 127.0.0.1 with one route to a receiver that sends nothing, no cluster. */
export async function startAlertmanager(dir: string): Promise<AlertmanagerProcess> {
  const config = join(dir, "alertmanager.yml");
  writeFileSync(config, 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, "alertmanager-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`alertmanager not ready within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = (await (await fetch(`${url}/api/v2/status`)).json()) as {
    versionInfo?: { version?: string };
  };
  return {
    pid: child.pid!,
    url,
    version: status.versionInfo?.version ?? "unknown",
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
