import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, Incident, IncidentState, IncidentUpdate } from "../db/tables.js";
import { jsonForPg } from "../ingest/sanitize.js";

type Q = Kysely<Database> | Transaction<Database>;

export const LIVE_STATES: readonly IncidentState[] = [
  "open",
  "suppressed",
  "fixing",
  "pr_open",
  "verifying",
  "needs_human",
];

export interface AttachInput {
  fingerprint: string;
  source: string;
  title: string;
  alertName: string;
  service: string | null;
  host: string | null;
  severity: string | null;
  /** Firing alerts of this fingerprint in the delivery (new ones only). */
  count: number;
  now: Date;
}

/**
 * Attaches firing alerts to the live incident of their fingerprint, creating it when there is none.
 * One statement: the partial unique index decides between insert and update, so concurrent deliveries
 * of one problem (and several instances) always end on one incident whose occurrences add up.
 */
export async function attachFiring(
  db: Q,
  a: AttachInput,
): Promise<{ id: number; state: IncidentState; occurrences: number; inserted: boolean }> {
  const row = await db
    .insertInto("incidents")
    .values({
      fingerprint: a.fingerprint,
      state: "open",
      source: a.source,
      title: a.title,
      alert_name: a.alertName,
      service: a.service,
      host: a.host,
      severity: a.severity,
      occurrences: a.count,
      first_seen_at: a.now,
      last_seen_at: a.now,
      state_changed_at: a.now,
      previous_incident_id: (eb) =>
        eb
          .selectFrom("incidents as prev")
          .select("prev.id")
          .where("prev.fingerprint", "=", a.fingerprint)
          .orderBy("prev.id", "desc")
          .limit(1),
    })
    .onConflict((oc) =>
      oc
        .column("fingerprint")
        .where("state", "not in", ["resolved", "dismissed"])
        .doUpdateSet((eb) => ({
          occurrences: eb("incidents.occurrences", "+", eb.ref("excluded.occurrences")),
          last_seen_at: sql<Date>`greatest(incidents.last_seen_at, excluded.last_seen_at)`,
        })),
    )
    .returning(["id", "state", "occurrences", sql<boolean>`(xmax = 0)`.as("inserted")])
    .executeTakeFirstOrThrow();
  return row;
}

/**
 * A repeat of an alert already stored (retry, repeat_interval): the incident is still alive, no count.
 * Only when the stored time is a second old or more: a flood of repeats then leaves the row (and
 * its lock) alone, and the stale rule works in minutes anyway.
 */
export async function touchLastSeen(db: Q, fingerprints: string[], now: Date): Promise<void> {
  if (fingerprints.length === 0) return;
  await db
    .updateTable("incidents")
    .set({ last_seen_at: sql<Date>`greatest(last_seen_at, ${now})` })
    .where("fingerprint", "in", fingerprints)
    .where("state", "in", LIVE_STATES)
    .where("last_seen_at", "<=", new Date(now.getTime() - 1000))
    .execute();
}

export async function findLiveIncident(db: Q, fingerprint: string): Promise<Incident | undefined> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("fingerprint", "=", fingerprint)
    .where("state", "in", LIVE_STATES)
    .executeTakeFirst();
}

export async function getIncident(db: Q, id: number): Promise<Incident | undefined> {
  return db.selectFrom("incidents").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The most recent incident of a fingerprint other than `exceptId` (the dismiss cooldown, history). */
export async function previousIncident(
  db: Q,
  fingerprint: string,
  exceptId: number,
): Promise<Incident | undefined> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("fingerprint", "=", fingerprint)
    .where("id", "<>", exceptId)
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}

export async function listIncidents(
  db: Q,
  opts: { state?: IncidentState | undefined; limit: number },
): Promise<Incident[]> {
  let q = db.selectFrom("incidents").selectAll().orderBy("last_seen_at", "desc").orderBy("id", "desc");
  if (opts.state) q = q.where("state", "=", opts.state);
  return q.limit(opts.limit).execute();
}

/** Compare-and-set: only moves the row if it is still in `from`. */
export async function updateIncidentState(
  db: Q,
  id: number,
  from: IncidentState,
  set: IncidentUpdate,
): Promise<Incident | undefined> {
  return db
    .updateTable("incidents")
    .set(set)
    .where("id", "=", id)
    .where("state", "=", from)
    .returningAll()
    .executeTakeFirst();
}

/** Sets columns that are not the state (PR fields, comment time, resolve note). */
export async function updateIncidentFields(db: Q, id: number, set: IncidentUpdate): Promise<void> {
  await db.updateTable("incidents").set(set).where("id", "=", id).execute();
}

