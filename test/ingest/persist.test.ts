import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { parseDelivery } from "../../src/ingest/parsers.js";
import { type StoreItem, storeBatch } from "../../src/ingest/store.js";
import { StoredKeys } from "../../src/ingest/stored-keys.js";
import { createTestApp, type TestApp } from "../support/app.js";

let h: TestApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(): Promise<TestApp> {
  h = await createTestApp({ triage: { settleSeconds: 60 } });
  return h;
}

function item(app: TestApp, keys: string[]): StoreItem {
  const receivedAt = app.clock.now();
  const body = JSON.stringify({
    alerts: keys.map((k) => ({
      name: "nginx-down",
      service: "nginx.service",
      host: "nas",
      idempotencyKey: k,
    })),
  });
  const parsed = parseDelivery("generic", body, { receivedAt });
  if (parsed.kind !== "alerts") throw new Error(`fixture did not parse: ${parsed.kind}`);
  const base = { source: "generic", receivedAt, contentType: "application/json", remoteAddr: null, body };
  return { base: { ...base, bodyBytes: body.length }, alerts: parsed.alerts };
}

const alertCount = async (app: TestApp) =>
  (await app.t.db.selectFrom("alerts").select("idempotency_key").orderBy("id").execute()).length;
const keysOf = (it: StoreItem) => it.alerts.map((a) => a.idempotencyKey);

describe("storeBatch with the keys this process saw committed", () => {
  it("learns the keys of a committed batch; a repeat of one is a duplicate", async () => {
    const app = await setup();
    const known = new StoredKeys();
    const one = item(app, ["k1", "k2"]);
    const [first] = await storeBatch(app.deps, [one], known);
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(keysOf(one).every((k) => known.has(k))).toBe(true);
    const [again] = await storeBatch(app.deps, [item(app, ["k2", "k3"])], known);
    expect(again).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(await alertCount(app)).toBe(3);
    const deliveries = await app.t.db
      .selectFrom("deliveries")
      .select("duplicate_alerts")
      .orderBy("id")
      .execute();
    expect(deliveries.map((d) => d.duplicate_alerts)).toEqual([0, 1]);
  });

  it("does not look a known key up: it is taken as stored", async () => {
    const app = await setup();
    // Told (wrongly, for this test) that k9 is stored: it is counted a duplicate, never inserted.
    const it9 = item(app, ["k9"]);
    const known = new StoredKeys();
    known.add(keysOf(it9));
    const [r] = await storeBatch(app.deps, [it9], known);
    expect(r).toMatchObject({ accepted: 0, duplicates: 1, touched: [] });
    expect(await alertCount(app)).toBe(0);
  });

  it("a hit does not renew a key: it is checked against the table again after the time to live", async () => {
    const app = await setup();
    let now = 0;
    const known = new StoredKeys({ max: 100, ttlMs: 1_000, now: () => now });
    const one = item(app, ["k1"]);
    await storeBatch(app.deps, [one], known);
    now = 900;
    expect(await storeBatch(app.deps, [item(app, ["k1"])], known)).toMatchObject([{ duplicates: 1 }]);
    now = 1_100;
    expect(keysOf(one).some((k) => known.has(k))).toBe(false);
    // Looked up again: still stored, so still a duplicate, and learned again.
    expect(await storeBatch(app.deps, [item(app, ["k1"])], known)).toMatchObject([{ duplicates: 1 }]);
    expect(keysOf(one).every((k) => known.has(k))).toBe(true);
  });

  it("learns nothing from a batch that rolled back", async () => {
    const app = await setup();
    const known = new StoredKeys();
    // The alerts insert fails inside the transaction (after the deliveries and incidents).
    await sql`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$`.execute(app.t.db);
    await sql`CREATE TRIGGER refuse BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse()`.execute(
      app.t.db,
    );
    const bad = item(app, ["k1"]);
    await expect(storeBatch(app.deps, [bad], known)).rejects.toThrow(/refused by the test/);
    expect(keysOf(bad).some((k) => known.has(k))).toBe(false);
    expect(known.size).toBe(0);
    expect(await app.t.db.selectFrom("deliveries").select("id").execute()).toEqual([]);
  });
});
