import { createHash } from "node:crypto";
import { type RawBuilder, sql } from "kysely";
import type pg from "pg";

/*
 * Named prepared statements for the statements every ingest batch runs. PostgreSQL parses and
 * plans an unnamed statement on every execution; for the ingest path that was about a quarter of
 * its time. kysely sends every query unnamed, so a statement opts in with a leading comment that
 * the pool's clients turn into a name (per connection, prepared once, then only bound and run).
 * Only fixed texts opt in: their lists travel as one JSON parameter, never as `IN ($1, $2, …)`.
 */

const MARK = /^\/\*prepared:([a-z_]+)\*\//;

/** The comment that marks a statement as prepared under `name`; put it first in the `sql` template. */
export function prepared(name: string): RawBuilder<unknown> {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`prepared statement name ${name} must be [a-z_]+`);
  return sql.raw(`/*prepared:${name}*/`);
}

/** Statement names by text: a name is unique per text, so one `prepared()` name on two texts is safe. */
const names = new Map<string, string>();

function nameOf(text: string): string | undefined {
  const cached = names.get(text);
  if (cached !== undefined) return cached;
  const m = MARK.exec(text);
  if (!m) return undefined;
  const name = `${m[1]}_${createHash("sha1").update(text).digest("hex").slice(0, 10)}`;
  names.set(text, name);
  return name;
}

/** Makes a pool's clients send marked statements by name (installed on each new connection). */
export function namePreparedStatements(pool: pg.Pool): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((text: unknown, ...rest: unknown[]) => {
      const name = typeof text === "string" && text.startsWith("/*") ? nameOf(text) : undefined;
      if (name === undefined) return query(text, ...rest);
      const [values, callback] = rest;
      return query({ name, text, values }, callback);
    }) as typeof client.query;
  });
}
