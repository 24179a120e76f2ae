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
