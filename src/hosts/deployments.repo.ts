import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, Deployment, DeploymentSource, DeploymentStatus } from "../db/tables.js";

type Q = Kysely<Database> | Transaction<Database>;

/** A report of what a host runs, before it is stored. */
export interface NewDeployment {
  host: string;
  revision: string;
  dirty: boolean;
  status: DeploymentStatus;
  at: Date;
  receivedAt: Date;
  source: DeploymentSource;
}

/** Stores one report. */
export async function insertDeployment(db: Q, d: NewDeployment): Promise<Deployment> {
  return db
    .insertInto("deployments")
    .values({
      host: d.host,
      revision: d.revision,
      dirty: d.dirty,
      status: d.status,
      at: d.at,
      received_at: d.receivedAt,
      source: d.source,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Records whether the mirror knows the deployment's commit. */
export async function setDeploymentKnown(db: Q, id: number, known: boolean): Promise<void> {
  await db.updateTable("deployments").set({ known }).where("id", "=", id).execute();
}

/** The host's newest report (of `status` when given): newest deploy time first, then newest row. */
export async function latestDeployment(
  db: Q,
  host: string,
  status?: DeploymentStatus,
): Promise<Deployment | undefined> {
  let q = db.selectFrom("deployments").selectAll().where("host", "=", host);
  if (status !== undefined) q = q.where("status", "=", status);
  return q.orderBy("at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
}

/** The newest report of `source` for the host: pollers store a row only when it changed. */
export async function latestFromSource(
  db: Q,
  host: string,
  source: DeploymentSource,
): Promise<Deployment | undefined> {
  return db
    .selectFrom("deployments")
    .selectAll()
    .where("host", "=", host)
    .where("source", "=", source)
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** True when the host ever reported (through any source). */
export async function hostHasReported(db: Q, host: string): Promise<boolean> {
  const row = await db
    .selectFrom("deployments")
    .select("id")
    .where("host", "=", host)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The newest report per host, and the newest `done` one (what the host runs). DISTINCT ON keeps the
 * first row of each host in the ORDER BY, which the deployments_host_at index serves.
 */
export async function latestPerHost(db: Q, status?: DeploymentStatus): Promise<Deployment[]> {
  let q = db.selectFrom("deployments").selectAll();
  if (status !== undefined) q = q.where("status", "=", status);
  return q.distinctOn("host").orderBy("host").orderBy("at", "desc").orderBy("id", "desc").execute();
}

/** Seconds since each host's newest `done` deployment, at `now` (the age gauge). */
export async function revisionAges(db: Q, now: Date): Promise<{ host: string; seconds: number }[]> {
  const rows = await db
    .selectFrom("deployments")
    .select(["host", sql<number>`extract(epoch from (${now}::timestamptz - max(at)))`.as("seconds")])
    .where("status", "=", "done")
    .groupBy("host")
    .orderBy("host")
    .execute();
  return rows.map((r) => ({ host: r.host, seconds: Math.max(0, Number(r.seconds)) }));
}
