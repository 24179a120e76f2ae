import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { poolOf } from "../../src/db/database.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { type Healer, startHealer } from "../support/serve.js";

/* Exact repeats: answered from what this process saw committed, counted in batches (ingest/repeats.ts). */

let h: TestApp | undefined;
let healer: Healer | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await healer?.stop();
  healer = undefined;
});

const body = (key: string, service = "disk.service") => ({
  alerts: [{ name: "unit-failed", service, host: "nas", summary: "down", idempotencyKey: key }],
});

describe("an exact repeat", () => {
  it("is answered without a statement; the counts of many go in one at the flush", async () => {
    h = await createTestApp({ triage: { settleSeconds: 3600 } });
    const first = (await (await h.post("generic", body("d1"))).json()) as { delivery: number };
    const pool = poolOf(h.t.db)!;
    let checkouts = 0;
    pool.on("acquire", () => void checkouts++);
    const answers = await Promise.all(Array.from({ length: 20 }, () => h!.post("generic", body("d1"))));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(checkouts).toBe(0);
    await h.repeats.flush();
    expect(checkouts).toBe(1);
    const row = await h.t.db
      .selectFrom("deliveries")
      .select(["id", "repeats", "last_repeat_at"])
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ id: first.delivery, repeats: 20 });
    expect(row.last_repeat_at).toEqual(h.clock.now());
    // Nothing counted twice: a second flush writes nothing.
    const read = checkouts;
    await h.repeats.flush();
    expect(checkouts).toBe(read);
  });

  it("keeps its count when a flush fails, and the next flush writes it", async () => {
    h = await createTestApp({ triage: { settleSeconds: 3600 } });
    await h.post("generic", body("d1"));
    await h.post("generic", body("d1"));
    await sql`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$`.execute(h.t.db);
    await sql`CREATE TRIGGER refuse BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse()`.execute(
      h.t.db,
    );
    await h.repeats.flush();
    expect(h.repeats.unwritten).toBe(1);
    expect(h.lines.some((l) => /could not write repeat counts/.test(String(l.msg)))).toBe(true);
    await h.post("generic", body("d1"));
    await sql`DROP TRIGGER refuse ON deliveries`.execute(h.t.db);
    await h.repeats.flush();
    expect(h.repeats.unwritten).toBe(0);
    const row = await h.t.db.selectFrom("deliveries").select("repeats").executeTakeFirstOrThrow();
    expect(row.repeats).toBe(2);
  });

  it("moves last_seen_at of the live incident only: a resolved one stays as it was", async () => {
    h = await createTestApp({ triage: { settleSeconds: 3600 } });
    await h.post("generic", body("d1"));
    await h.post("generic", body("e1", "other.service"));
    await h.t.db
      .updateTable("incidents")
      .set({ state: "resolved" })
      .where("service", "=", "other.service")
      .execute();
    const before = await h.t.db
      .selectFrom("incidents")
      .select(["service", "last_seen_at"])
      .orderBy("service")
      .execute();
    h.clock.advance(30);
    await h.post("generic", body("d1"));
    await h.post("generic", body("e1", "other.service"));
    await h.repeats.flush();
    const after = await h.t.db
      .selectFrom("incidents")
      .select(["service", "last_seen_at"])
      .orderBy("service")
      .execute();
    expect(after.map((i) => i.last_seen_at.getTime())).toEqual([
      before[0]!.last_seen_at.getTime() + 30_000,
      before[1]!.last_seen_at.getTime(),
    ]);
  });
});

it("serve writes the counted repeats before it closes the database", async () => {
  healer = await startHealer({ config: (c) => ({ ...c, triage: { settleSeconds: 3600 } }) });
  expect((await healer.post("generic", body("s1"))).status).toBe(202);
  for (let i = 0; i < 5; i++) expect((await healer.post("generic", body("s1"))).status).toBe(202);
  await healer.halt();
  const row = await healer.t.db.selectFrom("deliveries").select("repeats").executeTakeFirstOrThrow();
  expect(row.repeats).toBe(5);
});

describe("a body seen before in the same minute", () => {
  it("is a repeat without a parse; in the next minute it is parsed again (keys may carry the minute)", async () => {
    h = await createTestApp({ triage: { settleSeconds: 3600 } });
    // No startsAt and no key: the generic format keys the occurrence by the received minute.
    const minuteKeyed = { alerts: [{ name: "unit-failed", service: "disk.service", host: "nas" }] };
    const first = (await (await h.post("generic", minuteKeyed)).json()) as { accepted: number };
    expect(first.accepted).toBe(1);
    expect(await (await h.post("generic", minuteKeyed)).json()).toMatchObject({ accepted: 0, repeat: true });
    h.clock.advance(60);
    // A new minute is a new occurrence: parsed, stored, counted.
    expect(await (await h.post("generic", minuteKeyed)).json()).toMatchObject({ accepted: 1 });
    const incident = await h.t.db.selectFrom("incidents").select("occurrences").executeTakeFirstOrThrow();
    expect(incident.occurrences).toBe(2);
  });
});
