import { accessSync, constants, mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { redactUrl } from "../config/load.js";
import { type Db, openDatabase } from "../db/database.js";
import { migrationStatus } from "../db/migrate.js";
import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

const GIB = 1024 ** 3;

/** The database answers and its migrations are this program's; the state dir is writable and has room. */
export const databaseChecks: CheckGroup = async (ctx) => [await database(ctx), stateDir(ctx.config.stateDir)];

async function database(ctx: Parameters<CheckGroup>[0]): Promise<CheckResult> {
  const url = ctx.config.databaseUrl;
  const shown = redactUrl(url);
  if (url.startsWith("pglite://") && ctx.db === undefined) {
    // PGlite admits one process: while serve runs, opening it here would corrupt it.
    return ok(
      "database",
      `PGlite in ${url.slice("pglite://".length)} (embedded; serve opens and migrates it)`,
    );
  }
  const db: Db = ctx.db ?? openDatabase(url, { max: 1 });
  try {
    try {
      await db.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
    } catch (e) {
      return fail(
        "database",
        `cannot reach ${shown}: ${(e as Error).message}`,
        "start PostgreSQL, or correct database.url (the service connects as its own user over /run/postgresql)",
      );
    }
    const { applied, pending } = await migrationStatus(db as never);
    if (pending.length > 0) {
      return warn(
        "database",
        `${shown} reachable; ${pending.length} migration(s) pending: ${pending.join(", ")}`,
        "serve applies them at start; or run `homelab-healer migrate`",
      );
    }
    return ok("database", `${shown} reachable; migrations current (${applied.length} applied)`);
  } catch (e) {
    return fail("database", `${shown}: ${(e as Error).message}`, "check database.url and the role's rights");
  } finally {
    if (ctx.db === undefined) await db.destroy().catch(() => undefined);
  }
}

function stateDir(dir: string): CheckResult {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    return fail(
      "stateDir",
      `${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      "set stateDir to a directory the service's user owns (NixOS: StateDirectory does it)",
    );
  }
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  const shown = `${(free / GIB).toFixed(1)} GiB free`;
  if (free < GIB) {
    return warn(
      "stateDir",
      `${dir} writable, only ${shown}`,
      "free space there: every run makes a worktree of the repo and keeps its logs",
    );
  }
  return ok("stateDir", `${dir} writable, ${shown}`);
}
