import type { Kysely } from "kysely";
import { runScript } from "../script.js";

// Forward-only. Never edit once landed.
// The maintenance tick asks every few seconds for open incidents first seen before the settle time
// and for live ones last seen before the stale time. On `(state)` alone both read every incident in
// the state (seen: 13–53 ms a query at 100k open incidents, during ingest). `(state, first_seen_at)`
// answers both from a range (last_seen_at is never before first_seen_at, so the stale query bounds
// first_seen_at too), still serves a lookup by state, and costs an insert what `(state)` did:
// first_seen_at is never updated, so it takes nothing from HOT updates.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(
    db,
    `
    CREATE INDEX incidents_state_first_seen ON incidents (state, first_seen_at);
    DROP INDEX incidents_state;
    `,
  );
}
