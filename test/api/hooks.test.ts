import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp, TOKEN } from "../support/app.js";
import { tableCounts } from "../support/tables.js";

const fixture = (p: string) => readFileSync(new URL(`../fixtures/alerts/${p}`, import.meta.url), "utf8");
const JELLYFIN = fixture("openobserve/recommended.jellyfin-ffmpeg-permission-denied.json");

describe("POST /hooks/*", () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await createTestApp({ triage: { settleSeconds: 0 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("accepts the OpenObserve fixture with 202 and makes an incident visible in the API", async () => {
    const res = await h.post("openobserve", JELLYFIN);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; incidents: number[] };
    expect(body.accepted).toBe(1);
    expect(body.incidents).toHaveLength(1);
    const list = await h.app.request("/api/incidents", { headers: { authorization: `Bearer ${TOKEN}` } });
    const { incidents } = (await list.json()) as {
      incidents: { id: number; service: string; host: string; occurrences: number }[];
    };
    expect(incidents).toEqual([
      expect.objectContaining({
        id: body.incidents[0],
        service: "jellyfin.service",
        host: "media-01",
        occurrences: 1,
      }),
    ]);
  });

  it("does not count a retried delivery twice: it is counted on the delivery it repeats", async () => {
    const before = await tableCounts(h.t.db);
    const res = await h.post("openobserve", JELLYFIN);
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { delivery: number };
    expect(answer).toMatchObject({ accepted: 0, duplicates: 1, repeat: true });
    await h.repeats.flush();
    const after = await tableCounts(h.t.db);
    expect(after.alerts).toBe(before.alerts);
    expect(after.deliveries).toBe(before.deliveries);
    const inc = await h.t.db.selectFrom("incidents").select("occurrences").executeTakeFirstOrThrow();
    expect(inc.occurrences).toBe(1);
    const original = await h.t.db
      .selectFrom("deliveries")
      .select("repeats")
      .where("id", "=", answer.delivery)
      .executeTakeFirstOrThrow();
    expect(original.repeats).toBe(1);
  });

  it.each([
    ["no token", { authorization: "" }, "x", 401],
    ["wrong token", { authorization: "Bearer nope" }, "x", 401],
    ["wrong content type", { "content-type": "text/plain" }, JELLYFIN, 415],
    ["no content type", { "content-type": "" }, JELLYFIN, 415],
    ["over 1 MiB", {}, `{"alerts":[${"1,".repeat(600_000)}1]}`, 413],
    ["unknown source", {}, JELLYFIN, 404],
  ])("refuses %s and writes nothing", async (name, headers, body, status) => {
    const before = await tableCounts(h.t.db);
    const res = await h.post(name === "unknown source" ? "nagios" : "alertmanager", body, headers);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: string; message: string };
    expect(json.message.length).toBeGreaterThan(3);
    expect(await tableCounts(h.t.db)).toEqual(before);
  });

  it.each([
    ["malformed JSON", "alertmanager", '{"alerts": [', 400],
    ["wrong shape", "alertmanager", '{"alerts": "nope"}', 422],
    ["wrong shape (generic)", "generic", '{"alerts": [{"status": 7}]}', 422],
  ])("answers %s with %i, keeps only the raw body", async (_n, source, body, status) => {
    const before = await tableCounts(h.t.db);
    const res = await h.post(source, body);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: string; message: string };
    expect(json.message).not.toBe("");
    const after = await tableCounts(h.t.db);
    expect(after).toEqual({ ...before, deliveries: before.deliveries + 1 });
    const d = await h.t.db
      .selectFrom("deliveries")
      .selectAll()
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    expect(d.body).toBe(body);
    expect(d.parse_error).toMatch(status === 400 ? /^malformed/ : /^invalid/);
  });

  it("a per-source token is the only one accepted on its route", async () => {
    const s = await createTestApp({}, { sourceTokens: { gatus: "gatus-only" } });
    try {
      const body = fixture("gatus/triggered.jellyfin.json");
      expect((await s.post("gatus", body)).status).toBe(401);
      expect((await s.post("gatus", body, { authorization: "Bearer gatus-only" })).status).toBe(202);
      expect((await s.post("grafana", "{}", { authorization: "Bearer gatus-only" })).status).toBe(401);
    } finally {
      await s.close();
    }
  });

  it("accepts a sender's test notification without making an incident", async () => {
    const before = await tableCounts(h.t.db);
    const res = await h.post("uptime-kuma", fixture("uptime-kuma/test-notification.json"));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 0, incidents: [] });
    const after = await tableCounts(h.t.db);
    expect(after.incidents).toBe(before.incidents);
    expect(after.deliveries).toBe(before.deliveries + 1);
  });
});

describe("concurrent deliveries", () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await createTestApp({ triage: { settleSeconds: 3600 } });
  });
  afterAll(async () => {
    await h.close();
  });

  const alert = (i: number) => ({
    alerts: [{ name: "disk-full", service: "nas.mount", host: "nas", idempotencyKey: `occurrence-${i}` }],
  });

  it("50 distinct deliveries of one problem make one incident with 50 occurrences", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => h.post("generic", alert(i))));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(202));
    const incidents = await h.t.db.selectFrom("incidents").selectAll().execute();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]!.occurrences).toBe(50);
  });

  it("50 concurrent copies of one delivery count once", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => h.post("generic", alert(1000))));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(202));
    const accepted = await Promise.all(
      answers.map(async (r) => ((await r.json()) as { accepted: number }).accepted),
    );
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(1);
    const incident = await h.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
    expect(incident.occurrences).toBe(51);
  });
});
