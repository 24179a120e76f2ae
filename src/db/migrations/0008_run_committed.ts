import type { Kysely } from "kysely";
import { runScript } from "../script.js";

// Forward-only. Never edit once landed.
// `committed`: a dry run (forge.type "none") committed its change in the mirror and pushed nothing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(
    db,
    `
    ALTER TABLE runs DROP CONSTRAINT runs_outcome_check;
    ALTER TABLE runs ADD CONSTRAINT runs_outcome_check CHECK (outcome IN
      ('pr_opened','committed','no_change','refused','validation_failed','failed','timed_out','cancelled'));
    COMMENT ON COLUMN runs.outcome IS 'pr_opened, committed (dry run: forge.type none, the commit stays on the branch in stateDir/mirror.git), no_change, refused (guard), validation_failed, failed, timed_out, cancelled';
    `,
  );
}
