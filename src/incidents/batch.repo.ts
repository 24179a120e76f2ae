import { type Kysely, sql, type Transaction } from "kysely";
import { prepared } from "../db/prepared.js";
import type { Database, Incident, IncidentState, Silence } from "../db/tables.js";
import { jsonForPg } from "../ingest/sanitize.js";
import type { AttachInput } from "./incidents.repo.js";

/* Set-based statements for batch ingest: one statement for many incidents, whatever their number. */

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Attaches firing alerts to the live incidents of their fingerprints, creating those that have none,
 * in one statement (each fingerprint once). The partial unique index decides between insert and
 * update, so concurrent deliveries of one problem (and several instances) always end on one
 * incident whose occurrences add up; fingerprint order makes concurrent batches lock rows in one order.
 */
export async function attachFiringBatch(
  db: Q,
  inputs: AttachInput[],
): Promise<{ id: number; fingerprint: string; state: IncidentState; inserted: boolean }[]> {
  if (inputs.length === 0) return [];
  const rows = inputs.map((a) => ({
    fingerprint: a.fingerprint,
    source: a.source,
    title: a.title,
    alert_name: a.alertName,
    service: a.service,
    host: a.host,
    severity: a.severity,
    occurrences: a.count,
    now: a.now.toISOString(),
    triage_reason: a.triageReason ?? null,
  }));
  const r = await sql<{
    id: number;
    fingerprint: string;
    state: IncidentState;
    inserted: boolean;
  }>`${prepared("attach_firing")}
    INSERT INTO incidents AS incidents (fingerprint, state, source, title, alert_name, service, host, severity,
                           occurrences, first_seen_at, last_seen_at, state_changed_at, triage_reason,
                           previous_incident_id)
    SELECT x.fingerprint, 'open', x.source, x.title, x.alert_name, x.service, x.host, x.severity,
           x.occurrences, x.now, x.now, x.now, x.triage_reason,
           (SELECT prev.id FROM incidents prev WHERE prev.fingerprint = x.fingerprint
            ORDER BY prev.id DESC LIMIT 1)
    FROM json_to_recordset(${jsonForPg(rows)}::json) AS x(fingerprint text,
      source text, title text, alert_name text, service text, host text, severity text, occurrences int,
      now timestamptz, triage_reason text)
    ORDER BY x.fingerprint
    ON CONFLICT (fingerprint) WHERE state NOT IN ('resolved', 'dismissed') DO UPDATE SET
      occurrences = incidents.occurrences + excluded.occurrences,
      last_seen_at = greatest(incidents.last_seen_at, excluded.last_seen_at)
    RETURNING id, fingerprint, state, (xmax = 0) AS inserted`.execute(db);
  return r.rows;
}

/** Appends several events in one statement. */
export async function insertEvents(
  db: Q,
  events: {
    incident_id: number;
    run_id: number | null;
    at: Date;
    kind: string;
    message: string;
    data: object;
  }[],
): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => ({ ...e, at: e.at.toISOString() }));
  await sql`${prepared("insert_events")}
    INSERT INTO incident_events (incident_id, run_id, at, kind, message, data)
    SELECT incident_id, run_id, at, kind, message, data
    FROM json_to_recordset(${jsonForPg(rows)}::json) AS x(incident_id bigint,
      run_id bigint, at timestamptz, kind text, message text, data jsonb)`.execute(db);
}

/** Incidents by id (a batch's triage reads them in one query). */
export async function incidentsByIds(db: Q, ids: number[]): Promise<Incident[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("incidents").selectAll().where("id", "in", ids).execute();
}

/**
 * For each fingerprint, its most recent incident outside `exceptIds` (the batch's own live ones):
 * `previousIncident` for many incidents in one query.
 */
export async function previousIncidents(
  db: Q,
  fingerprints: string[],
  exceptIds: number[],
): Promise<Pick<Incident, "id" | "fingerprint" | "state" | "resolved_at">[]> {
  if (fingerprints.length === 0) return [];
  const r = await sql<
    Pick<Incident, "id" | "fingerprint" | "state" | "resolved_at">
  >`${prepared("previous_incidents")}
    SELECT DISTINCT ON (fingerprint) id, fingerprint, state, resolved_at FROM incidents
    WHERE fingerprint IN (SELECT value FROM json_array_elements_text(${jsonForPg(fingerprints)}::json))
      AND id NOT IN (SELECT value::bigint FROM json_array_elements_text(${JSON.stringify(exceptIds)}::json))
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
  const r = await sql<{ id: number; n: number }>`${prepared("count_firing_since")}
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
  const r = await sql<Silence>`${prepared("silences_in_force")}
    SELECT id, service, alert_name, reason, created_at, expires_at FROM silences
    WHERE service IN (SELECT value FROM json_array_elements_text(${jsonForPg(services)}::json))
      AND created_at <= ${now} AND expires_at > ${now}`.execute(db);
  return r.rows;
}

/** Sets the triage reason of several incidents still `open`, in one statement. */
export async function setTriageReasons(db: Q, reasons: { id: number; reason: string }[]): Promise<void> {
  if (reasons.length === 0) return;
  await sql`${prepared("set_triage_reasons")}
    UPDATE incidents i SET triage_reason = x.reason
    FROM json_to_recordset(${jsonForPg(reasons)}::json) AS x(id bigint, reason text)
    WHERE i.id = x.id AND i.state = 'open'`.execute(db);
}

/**
 * Takes back occurrences counted for alerts another instance stored first (a race between
 * instances on one key); an incident this transaction created for nothing but such alerts goes.
 */
export async function uncountOccurrences(
  db: Q,
  fixes: { id: number; n: number; drop: boolean }[],
): Promise<void> {
  if (fixes.length === 0) return;
  await sql`
    UPDATE incidents i SET occurrences = greatest(i.occurrences - x.n, 0)
    FROM json_to_recordset(${JSON.stringify(fixes)}::json) AS x(id bigint, n int, drop boolean)
    WHERE i.id = x.id AND NOT x.drop`.execute(db);
  const drop = fixes.filter((f) => f.drop).map((f) => f.id);
  if (drop.length) await db.deleteFrom("incidents").where("id", "in", drop).execute();
}
