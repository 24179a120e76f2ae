import type { Kysely, Transaction } from "kysely";
import type { Database, Silence } from "../db/tables.js";

type Q = Kysely<Database> | Transaction<Database>;

export async function insertSilence(
  db: Q,
  s: { service: string; alertName: string | null; reason: string | null; now: Date; expiresAt: Date },
): Promise<Silence> {
  return db
    .insertInto("silences")
    .values({
      service: s.service,
      alert_name: s.alertName,
      reason: s.reason,
      created_at: s.now,
      expires_at: s.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The silence covering this service (and alert) at `now`, if any. */
export async function activeSilence(
  db: Q,
  service: string | null,
  alertName: string,
  now: Date,
): Promise<Silence | undefined> {
  if (service === null) return undefined;
  return db
    .selectFrom("silences")
    .selectAll()
    .where("service", "=", service)
    .where((eb) => eb.or([eb("alert_name", "is", null), eb("alert_name", "=", alertName)]))
    .where("created_at", "<=", now)
    .where("expires_at", ">", now)
    .orderBy("expires_at", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** Silences that expired in (after, upTo]: their suppressed incidents are judged again. */
export async function silencesExpiredBetween(db: Q, after: Date, upTo: Date): Promise<Silence[]> {
  return db
    .selectFrom("silences")
    .selectAll()
    .where("expires_at", ">", after)
    .where("expires_at", "<=", upTo)
    .execute();
}

/** Silences in force at `now`, the soonest to expire first. */
export async function silencesInForce(db: Q, now: Date): Promise<Silence[]> {
  return db
    .selectFrom("silences")
    .selectAll()
    .where("created_at", "<=", now)
    .where("expires_at", ">", now)
    .orderBy("expires_at")
    .orderBy("id")
    .execute();
}

/** One silence by id, in force or not. */
export async function getSilence(db: Q, id: number): Promise<Silence | undefined> {
  return db.selectFrom("silences").selectAll().where("id", "=", id).executeTakeFirst();
}

/**
 * Ends a silence now: its expiry becomes `now`, so the row stays as the record of what was silenced
 * and when. Only a silence still in force is changed (compare-and-set); undefined otherwise.
 */
export async function expireSilence(db: Q, id: number, now: Date): Promise<Silence | undefined> {
  return db
    .updateTable("silences")
    .set({ expires_at: now })
    .where("id", "=", id)
    .where("expires_at", ">", now)
    .returningAll()
    .executeTakeFirst();
}
