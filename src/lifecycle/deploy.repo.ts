import type { Kysely, Transaction } from "kysely";
import type { Database, Incident } from "../db/tables.js";

type Q = Kysely<Database> | Transaction<Database>;

/** Incidents whose merged fix waits for its deployment, oldest first. */
export async function deployingIncidents(db: Q): Promise<Incident[]> {
  return db.selectFrom("incidents").selectAll().where("state", "=", "deploying").orderBy("id").execute();
}

/**
 * Claims the "still not deployed" warning: deploy_warned_at moves to `now` only while the incident
 * is still deploying and was not warned after `lastBefore`, so two instances (or passes) warn once.
 */
export async function claimDeployWarning(
  db: Q,
  args: { id: number; now: Date; lastBefore: Date },
): Promise<boolean> {
  const row = await db
    .updateTable("incidents")
    .set({ deploy_warned_at: args.now })
    .where("id", "=", args.id)
    .where("state", "=", "deploying")
    .where((eb) => eb.or([eb("deploy_warned_at", "is", null), eb("deploy_warned_at", "<", args.lastBefore)]))
    .returning("id")
    .executeTakeFirst();
  return row !== undefined;
}
