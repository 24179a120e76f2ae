import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import type { Database } from "./tables.js";

export type Db = Kysely<Database>;

const pools = new WeakMap<Db, pg.Pool>();

/**
 * The pg pool behind a PostgreSQL database (none for PGlite), for the few statements worth sending
 * by name (pg's `{ name, text, values }`: parsed and planned once per connection). Kysely sends
 * every statement unnamed.
 */
export function poolOf(db: Db): pg.Pool | undefined {
  return pools.get(db);
}

// bigint (int8) and bigserial ids as numbers, not strings: ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** Opens the database named by a `postgres://`, `postgresql://` or `pglite://DIR` URL. */
export function openDatabase(url: string, opts: { max?: number } = {}): Db {
  if (url.startsWith("pglite://")) {
    const dir = url.slice("pglite://".length);
    if (dir !== "" && dir !== "memory") mkdirSync(dir, { recursive: true });
    const pglite = new PGlite(dir === "" || dir === "memory" ? undefined : dir, {
      parsers: { 20: (v: string) => Number.parseInt(v, 10) },
    });
    return new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
  });
  // An idle client's error (server restart) must not crash the process: the next query reconnects.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** True when the database answers a trivial query. */
export async function isReachable(db: Db): Promise<boolean> {
  try {
    await db.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
    return true;
  } catch {
    return false;
  }
}
