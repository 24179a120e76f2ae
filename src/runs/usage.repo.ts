import { sql } from "kysely";
import type { TokenStats } from "../agent/events.js";
import type { Db } from "../db/database.js";

/** What one agent turn used: tokens and cost as the provider reported them, and its wall time. */
export interface TurnUsage {
  model: string | undefined;
  tokens: TokenStats;
  cost: number;
  seconds: number;
}

/** Adds one agent turn's usage to its run (every attempt and turn counts: each was paid for). */
export async function addRunUsage(db: Db, runId: number, u: TurnUsage): Promise<void> {
  await db
    .updateTable("runs")
    .set((eb) => ({
      model: u.model ?? null,
      tokens_input: eb("tokens_input", "+", Math.round(u.tokens.input)),
      tokens_output: eb("tokens_output", "+", Math.round(u.tokens.output)),
      tokens_reasoning: eb("tokens_reasoning", "+", Math.round(u.tokens.reasoning)),
      tokens_cache_read: eb("tokens_cache_read", "+", Math.round(u.tokens.cacheRead)),
      tokens_cache_write: eb("tokens_cache_write", "+", Math.round(u.tokens.cacheWrite)),
      cost: eb("cost", "+", u.cost),
      agent_seconds: eb("agent_seconds", "+", u.seconds),
    }))
    .where("id", "=", runId)
    .execute();
}

/** The cost of the runs created since `since` (the window agent.maxCostPerDay is judged on). */
export async function costSince(db: Db, since: Date): Promise<number> {
  const row = await db
    .selectFrom("runs")
    .select(sql<number>`coalesce(sum(cost), 0)::float8`.as("cost"))
    .where("created_at", ">=", since)
    .executeTakeFirstOrThrow();
  return Number(row.cost);
}

/** Tokens by kind and cost over every run ever (runs are never deleted): the metrics' counters. */
export async function usageTotals(db: Db): Promise<{ tokens: TokenStats; cost: number }> {
  const r = await db
    .selectFrom("runs")
    .select([
      sql<number>`coalesce(sum(tokens_input), 0)::float8`.as("input"),
      sql<number>`coalesce(sum(tokens_output), 0)::float8`.as("output"),
      sql<number>`coalesce(sum(tokens_reasoning), 0)::float8`.as("reasoning"),
      sql<number>`coalesce(sum(tokens_cache_read), 0)::float8`.as("cacheRead"),
      sql<number>`coalesce(sum(tokens_cache_write), 0)::float8`.as("cacheWrite"),
      sql<number>`coalesce(sum(cost), 0)::float8`.as("cost"),
    ])
    .executeTakeFirstOrThrow();
  return {
    tokens: {
      input: Number(r.input),
      output: Number(r.output),
      reasoning: Number(r.reasoning),
      cacheRead: Number(r.cacheRead),
      cacheWrite: Number(r.cacheWrite),
    },
    cost: Number(r.cost),
  };
}

/** One run's usage, for the PR footer. */
export async function runUsage(
  db: Db,
  runId: number,
): Promise<(TurnUsage & { startedAt: Date | null }) | undefined> {
  const r = await db
    .selectFrom("runs")
    .select([
      "model",
      "tokens_input",
      "tokens_output",
      "tokens_reasoning",
      "tokens_cache_read",
      "tokens_cache_write",
      "cost",
      "agent_seconds",
      "started_at",
    ])
    .where("id", "=", runId)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    model: r.model ?? undefined,
    tokens: {
      input: Number(r.tokens_input),
      output: Number(r.tokens_output),
      reasoning: Number(r.tokens_reasoning),
      cacheRead: Number(r.tokens_cache_read),
      cacheWrite: Number(r.tokens_cache_write),
    },
    cost: Number(r.cost),
    seconds: Number(r.agent_seconds),
    startedAt: r.started_at,
  };
}
