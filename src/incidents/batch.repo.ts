import type { Db } from "../db/database.js";
import { runNamed } from "../db/named.js";
import { jsonForPg } from "../db/sanitize.js";
import type { Incident, Silence } from "../db/tables.js";

/* Set-based SQL for judging the incidents a batch touched: one statement reads, one writes. */

/** What `judge` needs of one incident a batch touched, read with the others in one statement. */
export interface IncidentFacts {
  incident: Pick<
    Incident,
    | "id"
    | "state"
    | "fingerprint"
    | "service"
    | "alert_name"
    | "title"
    | "first_seen_at"
    | "previous_incident_id"
    | "triage_reason"
  >;
  /** The most recent other incident of its fingerprint. */
  previous: Pick<Incident, "id" | "state" | "resolved_at"> | undefined;
  /** Firing alerts attached since the window's start, counted up to the cap. */
  firingInWindow: number;
  /** Silences in force for its service. */
  silences: Silence[];
  /** Runs started in the last 24 h (the same for every incident). */
  runsLast24h: number;
}

/**
 * The silences in force for `service` at `at` (SQL expressions), as a JSON array: read by
 * TRIAGE_FACTS and by the statement that stores a batch (ingest/deliveries.repo.ts), for the
 * incidents it creates. `silencesFromJson` reads it back.
 */
export const silencesInForce = (service: string, at: string) => `(
  SELECT coalesce(json_agg(json_build_object('id', s.id, 'service', s.service, 'alert_name', s.alert_name,
           'reason', s.reason, 'created_at', s.created_at, 'expires_at', s.expires_at)), '[]')
  FROM silences s WHERE s.service = ${service} AND s.created_at <= ${at} AND s.expires_at > ${at})`;

/** A silence as `silencesInForce` gives it (times as JSON text). */
export type SilenceJson = Omit<Silence, "created_at" | "expires_at"> & {
  created_at: string;
  expires_at: string;
};

export function silencesFromJson(rows: SilenceJson[]): Silence[] {
  return rows.map((s) => ({
    ...s,
    id: Number(s.id),
    created_at: new Date(s.created_at),
    expires_at: new Date(s.expires_at),
  }));
}

/** The previous incident of a fingerprint from its columns read beside another (`prev_*`), or undefined. */
export function previousFromRow(row: {
  prev_id: number | string | null;
  prev_state: string | null;
  prev_resolved_at: Date | string | null;
}): IncidentFacts["previous"] {
  if (row.prev_id === null) return undefined;
  return {
    id: Number(row.prev_id),
    state: row.prev_state as Incident["state"],
    resolved_at: row.prev_resolved_at === null ? null : new Date(row.prev_resolved_at),
  };
}

/**
 * Everything triage reads for a batch, in one statement by name (one round trip, planned once per
 * connection) instead of one query per kind of fact. Incidents come through their primary key
 * (`= ANY (ARRAY(…))`: joined to the JSON rows alone, whose count the planner guesses at 100, it
 * scans the table); the previous incident through (fingerprint, id DESC); the count stops at the
 * cap ($3), enough for any minimum and an honest reason.
 */
const TRIAGE_FACTS = `
WITH inc AS MATERIALIZED (
  SELECT id, state, fingerprint, service, alert_name, title, first_seen_at, previous_incident_id, triage_reason
  FROM incidents
  WHERE id = ANY (ARRAY(SELECT value::bigint FROM json_array_elements_text($1::json)))
),
runs_24h AS MATERIALIZED (SELECT count(*)::int AS n FROM runs WHERE created_at >= $5)
SELECT i.*, p.id AS prev_id, p.state AS prev_state, p.resolved_at AS prev_resolved_at,
       -- Only an incident still judged needs its count (a storm's, once fixing, would count 1000 a batch).
       CASE WHEN i.state IN ('open', 'suppressed') THEN (SELECT count(*) FROM (
          SELECT 1 FROM alerts a
          WHERE a.incident_id = i.id AND a.status = 'firing' AND a.received_at >= $2 LIMIT $3) c)::int
       ELSE 0 END AS firing,
       ${silencesInForce("i.service", "$4")} AS silences,
       (SELECT n FROM runs_24h) AS runs_24h
FROM inc i
LEFT JOIN LATERAL (
  SELECT id, state, resolved_at FROM incidents p
  WHERE p.fingerprint = i.fingerprint AND p.id <> i.id ORDER BY p.id DESC LIMIT 1
) p ON true`;

type FactsRow = IncidentFacts["incident"] & {
  prev_id: number | null;
  prev_state: Incident["state"] | null;
  prev_resolved_at: Date | null;
  firing: number;
  silences: SilenceJson[];
  runs_24h: number;
};

/** Reads the facts of `ids` (see TRIAGE_FACTS). */
export async function triageFacts(
  db: Db,
  ids: number[],
  o: { since: Date; cap: number; now: Date; runsSince: Date },
): Promise<IncidentFacts[]> {
  if (ids.length === 0) return [];
  const rows = await runNamed<FactsRow>(db, "triage_facts", TRIAGE_FACTS, [
    JSON.stringify(ids),
    o.since,
    o.cap,
    o.now,
    o.runsSince,
  ]);
  return rows.map((r) => ({
    incident: {
      id: Number(r.id),
      state: r.state,
      fingerprint: r.fingerprint,
      service: r.service,
      alert_name: r.alert_name,
      title: r.title,
      first_seen_at: new Date(r.first_seen_at),
      previous_incident_id: r.previous_incident_id === null ? null : Number(r.previous_incident_id),
      triage_reason: r.triage_reason,
    },
    previous: previousFromRow(r),
    firingInWindow: Number(r.firing),
    silences: silencesFromJson(r.silences),
    runsLast24h: Number(r.runs_24h),
  }));
}

/**
 * Sets the triage reason of several incidents still `open`, in one statement by name. A reason is
 * derived (the next judgement writes it again), so its commit does not wait for the WAL flush
 * (`synchronous_commit` off for this transaction only: a crash may lose the last reasons, which
 * the next tick's judgement writes again; never an alert, which is committed before this runs).
 */
const SET_TRIAGE_REASONS = `
WITH lazy AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS v)
UPDATE incidents i SET triage_reason = x.reason
FROM json_to_recordset($1::json) AS x(id bigint, reason text), lazy
WHERE i.id = x.id AND i.state = 'open'
  AND i.id = ANY (ARRAY(SELECT value::bigint FROM json_array_elements_text($2::json)))`;

export async function setTriageReasons(db: Db, reasons: { id: number; reason: string }[]): Promise<void> {
  if (reasons.length === 0) return;
  await runNamed(db, "set_triage_reasons", SET_TRIAGE_REASONS, [
    jsonForPg(reasons),
    JSON.stringify(reasons.map((r) => r.id)),
  ]);
}
