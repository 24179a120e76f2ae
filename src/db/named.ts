import { CompiledQuery } from "kysely";
import { type Db, poolOf } from "./database.js";

/**
 * Runs a hot statement. On PostgreSQL it goes by name, so each connection parses and plans it once
 * and then only binds and runs it: planning these statements is about half of the server's work
 * for a small batch, and their plans cannot depend on the values (lists travel as JSON, whose row
 * count the planner does not know anyway). PGlite runs it unnamed.
 */
export async function runNamed<R>(db: Db, name: string, text: string, values: unknown[]): Promise<R[]> {
  const pool = poolOf(db);
  if (pool) return (await pool.query({ name, text, values })).rows as R[];
  return (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
}
