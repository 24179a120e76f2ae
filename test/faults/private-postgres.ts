import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "kysely";
import { freePort } from "../../bench/alertmanager.js";
import { openDatabase } from "../../src/db/database.js";

const BIN = "/usr/lib/postgresql/15/bin";
const execFileAsync = promisify(execFile);

/** How pg_ctl stops the server: `fast` cuts connections cleanly, `immediate` is a crash (recovery at start). */
export type StopMode = "fast" | "immediate";

/** A throwaway PostgreSQL cluster of our own: stopping it disturbs no other test. */
export interface PrivatePostgres {
  url(database: string): string;
  /** Starts the server and resolves once it accepts connections (pg_ctl -w). */
  start(): Promise<void>;
  /** Stops the server (default `fast`); connections are cut, as when the server goes down. */
  stop(mode?: StopMode): Promise<void>;
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

/**
 * initdb + pg_ctl on a free port, as the postgres user when we are root (root cannot run postgres);
 * with `database`, that database is created in it.
 */
export async function startPrivatePostgres(database?: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "healer-pg-"));
  const asRoot = userInfo().uid === 0;
  const pgUid = asRoot ? Number(execFileSync("id", ["-u", "postgres"]).toString().trim()) : 0;
  const pgGid = asRoot ? Number(execFileSync("id", ["-g", "postgres"]).toString().trim()) : 0;
  if (asRoot) chownSync(dir, pgUid, pgGid);
  const argv = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const data = join(dir, "data");
  execFileSync(
    ...argv(join(BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
    { stdio: ["ignore", "pipe", "pipe"], cwd: dir },
  );
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30`;
  const ctlArgs = (args: string[]) => ["-D", data, "-w", "-t", "30", ...args];
  // Asynchronous: a caller keeping up load meanwhile (the restart fault test) must not be frozen.
  const pgCtl = async (args: string[]) => {
    await execFileAsync(...argv(join(BIN, "pg_ctl"), ctlArgs(args)), { cwd: dir });
  };
  const pgCtlSync = (args: string[]) =>
    execFileSync(...argv(join(BIN, "pg_ctl"), ctlArgs(args)), {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: dir,
    });
  const startArgs = ["-o", options, "-l", join(dir, "server.log"), "start"];
  pgCtlSync(startArgs);
  if (database) {
    const admin = openDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 });
    try {
      await sql.raw(`CREATE DATABASE "${database}"`).execute(admin);
    } finally {
      await admin.destroy();
    }
  }
  return {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: () => pgCtl(startArgs),
    stop: (mode = "fast") => pgCtl(["-m", mode, "stop"]),
    destroy() {
      try {
        pgCtlSync(["-m", "immediate", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
