import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, Incident } from "../db/tables.js";

type Q = Kysely<Database> | Transaction<Database>;

/** Incidents waiting on their PR: the ones PR polling reads. */
export async function prOpenIncidents(db: Q): Promise<Incident[]> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("state", "=", "pr_open")
    .where("pr_number", "is not", null)
    .orderBy("id")
    .execute();
}

/** The incident whose current PR is `number` (PR numbers are unique in the one repo). */
export async function incidentByPrNumber(db: Q, number: number): Promise<Incident | undefined> {
  return db
    .selectFrom("incidents")
    .selectAll()
    .where("pr_number", "=", number)
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}

/**
 * Claims the right to post a "still happening" comment: the row is locked and pr_commented_at moved
 * to `now` in one transaction, so two deliveries (or instances) at once post one comment. Due when
 * none was posted on this PR yet (the column predates the PR's opening) or the last one is older
 * than `lastBefore`.
 */
export async function claimComment(
  db: Kysely<Database>,
  args: { id: number; now: Date; lastBefore: Date },
): Promise<{ previous: Date | null; openedAt: Date; prNumber: number } | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom("incidents")
      .select(["pr_commented_at", "state_changed_at", "pr_number"])
      .where("id", "=", args.id)
      .where("state", "=", "pr_open")
      .forUpdate()
      .executeTakeFirst();
    if (!row || row.pr_number === null) return undefined;
    const last = row.pr_commented_at;
    if (last !== null && last >= row.state_changed_at && last > args.lastBefore) return undefined;
    await trx.updateTable("incidents").set({ pr_commented_at: args.now }).where("id", "=", args.id).execute();
    return { previous: last, openedAt: row.state_changed_at, prNumber: row.pr_number };
  });
}

/** Gives a claim back when the comment could not be posted, so the next recurrence tries again. */
export async function releaseComment(db: Q, id: number, claimed: Date, previous: Date | null): Promise<void> {
  await db
    .updateTable("incidents")
    .set({ pr_commented_at: previous })
    .where("id", "=", id)
    .where("pr_commented_at", "=", claimed)
    .execute();
}

/** The newest event id, of events before `before` when given (where the notification cursor starts). */
export async function maxEventId(db: Q, before?: Date): Promise<number> {
  let q = db.selectFrom("incident_events").select((eb) => eb.fn.max("id").as("max"));
  if (before !== undefined) q = q.where("at", "<", before);
  const r = await q.executeTakeFirst();
  return Number(r?.max ?? 0);
}

/** An event worth a notification, with what the message needs from its incident. */
export interface NotableEvent {
  id: number;
  incident_id: number;
  kind: string;
  message: string;
  to: string | null;
  title: string;
  pr_url: string | null;
  service: string | null;
}

/** PR opened, needs human and follow-up events with `after < id <= upTo`, oldest first. */
export async function notableEvents(db: Q, after: number, upTo: number): Promise<NotableEvent[]> {
  return db
    .selectFrom("incident_events as e")
    .innerJoin("incidents as i", "i.id", "e.incident_id")
    .select([
      "e.id",
      "e.incident_id",
      "e.kind",
      "e.message",
      sql<string | null>`e.data->>'to'`.as("to"),
      "i.title",
      "i.pr_url",
      "i.service",
    ])
    .where("e.id", ">", after)
    .where("e.id", "<=", upTo)
    .where((eb) =>
      eb.or([
        eb("e.kind", "in", ["pr_opened", "committed", "follow_up"]),
        eb(sql`e.data->>'to'`, "=", "needs_human"),
      ]),
    )
    .orderBy("e.id")
    .execute();
}
