import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { inject } from "vitest";
import { type Db, openDatabase } from "../../src/db/database.js";
import { adminUrl, dropDatabase, urlFor } from "./pg-admin.js";

export interface TestDatabase {
  db: Db;
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database on the real PostgreSQL server, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `healer_t_${randomBytes(5).toString("hex")}`;
  const admin = openDatabase(adminUrl(), { max: 1 });
  try {
    await sql.raw(`CREATE DATABASE "${name}" TEMPLATE "${inject("templateDatabase")}"`).execute(admin);
  } finally {
    await admin.destroy();
  }
  const url = urlFor(name);
  const db = openDatabase(url);
  return {
    db,
    url,
    name,
    async drop() {
      await db.destroy();
      const a = openDatabase(adminUrl(), { max: 1 });
      try {
        await dropDatabase(a, name);
      } finally {
        await a.destroy();
      }
    },
  };
}
