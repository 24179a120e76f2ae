import type { Kysely, Transaction } from "kysely";
import type { Database, Incident, IncidentState, IncidentUpdate } from "../db/tables.js";

type Q = Kysely<Database> | Transaction<Database>;

export const LIVE_STATES: readonly IncidentState[] = [
  "open",
  "suppressed",
  "fixing",
  "pr_open",
  "deploying",
  "verifying",
  "needs_human",
];

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

/**
 * One page of incidents, newest first, for the web page: an optional state and a text matched
 * (case-insensitive, as a plain substring: `%` and `_` are escaped) in title, service, host and alert.
 */
export async function searchIncidents(
  db: Q,
  opts: { state?: IncidentState | undefined; text?: string | undefined; limit: number; offset: number },
): Promise<Incident[]> {
  let q = db.selectFrom("incidents").selectAll().orderBy("last_seen_at", "desc").orderBy("id", "desc");
  if (opts.state) q = q.where("state", "=", opts.state);
  if (opts.text) {
    const like = `%${opts.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or(["title", "service", "host", "alert_name"].map((col) => eb(col as "title", "ilike", like))),
    );
  }
  return q.limit(opts.limit).offset(opts.offset).execute();
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
  return quietIncidentsQuery(db, states, before).execute();
}

/** The maintenance tick's queries, as built (test/incidents/tick-queries.test.ts reads their plans). */
export function quietIncidentsQuery(db: Q, states: IncidentState[], before: Date) {
  return (
    db
      .selectFrom("incidents")
      .selectAll()
      .where("state", "in", states)
      .where("last_seen_at", "<", before)
      // Implied (an incident is never last seen before it was first seen): lets the index on
      // (state, first_seen_at) read a range instead of every incident in these states.
      .where("first_seen_at", "<", before)
      .orderBy("id")
  );
}

/** Open incidents that have settled: first seen at or before `before`. */
export async function settledOpenIncidents(db: Q, before: Date): Promise<Incident[]> {
  return settledOpenQuery(db, before).execute();
}

export function settledOpenQuery(db: Q, before: Date) {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("state", "=", "open")
    .where("first_seen_at", "<=", before)
    .orderBy("id");
}

/** Incidents of a service not yet resolved or dismissed (of one alert, when named): a silence's events go on these. */
export async function liveIncidentsOfService(
  db: Q,
  service: string,
  alertName: string | null,
): Promise<Incident[]> {
  let q = db
    .selectFrom("incidents")
    .selectAll()
    .where("service", "=", service)
    .where("state", "in", [...LIVE_STATES]);
  if (alertName !== null) q = q.where("alert_name", "=", alertName);
  return q.orderBy("id").execute();
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
