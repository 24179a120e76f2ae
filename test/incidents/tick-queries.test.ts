import { CompiledQuery, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  quietIncidents,
  quietIncidentsQuery,
  settledOpenIncidents,
  settledOpenQuery,
} from "../../src/incidents/incidents.repo.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/*
 * The maintenance tick's two scans of incidents run every few seconds, during ingest. With many
 * incidents in one state (a storm of distinct alerts, all settling) they must read a range of the
 * index on (state, first_seen_at), not every incident in the state.
 */

const N = 20_000;
let t: TestDatabase;
const now = new Date("2026-12-06T12:00:00Z");

beforeAll(async () => {
  t = await createTestDatabase();
  // N open incidents seen in the last minute, and one seen long ago (the one each scan must find).
  await sql`
    INSERT INTO incidents (fingerprint, state, source, title, alert_name, service, host, severity,
                           occurrences, first_seen_at, last_seen_at, state_changed_at)
    SELECT 'fp-' || g, 'open', 'generic', 't', 'a', 's', 'h', 'warning', 1,
           ${now}::timestamptz - (g % 60) * interval '1 second',
           ${now}::timestamptz - (g % 60) * interval '1 second', ${now}::timestamptz
    FROM generate_series(1, ${N}) g`.execute(t.db);
  await sql`
    INSERT INTO incidents (fingerprint, state, source, title, alert_name, service, host, severity,
                           occurrences, first_seen_at, last_seen_at, state_changed_at)
    VALUES ('fp-old', 'open', 'generic', 't', 'a', 's', 'h', 'warning', 1,
            ${now}::timestamptz - interval '2 days', ${now}::timestamptz - interval '2 days', ${now}::timestamptz)`.execute(
    t.db,
  );
  await sql`ANALYZE incidents`.execute(t.db);
});
afterAll(async () => {
  await t.drop();
});

async function explain(query: { sql: string; parameters: readonly unknown[] }) {
  const r = await t.db.executeQuery<{ "QUERY PLAN": unknown }>(
    CompiledQuery.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`, [...query.parameters]),
  );
  const plan = JSON.stringify(r.rows[0]!["QUERY PLAN"]);
  const removed = [...plan.matchAll(/"Rows Removed by (?:Filter|Index Recheck)":(\d+)/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  return {
    seqScan: plan.includes('"Seq Scan"'),
    usesIndex: plan.includes("incidents_state_first_seen"),
    removed,
  };
}

describe("the maintenance tick's scans of incidents", () => {
  it("find the settled open incident from a range of the index, without reading the others", async () => {
    const before = new Date(now.getTime() - 3600_000);
    expect((await settledOpenIncidents(t.db, before)).map((i) => i.fingerprint)).toEqual(["fp-old"]);
    const q = settledOpenQuery(t.db, before).compile();
    expect(await explain(q)).toEqual({ seqScan: false, usesIndex: true, removed: 0 });
  });

  it("find the stale incidents the same way", async () => {
    const before = new Date(now.getTime() - 86_400_000);
    expect((await quietIncidents(t.db, ["open", "suppressed"], before)).map((i) => i.fingerprint)).toEqual([
      "fp-old",
    ]);
    const q = quietIncidentsQuery(t.db, ["open", "suppressed"], before).compile();
    expect(await explain(q)).toEqual({ seqScan: false, usesIndex: true, removed: 0 });
  });
});
