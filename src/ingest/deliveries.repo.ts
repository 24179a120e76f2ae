import type { Kysely, Transaction } from "kysely";
import type { Db } from "../db/database.js";
import { runNamed } from "../db/named.js";
import { cleanText, jsonForPg } from "../db/sanitize.js";
import type { Database } from "../db/tables.js";
import { type SilenceJson, silencesInForce } from "../incidents/batch.repo.js";
import type { NormalizedAlert } from "./types.js";

/* The SQL of ingest: deliveries, their alerts, and the incidents those alerts count on. */

type Q = Kysely<Database> | Transaction<Database>;

/** A delivery as received, before it is stored. */
export interface DeliveryInput {
  source: string;
  receivedAt: Date;
  contentType: string | null;
  remoteAddr: string | null;
  body: string;
  bodyBytes: number;
}

/** Stores a delivery that brings no alert (refused body, test notification) on its own. */
export async function insertDelivery(
  db: Q,
  d: DeliveryInput & { parseError: string | null; testNotification: boolean },
): Promise<number> {
  const row = await db
    .insertInto("deliveries")
    .values({
      source: d.source,
      received_at: d.receivedAt,
      content_type: d.contentType,
      remote_addr: d.remoteAddr,
      body: cleanText(d.body),
      body_bytes: d.bodyBytes,
      alert_count: 0,
      // A parse error may quote the body, NULs included.
      parse_error: cleanText(d.parseError),
      test_notification: d.testNotification,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The latest alerts of an incident, newest first (API summary, run context). */
export async function recentAlerts(db: Q, incidentId: number, limit: number) {
  return db
    .selectFrom("alerts")
    .selectAll()
    .where("incident_id", "=", incidentId)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}

/** What a new incident of a fingerprint is made of: the batch's first firing alert of it. */
export interface Problem {
  fingerprint: string;
  source: string;
  title: string;
  alertName: string;
  service: string | null;
  host: string | null;
  severity: string | null;
  /** The message of its `created` event. */
  createdMessage: string;
  /** The triage reason it is created with (the settling verdict), or null. */
  triageReason: string | null;
}

/** A batch as `storeBatch` writes it: deliveries in order, and each alert with its delivery's place. */
export interface BatchInput {
  deliveries: (DeliveryInput & { alertCount: number })[];
  alerts: { delivery: number; alert: NormalizedAlert }[];
  /** One per fingerprint with a firing alert in the batch. */
  problems: Problem[];
  now: Date;
}

/** One stored delivery: its id and the alerts of it that were new (the others were duplicates). */
export interface StoredDelivery {
  id: number;
  inserted: { key: string; incident: number | null; created: boolean }[];
  /** The incidents it created (their first delivery in the batch): what triage reads of them. */
  created: CreatedRow[];
}

/** What the store statement read for an incident it created: its predecessor and the silences in force. */
export interface CreatedRow {
  id: number;
  prev_id: number | null;
  prev_state: string | null;
  prev_resolved_at: string | null;
  silences: SilenceJson[];
}

/**
 * The batch's deliveries ($1, JSON rows in order) with their ids drawn. The rows travel as jsonb,
 * parsed once: as json they were parsed by the parameter's input, again by json_to_recordset, and
 * an alert's details and labels a third time into their jsonb columns. The sequences are named
 * (bigserial's, from 0001): a constant, where pg_get_serial_sequence() looked the table up again for
 * every row (2 µs each, measured).
 */
const DELIVERY_IN = `
WITH delivery_in AS MATERIALIZED (
  SELECT d.*, nextval('deliveries_id_seq') AS id
  FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, source text, received_at timestamptz,
          content_type text, remote_addr text, body text, body_bytes int, alert_count int)
        ORDER BY i) d
)`;

/**
 * One statement (so one implicit transaction and one commit) for a whole batch. Read it top to
 * bottom; each step is a CTE, and PostgreSQL checks the foreign keys at the end of the statement,
 * so rows may name ids drawn earlier in it:
 *  1. draw the deliveries' ids;
 *  2. lock the live incident of each fingerprint (a resolve or dismiss elsewhere waits for our commit,
 *     or has committed and we see no live incident);
 *  3. pick each firing fingerprint's incident: the live one, or a new id;
 *  4. insert the alerts, ON CONFLICT (idempotency_key) DO NOTHING: a key stored before, or by another
 *     instance's batch that commits first, is skipped; what RETURNING gives back is what is new;
 *  5. from those rows only: create the new incidents with their occurrences, first triage reason and
 *     `created` events, add the occurrences of the live ones; a repeat only moves `last_seen_at` (when
 *     a second old, so a flood of repeats leaves the row alone);
 *  6. write the deliveries with their duplicate counts, and answer per delivery, with what triage
 *     needs of each new incident (its previous incident, the silences in force for its service):
 *     triage then reads nothing more for a new incident that is still settling.
 * Two instances creating the same new incident at once: one insert fails on the unique index of live
 * incidents (`isWriteConflict`) and its batch is retried, then attaching to the other's.
 * Alerts go in idempotency-key order and incidents in fingerprint order, so concurrent batches lock
 * in one order.
 * For the planner, which cannot count a CTE's rows: incidents are probed with `= ANY (ARRAY(…))`,
 * which uses the index where `IN (SELECT …)` over a CTE may scan the table, and no step filters a
 * CTE on IS NULL before a join (it guesses 1 row and loops over the other side per row).
 */
const STORE_BATCH = `
${DELIVERY_IN},
alert_in AS (
  SELECT a.*, d.id AS delivery_id
  FROM jsonb_to_recordset($2::jsonb) AS a(i int, source text, fingerprint text, idempotency_key text,
    status text, name text, service text, host text, severity text, summary text, details jsonb,
    labels jsonb, starts_at timestamptz)
  JOIN delivery_in d USING (i)
),
live AS MATERIALIZED (
  SELECT id, fingerprint FROM incidents
  WHERE fingerprint = ANY (ARRAY(SELECT DISTINCT fingerprint FROM alert_in))
    AND state NOT IN ('resolved', 'dismissed')
  ORDER BY fingerprint
  FOR NO KEY UPDATE
),
target AS MATERIALIZED (
  SELECT p.*, l.id IS NULL AS is_new,
         coalesce(l.id, nextval('incidents_id_seq')) AS incident_id
  FROM jsonb_to_recordset($3::jsonb) AS p(fingerprint text, source text, title text, alert_name text,
    service text, host text, severity text, created_message text, triage_reason text)
  LEFT JOIN live l USING (fingerprint)
),
inserted AS (
  INSERT INTO alerts (delivery_id, incident_id, source, fingerprint, idempotency_key, status, name,
                      service, host, severity, summary, details, labels, starts_at, received_at)
  -- A key repeated within the batch: its first delivery's copy. A resolve attaches to the live incident.
  SELECT DISTINCT ON (a.idempotency_key)
         a.delivery_id, CASE WHEN a.status = 'firing' THEN t.incident_id ELSE l.id END, a.source,
         a.fingerprint, a.idempotency_key, a.status, a.name, a.service, a.host, a.severity, a.summary,
         coalesce(a.details, '{}'), coalesce(a.labels, '{}'), a.starts_at, $4::timestamptz
  FROM alert_in a
  LEFT JOIN target t ON t.fingerprint = a.fingerprint
  LEFT JOIN live l ON l.fingerprint = a.fingerprint
  ORDER BY a.idempotency_key, a.i
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING delivery_id, incident_id, idempotency_key, status
),
added AS (
  SELECT incident_id, count(*)::int AS n, min(delivery_id) AS first_delivery
  FROM inserted WHERE status = 'firing' GROUP BY incident_id
),
fresh AS MATERIALIZED (
  SELECT t.*, a.n, a.first_delivery, p.id AS prev_id, p.state AS prev_state, p.resolved_at AS prev_resolved_at
  FROM target t JOIN added a USING (incident_id)
  LEFT JOIN LATERAL (
    SELECT id, state, resolved_at FROM incidents prev WHERE prev.fingerprint = t.fingerprint
    ORDER BY prev.id DESC LIMIT 1
  ) p ON true
  WHERE t.is_new
),
created AS (
  INSERT INTO incidents (id, fingerprint, state, source, title, alert_name, service, host, severity,
                         occurrences, first_seen_at, last_seen_at, state_changed_at, previous_incident_id,
                         triage_reason)
  SELECT f.incident_id, f.fingerprint, 'open', f.source, f.title, f.alert_name, f.service, f.host,
         f.severity, f.n, $4::timestamptz, $4::timestamptz, $4::timestamptz, f.prev_id, f.triage_reason
  FROM fresh f
  ORDER BY f.fingerprint
),
created_events AS (
  INSERT INTO incident_events (incident_id, at, kind, message, data)
  SELECT f.incident_id, $4::timestamptz, 'created', f.created_message,
         json_build_object('fingerprint', f.fingerprint, 'delivery', f.first_delivery)
  FROM fresh f
),
repeated AS (
  SELECT DISTINCT a.fingerprint FROM alert_in a
  WHERE NOT EXISTS (SELECT 1 FROM inserted x
                    WHERE x.idempotency_key = a.idempotency_key AND x.delivery_id = a.delivery_id)
),
counted AS (
  UPDATE incidents i SET occurrences = i.occurrences + a.n, last_seen_at = greatest(i.last_seen_at, $4::timestamptz)
  FROM added a
  WHERE i.id = a.incident_id
),
seen AS (
  UPDATE incidents i SET last_seen_at = greatest(i.last_seen_at, $4::timestamptz)
  WHERE i.id = ANY (ARRAY(SELECT id FROM live WHERE fingerprint IN (SELECT fingerprint FROM repeated)))
    AND i.id NOT IN (SELECT incident_id FROM added WHERE incident_id IS NOT NULL)
    AND i.last_seen_at <= $4::timestamptz - interval '1 second'
),
stored_deliveries AS (
  INSERT INTO deliveries (id, source, received_at, content_type, remote_addr, body, body_bytes,
                          alert_count, duplicate_alerts)
  SELECT d.id, d.source, d.received_at, d.content_type, d.remote_addr, d.body, d.body_bytes,
         d.alert_count, d.alert_count - coalesce(k.n, 0)
  FROM delivery_in d LEFT JOIN (SELECT delivery_id, count(*)::int AS n FROM inserted GROUP BY delivery_id) k
    ON k.delivery_id = d.id
)
SELECT d.id,
       coalesce(json_agg(json_build_object('key', x.idempotency_key, 'incident', x.incident_id,
                                           'created', x.incident_id IN (SELECT incident_id FROM fresh)))
                FILTER (WHERE x.idempotency_key IS NOT NULL), '[]') AS inserted,
       (SELECT coalesce(json_agg(json_build_object('id', f.incident_id, 'prev_id', f.prev_id,
                  'prev_state', f.prev_state, 'prev_resolved_at', f.prev_resolved_at,
                  'silences', ${silencesInForce("f.service", "$4::timestamptz")})), '[]')
        FROM fresh f WHERE f.first_delivery = d.id) AS created
FROM delivery_in d LEFT JOIN inserted x ON x.delivery_id = d.id
GROUP BY d.i, d.id
ORDER BY d.i`;

/** Stores a batch of deliveries, their new alerts and what those do to incidents (see STORE_BATCH). */
export async function storeBatch(db: Db, batch: BatchInput): Promise<StoredDelivery[]> {
  const problems = batch.problems.map((p) => ({
    fingerprint: p.fingerprint,
    source: p.source,
    title: p.title,
    alert_name: p.alertName,
    service: p.service,
    host: p.host,
    severity: p.severity,
    created_message: p.createdMessage,
    triage_reason: p.triageReason,
  }));
  const params = [deliveriesJson(batch), alertsJson(batch), jsonForPg(problems), batch.now.toISOString()];
  return runNamed<StoredDelivery>(db, "store_batch", STORE_BATCH, params);
}

/** Repeats of one stored delivery, counted in memory since the last flush (`RepeatLedger`). */
export interface RepeatRow {
  delivery: number;
  n: number;
  lastAt: Date;
  fingerprints: string[];
}

/**
 * Writes the repeats counted since the last flush: each delivery's count and last time, and
 * `last_seen_at` of the live incidents of their fingerprints (moved forward only). A delivery the
 * retention purge deleted meanwhile matches nothing.
 */
const FLUSH_REPEATS = `
WITH r AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json) AS x(delivery bigint, n int, last_at timestamptz, fingerprints text[])
),
counted AS (
  UPDATE deliveries d SET repeats = d.repeats + r.n, last_repeat_at = greatest(d.last_repeat_at, r.last_at)
  FROM r
  WHERE d.id = r.delivery AND d.id = ANY (ARRAY(SELECT delivery FROM r))
),
seen AS MATERIALIZED (
  SELECT f AS fingerprint, max(r.last_at) AS at FROM r, unnest(r.fingerprints) AS f GROUP BY f
)
UPDATE incidents i SET last_seen_at = s.at
FROM seen s
WHERE i.fingerprint = s.fingerprint AND i.fingerprint = ANY (ARRAY(SELECT fingerprint FROM seen))
  AND i.state NOT IN ('resolved', 'dismissed') AND i.last_seen_at < s.at`;

/** Writes repeat counts (see FLUSH_REPEATS). */
export async function flushRepeats(db: Db, rows: RepeatRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = jsonForPg(
    rows.map((r) => ({
      delivery: r.delivery,
      n: r.n,
      last_at: r.lastAt.toISOString(),
      fingerprints: r.fingerprints,
    })),
  );
  await runNamed(db, "flush_repeats", FLUSH_REPEATS, [json]);
}

function deliveriesJson(batch: Pick<BatchInput, "deliveries">): string {
  return jsonForPg(
    batch.deliveries.map((d, i) => ({
      i,
      source: d.source,
      received_at: d.receivedAt.toISOString(),
      content_type: d.contentType,
      remote_addr: d.remoteAddr,
      body: d.body,
      body_bytes: d.bodyBytes,
      alert_count: d.alertCount,
    })),
  );
}

function alertsJson(batch: Pick<BatchInput, "alerts">): string {
  return jsonForPg(
    batch.alerts.map(({ delivery, alert: a }) => ({
      i: delivery,
      source: a.source,
      fingerprint: a.fingerprint,
      idempotency_key: a.idempotencyKey,
      status: a.status,
      name: a.name,
      service: a.service,
      host: a.host,
      severity: a.severity,
      summary: a.summary,
      details: a.details,
      labels: a.labels,
      starts_at: a.startsAt && !Number.isNaN(a.startsAt.getTime()) ? a.startsAt.toISOString() : null,
    })),
  );
}

/**
 * True for a batch that crossed another writer's and is worth storing again: a deadlock, a
 * serialization failure, or a new incident another instance created first (the retry attaches to it).
 */
export function isWriteConflict(e: unknown): boolean {
  const { code, constraint } = (e ?? {}) as { code?: unknown; constraint?: unknown };
  if (code === "40P01" || code === "40001") return true;
  return code === "23505" && constraint === "incidents_one_live_per_fingerprint";
}
