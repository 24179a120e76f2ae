import { type Kysely, sql, type Transaction } from "kysely";
import { jsonForPg } from "../db/sanitize.js";
import type { Database, Incident, Silence } from "../db/tables.js";

/* Set-based reads for judging the incidents a batch touched: one statement for many incidents. */

type Q = Kysely<Database> | Transaction<Database>;

/** Incidents by id (a batch's triage reads them in one query). */
export async function incidentsByIds(db: Q, ids: number[]): Promise<Incident[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("incidents").selectAll().where("id", "in", ids).execute();
}

/**
 * For each fingerprint, its most recent incident outside `exceptIds` (the batch's own live ones):
 * `previousIncident` for many incidents in one query. `= ANY (ARRAY(…))` probes the
 * (fingerprint, id DESC) index per fingerprint; `IN (SELECT …)` over the JSON scans the table.
 */
export async function previousIncidents(
  db: Q,
  fingerprints: string[],
  exceptIds: number[],
): Promise<Pick<Incident, "id" | "fingerprint" | "state" | "resolved_at">[]> {
  if (fingerprints.length === 0) return [];
  const r = await sql<Pick<Incident, "id" | "fingerprint" | "state" | "resolved_at">>`
    SELECT DISTINCT ON (fingerprint) id, fingerprint, state, resolved_at FROM incidents
    WHERE fingerprint = ANY (ARRAY(SELECT value FROM json_array_elements_text(${jsonForPg(fingerprints)}::json)))
      AND id <> ALL (ARRAY(SELECT value::bigint FROM json_array_elements_text(${JSON.stringify(exceptIds)}::json)))
    ORDER BY fingerprint, id DESC`.execute(db);
  return r.rows;
}

/**
 * Firing alerts attached to each incident since `since`, counted up to `cap` (a storm's incident
 * has many; the verdict only needs to know it reached the minimum).
 */
export async function countFiringSinceMany(
  db: Q,
  incidentIds: number[],
  since: Date,
  cap: number,
): Promise<Map<number, number>> {
  if (incidentIds.length === 0) return new Map();
  const r = await sql<{ id: number; n: number }>`
    SELECT i.id, (SELECT count(*) FROM (
      SELECT 1 FROM alerts a WHERE a.incident_id = i.id AND a.status = 'firing' AND a.received_at >= ${since}
      LIMIT ${cap}) s)::int AS n
    FROM (SELECT value::bigint AS id FROM json_array_elements_text(${JSON.stringify(incidentIds)}::json)) i`.execute(
    db,
  );
  return new Map(r.rows.map((row) => [Number(row.id), Number(row.n)]));
}

/** Silences in force at `now` for any of `services` (matched per incident by the caller). */
export async function silencesInForce(db: Q, services: string[], now: Date) {
  if (services.length === 0) return [];
  const r = await sql<Silence>`
    SELECT id, service, alert_name, reason, created_at, expires_at FROM silences
    WHERE service IN (SELECT value FROM json_array_elements_text(${jsonForPg(services)}::json))
      AND created_at <= ${now} AND expires_at > ${now}`.execute(db);
  return r.rows;
}

/**
 * Sets the triage reason of several incidents still `open`, in one statement. The ids are also
 * given as `= ANY (ARRAY(…))`, so the incidents are found through their primary key: joined to the
 * JSON rows alone, whose count the planner guesses at 100, it scans the whole table.
 */
export async function setTriageReasons(db: Q, reasons: { id: number; reason: string }[]): Promise<void> {
  if (reasons.length === 0) return;
  await sql`
    UPDATE incidents i SET triage_reason = x.reason
    FROM json_to_recordset(${jsonForPg(reasons)}::json) AS x(id bigint, reason text)
    WHERE i.id = x.id AND i.state = 'open'
      AND i.id = ANY (ARRAY(SELECT value::bigint FROM json_array_elements_text(${JSON.stringify(reasons.map((r) => r.id))}::json)))`.execute(
    db,
  );
}
