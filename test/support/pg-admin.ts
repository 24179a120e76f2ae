import { sql } from "kysely";
import type { Db } from "../../src/db/database.js";

/**
 * The PostgreSQL server the tests use: $TEST_DATABASE_URL (the CI's throwaway database), else the
 * local server with trust auth. Test databases are created next to it.
 */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** The URL of another database on the same server. */
export function urlFor(database: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${database}`;
  return u.toString();
}

export async function dropDatabase(admin: Db, name: string): Promise<void> {
  await sql.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).execute(admin);
}
