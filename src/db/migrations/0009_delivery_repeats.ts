import type { Kysely } from "kysely";
import { runScript } from "../script.js";

// Forward-only. Never edit once landed.
// Exact repeats (every alert's key already committed) are answered from memory and counted on the
// stored delivery they repeat, in batches, instead of a row each.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(
    db,
    `
    ALTER TABLE deliveries ADD COLUMN repeats integer NOT NULL DEFAULT 0,
                           ADD COLUMN last_repeat_at timestamptz;
    COMMENT ON COLUMN deliveries.repeats IS 'Later deliveries of nothing but this one''s (already stored) alerts: answered 202 from memory, counted here in batches, not stored; a crash may lose the last second of counts, never an alert';
    COMMENT ON COLUMN deliveries.last_repeat_at IS 'When the last of those repeats was received; NULL when none';
    `,
  );
}
