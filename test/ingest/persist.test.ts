import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/database.js";
import { createSilence } from "../../src/incidents/silences.js";
import { isWriteConflict } from "../../src/ingest/deliveries.repo.js";
import { parseDelivery } from "../../src/ingest/parsers.js";
import { persist, type StoreItem } from "../../src/ingest/persist.js";
import { StoredKeys } from "../../src/ingest/stored-keys.js";
import { createTestApp, type TestApp } from "../support/app.js";

let h: TestApp | undefined;
const pools: Db[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.destroy();
  await h?.close();
  h = undefined;
});

async function setup(): Promise<TestApp> {
  h = await createTestApp({ triage: { settleSeconds: 60 } });
  return h;
}

function item(app: TestApp, keys: string[], status: "firing" | "resolved" = "firing"): StoreItem {
  const receivedAt = app.clock.now();
  const body = JSON.stringify({
    alerts: keys.map((k) => ({
      name: "nginx-down",
      service: "nginx.service",
      host: "nas",
      status,
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

describe("persist: one statement per batch", () => {
  it("a repeat of a stored key is a duplicate, counted on its delivery", async () => {
    const app = await setup();
    const [first] = await persist(app.t.db, [item(app, ["k1", "k2"])]);
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(first!.touched).toEqual([expect.objectContaining({ added: 2, created: true, resolved: false })]);
    const [again] = await persist(app.t.db, [item(app, ["k2", "k3"])]);
    expect(again).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(again!.touched).toEqual([expect.objectContaining({ added: 1, created: false })]);
    expect(await alertCount(app)).toBe(3);
    const deliveries = await app.t.db
      .selectFrom("deliveries")
      .select("duplicate_alerts")
      .orderBy("id")
      .execute();
    expect(deliveries.map((d) => d.duplicate_alerts)).toEqual([0, 1]);
    const incident = await app.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
    expect(incident.occurrences).toBe(3);
    const events = await app.t.db.selectFrom("incident_events").select(["kind", "data"]).execute();
    expect(events).toEqual([
      { kind: "created", data: { fingerprint: incident.fingerprint, delivery: first!.deliveryId } },
    ]);
  });

  it("a new incident is stored with its first reason, and comes back with what triage needs of it", async () => {
    const app = await setup();
    const firstReason = (at: Date) => `settling since ${at.toISOString()}`;
    const [first] = await persist(app.t.db, [item(app, ["k1"])], { firstReason });
    const before = first!.touched[0]!;
    expect(before.fresh).toMatchObject({ previous: undefined, silences: [] });
    await app.t.db
      .updateTable("incidents")
      .set({ state: "dismissed", resolved_at: app.clock.now() })
      .where("id", "=", before.id)
      .execute();
    await createSilence(app.deps, { service: "nginx.service", seconds: 600, reason: "maintenance" });
    const again = item(app, ["k2"]);
    const [second] = await persist(app.t.db, [again], { firstReason });
    const t = second!.touched[0]!;
    expect(t).toMatchObject({ created: true, added: 1 });
    expect(t.fresh!.incident).toEqual({
      id: t.id,
      state: "open",
      fingerprint: again.alerts[0]!.fingerprint,
      service: "nginx.service",
      alert_name: "nginx-down",
      title: "nginx-down: nginx.service",
      first_seen_at: again.base.receivedAt,
      previous_incident_id: before.id,
      triage_reason: firstReason(again.base.receivedAt),
    });
    expect(t.fresh!.previous).toEqual({ id: before.id, state: "dismissed", resolved_at: app.clock.now() });
    expect(t.fresh!.silences).toEqual([
      expect.objectContaining({ service: "nginx.service", alert_name: null, reason: "maintenance" }),
    ]);
    // What came back is what is stored.
    const row = await app.t.db
      .selectFrom("incidents")
      .selectAll()
      .where("id", "=", t.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ ...t.fresh!.incident, occurrences: 1 });
  });

  it("a key twice in one batch is new for its first delivery only", async () => {
    const app = await setup();
    const out = await persist(app.t.db, [item(app, ["k1"]), item(app, ["k1", "k2"])]);
    expect(out.map((o) => [o.accepted, o.duplicates])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(out[0]!.deliveryId).toBeLessThan(out[1]!.deliveryId);
    const incident = await app.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
    expect(incident.occurrences).toBe(2);
  });

  it("a resolve attaches to the live incident; a resolve for nothing live is stored unattached", async () => {
    const app = await setup();
    const [lonely] = await persist(app.t.db, [item(app, ["r0"], "resolved")]);
    expect(lonely).toMatchObject({ accepted: 1, touched: [] });
    const [fired] = await persist(app.t.db, [item(app, ["f1"])]);
    const [resolved] = await persist(app.t.db, [item(app, ["r1"], "resolved")]);
    expect(resolved!.touched).toEqual([
      { id: fired!.touched[0]!.id, added: 0, created: false, resolved: true, messages: [] },
    ]);
    const incident = await app.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
    expect(incident.occurrences).toBe(1);
    const alerts = await app.t.db
      .selectFrom("alerts")
      .select(["idempotency_key", "incident_id"])
      .orderBy("id")
      .execute();
    expect(alerts.map((a) => a.incident_id)).toEqual([null, incident.id, incident.id]);
  });

  it("two instances storing the same alerts at once count each once, on one incident", async () => {
    const app = await setup();
    // Two pools are two instances: their statements run concurrently on the server.
    const a = openDatabase(app.t.url, { max: 4 });
    const b = openDatabase(app.t.url, { max: 4 });
    pools.push(a, b);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    // Eight overlapping batches of 20 keys that together hold all 40.
    const slice = (i: number) => keys.slice(i * 3, i * 3 + 20);
    const rounds = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => persist(i % 2 ? a : b, [item(app, slice(i))])),
    );
    // A batch that lost the race to create the incident fails as a write conflict (the ingester
    // retries it); store those again, as the ingester would.
    const stored = [];
    for (const [i, r] of rounds.entries()) {
      if (r.status === "rejected") expect(isWriteConflict(r.reason)).toBe(true);
      stored.push(...(r.status === "fulfilled" ? r.value : await persist(a, [item(app, slice(i))])));
    }
    const accepted = stored.reduce((n, s) => n + s.accepted, 0);
    expect(accepted).toBe(keys.length);
    const incidents = await app.t.db.selectFrom("incidents").selectAll().execute();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]!.occurrences).toBe(keys.length);
    expect(await alertCount(app)).toBe(keys.length);
    const created = await app.t.db
      .selectFrom("incident_events")
      .select("id")
      .where("kind", "=", "created")
      .execute();
    expect(created).toHaveLength(1);
  });
});

describe("persist with the keys this process saw committed", () => {
  it("learns every key of a committed batch with the stored delivery that carried it", async () => {
    const app = await setup();
    const known = new StoredKeys();
    const one = item(app, ["k1", "k2"]);
    const [first] = await persist(app.t.db, [one], { known });
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(keysOf(one).map((k) => known.deliveryOf(k))).toEqual([first!.deliveryId, first!.deliveryId]);
    const two = item(app, ["k2", "k3"]);
    const [again] = await persist(app.t.db, [two], { known });
    expect(again).toMatchObject({ accepted: 1, duplicates: 1 });
    // k2 keeps the delivery that first carried it; k3 is the second's.
    expect(keysOf(two).map((k) => known.deliveryOf(k))).toEqual([first!.deliveryId, again!.deliveryId]);
    expect(await alertCount(app)).toBe(3);
    const deliveries = await app.t.db
      .selectFrom("deliveries")
      .select("duplicate_alerts")
      .orderBy("id")
      .execute();
    expect(deliveries.map((d) => d.duplicate_alerts)).toEqual([0, 1]);
  });

  it("still asks the table: a key it is told is stored but is not gets inserted", async () => {
    const app = await setup();
    // persist never skips work on what it knows; the ingester answers repeats before it.
    const it9 = item(app, ["k9"]);
    const known = new StoredKeys();
    known.add(keysOf(it9), [1]);
    const [r] = await persist(app.t.db, [it9], { known });
    expect(r).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await alertCount(app)).toBe(1);
  });

  it("learns nothing from a batch that rolled back", async () => {
    const app = await setup();
    const known = new StoredKeys();
    // The alerts insert fails inside the statement (after the deliveries' ids were drawn).
    await sql`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$`.execute(app.t.db);
    await sql`CREATE TRIGGER refuse BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse()`.execute(
      app.t.db,
    );
    const bad = item(app, ["k1"]);
    await expect(persist(app.t.db, [bad], { known })).rejects.toThrow(/refused by the test/);
    expect(keysOf(bad).some((k) => known.has(k))).toBe(false);
    expect(known.size).toBe(0);
    expect(await app.t.db.selectFrom("deliveries").select("id").execute()).toEqual([]);
  });
});

describe("the batch statement on PostgreSQL", () => {
  it("goes by name: each connection parses and plans it once", async () => {
    const app = await setup();
    const one = openDatabase(app.t.url, { max: 1 });
    pools.push(one);
    await persist(one, [item(app, ["n1"])]);
    await persist(one, [item(app, ["n2"])]);
    const { rows } = await sql<{ name: string }>`SELECT name FROM pg_prepared_statements`.execute(one);
    expect(rows.map((r) => r.name)).toEqual(["store_batch"]);
    expect(await alertCount(app)).toBe(2);
  });
});