export async function insertEvent(
  db: Q,
  e: {
    incident_id: number;
    run_id: number | null;
    at: Date;
    kind: string;
    message: string;
    data: Record<string, unknown>;
  },
): Promise<void> {
  await db
    .insertInto("incident_events")
    .values({ ...e, data: JSON.stringify(e.data) })
    .execute();
}

/** Firing alerts attached to an incident since `since` (the triage window). */
export async function countFiringSince(db: Q, incidentId: number, since: Date): Promise<number> {
  const r = await db
    .selectFrom("alerts")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("incident_id", "=", incidentId)
    .where("status", "=", "firing")
    .where("received_at", ">=", since)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Live incidents in `states` whose last alert is older than `before` (stale rule, verification). */
export async function quietIncidents(db: Q, states: IncidentState[], before: Date): Promise<Incident[]> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("state", "in", states)
    .where("last_seen_at", "<", before)
    .orderBy("id")
    .execute();
}

/** Open incidents that have settled: first seen at or before `before`. */
export async function settledOpenIncidents(db: Q, before: Date): Promise<Incident[]> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("state", "=", "open")
    .where("first_seen_at", "<=", before)
    .orderBy("id")
    .execute();
}

/** Open and suppressed incidents of these services (judged again when a silence starts or ends). */
export async function judgeableForServices(db: Q, services: string[]): Promise<Incident[]> {
  if (services.length === 0) return [];
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("state", "in", ["open", "suppressed"])
    .where("service", "in", services)
    .orderBy("id")
    .execute();
}

export async function incidentEvents(db: Q, incidentId: number) {
  return db
    .selectFrom("incident_events")
    .selectAll()
    .where("incident_id", "=", incidentId)
    .orderBy("id")
    .execute();
}

export async function countIncidentsByState(db: Q): Promise<{ state: IncidentState; n: number }[]> {
  const rows = await db
    .selectFrom("incidents")
    .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("state")
    .execute();
  return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}

/** Incidents of a fingerprint, newest first (history for a run's context). */
export async function incidentsOfFingerprint(db: Q, fingerprint: string, limit: number): Promise<Incident[]> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("fingerprint", "=", fingerprint)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}

/** Pull requests by their last known state (one per incident that has one). */
export async function countPrsByState(db: Q): Promise<{ state: string; n: number }[]> {
  const rows = await db
    .selectFrom("incidents")
    .select(["pr_state", (eb) => eb.fn.countAll<number>().as("n")])
    .where("pr_state", "is not", null)
    .groupBy("pr_state")
    .execute();
  return rows.map((r) => ({ state: r.pr_state ?? "", n: Number(r.n) }));
}

/**
 * `attachFiring` for many fingerprints in one statement (each fingerprint once), in fingerprint
 * order so that concurrent batches lock incident rows in one order.
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
  }));
  const r = await sql<{ id: number; fingerprint: string; state: IncidentState; inserted: boolean }>`
    INSERT INTO incidents AS incidents (fingerprint, state, source, title, alert_name, service, host, severity,
                           occurrences, first_seen_at, last_seen_at, state_changed_at, previous_incident_id)
    SELECT x.fingerprint, 'open', x.source, x.title, x.alert_name, x.service, x.host, x.severity,
           x.occurrences, x.now, x.now, x.now,
           (SELECT prev.id FROM incidents prev WHERE prev.fingerprint = x.fingerprint
            ORDER BY prev.id DESC LIMIT 1)
    FROM json_to_recordset(${jsonForPg(rows)}::json) AS x(fingerprint text,
      source text, title text, alert_name text, service text, host text, severity text, occurrences int,
      now timestamptz)
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
  await sql`
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
  return db
    .selectFrom("incidents")
    .distinctOn("fingerprint")
    .select(["id", "fingerprint", "state", "resolved_at"])
    .where("fingerprint", "in", fingerprints)
    .where("id", "not in", exceptIds)
    .orderBy("fingerprint")
    .orderBy("id", "desc")
    .execute();
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
  return db
    .selectFrom("silences")
    .selectAll()
    .where("service", "in", services)
    .where("created_at", "<=", now)
    .where("expires_at", ">", now)
    .execute();
}

/** Sets the triage reason of several incidents still `open`, in one statement. */
export async function setTriageReasons(db: Q, reasons: { id: number; reason: string }[]): Promise<void> {
  if (reasons.length === 0) return;
  await sql`
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
