import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "../../bench/alertmanager.js";

const BIN = "/usr/lib/postgresql/15/bin";

/** A throwaway PostgreSQL cluster of our own: stopping it disturbs no other test. */
export interface PrivatePostgres {
  url(database: string): string;
  start(): void;
  /** Fast shutdown: connections are cut, as when the server goes down. */
  stop(): void;
  destroy(): void;
}

/** Why a private cluster cannot run here, or undefined when it can. */
export function privatePostgresUnavailable(): string | undefined {
  if (!existsSync(join(BIN, "initdb"))) return `no ${BIN}/initdb (PostgreSQL 15 server binaries)`;
  if (userInfo().uid === 0) {
    try {
      execFileSync("id", ["postgres"], { stdio: "ignore" });
    } catch {
      return "running as root and there is no postgres user to run the server as";
    }
  }
  return undefined;
}

/** initdb + pg_ctl on a free port, as the postgres user when we are root (root cannot run postgres). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "healer-pg-"));
  const asRoot = userInfo().uid === 0;
  const pgUid = asRoot ? Number(execFileSync("id", ["-u", "postgres"]).toString().trim()) : 0;
  const pgGid = asRoot ? Number(execFileSync("id", ["-g", "postgres"]).toString().trim()) : 0;
  if (asRoot) chownSync(dir, pgUid, pgGid);
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? "runuser" : cmd, asRoot ? ["-u", "postgres", "--", cmd, ...args] : args, {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: dir,
    });
  const data = join(dir, "data");
  run(join(BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30`;
  const pgCtl = (args: string[]) => run(join(BIN, "pg_ctl"), ["-D", data, "-w", "-t", "30", ...args]);
  const start = () => pgCtl(["-o", options, "-l", join(dir, "server.log"), "start"]);
  start();
  return {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start,
    stop: () => pgCtl(["-m", "fast", "stop"]),
    destroy() {
      try {
        pgCtl(["-m", "immediate", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
