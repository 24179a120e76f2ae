import { sql } from "kysely";
import type { Db } from "../../src/db/database.js";

/** Row counts of every table: "leaves the tables unchanged" is a comparison of two of these. */
export interface TableCounts {
  deliveries: number;
  alerts: number;
  incidents: number;
  runs: number;
  incident_events: number;
  silences: number;
}

export async function tableCounts(db: Db): Promise<TableCounts> {
  const r = await sql<TableCounts>`
    SELECT (SELECT count(*) FROM deliveries)::int AS deliveries,
           (SELECT count(*) FROM alerts)::int AS alerts,
           (SELECT count(*) FROM incidents)::int AS incidents,
           (SELECT count(*) FROM runs)::int AS runs,
           (SELECT count(*) FROM incident_events)::int AS incident_events,
           (SELECT count(*) FROM silences)::int AS silences`.execute(db);
  return r.rows[0]!;
}

/**
 * Every table of the public schema (the migrations' own included) with its row count and a hash of
 * its rows: "wrote nothing" is two equal digests.
 */
export async function databaseDigest(db: Db): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`.execute(db);
  const digest: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const r = await sql<{ n: number; h: string }>`
      SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) AS h
      FROM ${sql.table(name)} t`.execute(db);
    digest[name] = `${r.rows[0]!.n} rows, md5 ${r.rows[0]!.h}`;
  }
  return digest;
}
