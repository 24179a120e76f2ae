import type { Kysely, Transaction } from "kysely";
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

export async function setDuplicateCount(db: Q, deliveryId: number, n: number): Promise<void> {
  if (n === 0) return;
  await db.updateTable("deliveries").set({ duplicate_alerts: n }).where("id", "=", deliveryId).execute();
}

/**
 * Inserts the alerts of a delivery in one statement. An alert whose idempotency key is already stored
 * (a retried or repeated delivery) is skipped by the unique index; the new ones come back.
 */
export async function insertNewAlerts(
  db: Q,
  deliveryId: number,
  alerts: NormalizedAlert[],
  receivedAt: Date,
): Promise<{ id: number; idempotency_key: string }[]> {
  if (alerts.length === 0) return [];
  return db
    .insertInto("alerts")
    .values(
      alerts.map((a) => ({
        delivery_id: deliveryId,
        source: a.source,
        fingerprint: a.fingerprint,
        idempotency_key: a.idempotencyKey,
        status: a.status,
        name: cleanText(a.name),
        service: cleanText(a.service),
        host: cleanText(a.host),
        severity: cleanText(a.severity),
        summary: cleanText(a.summary),
        details: jsonForPg(a.details),
        labels: jsonForPg(a.labels),
        starts_at: a.startsAt,
        received_at: receivedAt,
      })),
    )
    .onConflict((oc) => oc.column("idempotency_key").doNothing())
    .returning(["id", "idempotency_key"])
    .execute();
}

export async function linkAlerts(db: Q, alertIds: number[], incidentId: number): Promise<void> {
  if (alertIds.length === 0) return;
  await db.updateTable("alerts").set({ incident_id: incidentId }).where("id", "in", alertIds).execute();
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

export async function countDeliveriesBySource(db: Q) {
  const rows = await db
    .selectFrom("deliveries")
    .select([
      "source",
      (eb) =>
        eb
          .case()
          .when("parse_error", "is not", null)
          .then("rejected")
          .when("test_notification", "=", true)
          .then("test")
          .else("accepted")
          .end()
          .as("status"),
      (eb) => eb.fn.countAll<number>().as("n"),
    ])
    .groupBy(["source", "status"])
    .execute();
  return rows.map((r) => ({ source: r.source, status: r.status as string, n: Number(r.n) }));
}
