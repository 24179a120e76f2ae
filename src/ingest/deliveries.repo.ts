import { type Kysely, sql, type Transaction } from "kysely";
import { prepared } from "../db/prepared.js";
import type { Database } from "../db/tables.js";
import { cleanText, jsonForPg } from "./sanitize.js";
import type { NormalizedAlert } from "./types.js";

type Q = Kysely<Database> | Transaction<Database>;

export interface DeliveryInput {
  source: string;
  receivedAt: Date;
  contentType: string | null;
  remoteAddr: string | null;
  body: string;
  bodyBytes: number;
  alertCount: number;
  parseError: string | null;
  testNotification: boolean;
  /** Alerts already stored (batch ingest knows before it writes the delivery). */
  duplicates?: number;
}

/** Stores the raw request; its id ties the alerts to it. */
export async function insertDelivery(db: Q, d: DeliveryInput): Promise<number> {
  const row = await db
    .insertInto("deliveries")
    .values({
      source: d.source,
      received_at: d.receivedAt,
      content_type: d.contentType,
      remote_addr: d.remoteAddr,
      body: cleanText(d.body),
      body_bytes: d.bodyBytes,
      alert_count: d.alertCount,
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

/**
 * Stores the raw requests of a batch in one statement. Ids come back in the order given: one
 * statement draws them from the sequence in insertion order, which follows `i`. `touch` moves the
 * last-seen time of the live incidents of these fingerprints (repeats: alive, not counted) in the
 * same statement, when it is a second old or more: a flood of repeats leaves the row (and its lock)
 * alone, and the stale rule works in minutes anyway.
 */
export async function insertDeliveries(
  db: Q,
  ds: DeliveryInput[],
  touch: { fingerprints: string[]; now: Date } = { fingerprints: [], now: new Date(0) },
): Promise<number[]> {
  const rows = ds.map((d, i) => ({
    i,
    source: d.source,
    received_at: d.receivedAt.toISOString(),
    content_type: d.contentType,
    remote_addr: d.remoteAddr,
    body: d.body,
    body_bytes: d.bodyBytes,
    alert_count: d.alertCount,
    duplicate_alerts: d.duplicates ?? 0,
    parse_error: d.parseError,
    test_notification: d.testNotification,
  }));
  const r = await sql<{ id: number }>`${prepared("insert_deliveries")}
    WITH touched AS (
      UPDATE incidents SET last_seen_at = greatest(last_seen_at, ${touch.now})
      WHERE fingerprint IN (SELECT value FROM json_array_elements_text(${jsonForPg(touch.fingerprints)}::json))
        AND state NOT IN ('resolved', 'dismissed')
        AND last_seen_at <= ${new Date(touch.now.getTime() - 1000)}
      RETURNING 1)
    INSERT INTO deliveries (source, received_at, content_type, remote_addr, body, body_bytes, alert_count,
                            duplicate_alerts, parse_error, test_notification)
    SELECT source, received_at, content_type, remote_addr, body, body_bytes, alert_count, duplicate_alerts,
           parse_error, test_notification
    FROM json_to_recordset(${jsonForPg(rows)}::json) AS x(i int, source text, received_at timestamptz,
      content_type text, remote_addr text, body text, body_bytes int, alert_count int, duplicate_alerts int,
      parse_error text, test_notification boolean)
    ORDER BY i
    RETURNING id`.execute(db);
  return r.rows.map((row) => row.id).sort((a, b) => a - b);
}

/** One alert of a batch, with the delivery it came in and the incident it attaches to. */
export interface BatchAlert {
  deliveryId: number;
  incidentId: number | null;
  alert: NormalizedAlert;
}

/** Which of these idempotency keys are stored already (one index probe each, one statement). */
export async function existingKeys(db: Q, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const r = await sql<{ k: string }>`${prepared("existing_keys")}
    SELECT a.idempotency_key AS k FROM alerts a
    WHERE a.idempotency_key IN (SELECT value FROM json_array_elements_text(${jsonForPg(keys)}::json))`.execute(
    db,
  );
  return new Set(r.rows.map((row) => row.k));
}

/**
 * Inserts the alerts of many deliveries in one statement, in idempotency-key order (so that
 * concurrent batches of several instances take the unique index's locks in one order). Keys already
 * stored, or repeated within the batch, are skipped; the new ones come back.
 */
export async function insertAlertsBatch(
  db: Q,
  alerts: BatchAlert[],
  receivedAt: Date,
): Promise<{ id: number; idempotency_key: string }[]> {
  if (alerts.length === 0) return [];
  const at = receivedAt.toISOString();
  const rows = alerts.map(({ deliveryId, incidentId, alert: a }) => ({
    delivery_id: deliveryId,
    incident_id: incidentId,
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
    received_at: at,
  }));
  const r = await sql<{ id: number; idempotency_key: string }>`${prepared("insert_alerts")}
    INSERT INTO alerts (delivery_id, incident_id, source, fingerprint, idempotency_key, status, name, service,
                        host, severity, summary, details, labels, starts_at, received_at)
    SELECT delivery_id, incident_id, source, fingerprint, idempotency_key, status, name, service, host, severity,
           summary, coalesce(details, '{}'), coalesce(labels, '{}'), starts_at, received_at
    FROM json_to_recordset(${jsonForPg(rows)}::json) AS x(delivery_id bigint, incident_id bigint, source text,
      fingerprint text,
      idempotency_key text, status text, name text, service text, host text, severity text, summary text,
      details jsonb, labels jsonb, starts_at timestamptz, received_at timestamptz)
    ORDER BY idempotency_key
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key`.execute(db);
  return r.rows;
}

/** Sets the duplicate count of several deliveries in one statement. */
export async function setDuplicateCounts(db: Q, counts: { id: number; n: number }[]): Promise<void> {
  if (counts.length === 0) return;
  await sql`${prepared("set_duplicate_counts")}
    UPDATE deliveries d SET duplicate_alerts = x.n
    FROM json_to_recordset(${JSON.stringify(counts)}::json) AS x(id bigint, n int)
    WHERE d.id = x.id`.execute(db);
}
