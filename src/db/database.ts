import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import type { Database } from "./tables.js";
import { CONNECTION_LIMITS } from "./unavailable.js";

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

/** The lifelong 'error' listener of every pooled client (see openDatabase). */
function ignoreClientError(): void {}

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
    ...CONNECTION_LIMITS,
  });
  // An idle client's error (server restart) is handed to the pool, which drops the client; the
  // next query connects again. Without a listener, that 'error' event would end the process.
  pool.on("error", () => {});
  // pg-pool listens for errors on idle clients only. A client checked out (in a transaction, the
  // worker, a maintenance pass) that hears the server go away emits 'error' with nobody listening,
  // and Node ends the process. So every client gets a listener for its whole life, from the moment
  // the pool hands it out. The failure itself reaches the caller as its query's rejection (the
  // query in flight, or the next one: the client is no longer queryable and is dropped at release).
  pool.on("connect", (client) => {
    client.on("error", ignoreClientError);
  });
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
