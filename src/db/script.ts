import { type Kysely, sql } from "kysely";

/**
 * Runs a SQL script one statement at a time (a statement ends with `;` at the end of a line):
 * PGlite's and pg's extended protocol take one statement per query.
 */
export async function runScript(db: Kysely<unknown>, script: string): Promise<void> {
  const statements = script
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s !== "");
  for (const statement of statements) await sql.raw(statement).execute(db);
}
