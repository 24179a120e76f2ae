import { randomBytes } from "node:crypto";
import type { Db } from "../../src/db/database.js";

/** Inserts a minimal incident (the runs FK needs one) and returns its id. */
export async function insertIncident(db: Db, at: Date): Promise<number> {
  const row = await db
    .insertInto("incidents")
    .values({
      fingerprint: `fp-${randomBytes(6).toString("hex")}`,
      state: "fixing",
      source: "generic",
      title: "disk almost full on nas",
      alert_name: "DiskAlmostFull",
      first_seen_at: at,
      last_seen_at: at,
      state_changed_at: at,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
