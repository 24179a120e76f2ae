import type { Kysely } from "kysely";
import { runScript } from "../script.js";

// Forward-only. Never edit once landed: add 0003_… instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(
    db,
    `
    ALTER TABLE runs
      ADD COLUMN model              text,
      ADD COLUMN tokens_input       bigint NOT NULL DEFAULT 0,
      ADD COLUMN tokens_output      bigint NOT NULL DEFAULT 0,
      ADD COLUMN tokens_reasoning   bigint NOT NULL DEFAULT 0,
      ADD COLUMN tokens_cache_read  bigint NOT NULL DEFAULT 0,
      ADD COLUMN tokens_cache_write bigint NOT NULL DEFAULT 0,
      ADD COLUMN cost               double precision NOT NULL DEFAULT 0,
      ADD COLUMN agent_seconds      double precision NOT NULL DEFAULT 0;
    COMMENT ON COLUMN runs.model IS 'agent.model of the run''s agent turns (NULL: the agent''s own default)';
    COMMENT ON COLUMN runs.tokens_input IS 'Input tokens the provider reported, summed over every agent turn of every attempt';
    COMMENT ON COLUMN runs.tokens_output IS 'Output tokens, summed over every agent turn of every attempt';
    COMMENT ON COLUMN runs.tokens_reasoning IS 'Reasoning tokens, summed over every agent turn of every attempt';
    COMMENT ON COLUMN runs.tokens_cache_read IS 'Cache-read tokens, summed over every agent turn of every attempt';
    COMMENT ON COLUMN runs.tokens_cache_write IS 'Cache-write tokens, summed over every agent turn of every attempt';
    COMMENT ON COLUMN runs.cost IS 'Cost the provider reported (its unit, usually USD), summed over every agent turn; judged against agent.maxCostPerDay';
    COMMENT ON COLUMN runs.agent_seconds IS 'Wall-clock seconds the agent ran, summed over its turns';
    `,
  );
}
