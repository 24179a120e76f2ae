import { afterEach, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/app.js";

/* Bursts through the group commit: batches keep the one-delivery-at-a-time rules. */

let h: TestApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const alert = (service: string, key: string, summary = "down") => ({
  alerts: [{ name: "unit-failed", service, host: "nas", summary, idempotencyKey: key }],
});

it("a burst of new, repeated and retried deliveries counts each occurrence once, one incident a problem", async () => {
  h = await createTestApp({ triage: { settleSeconds: 3600 } });
  const bodies = Array.from({ length: 200 }, (_, i) => alert(`svc${i % 10}.service`, `k${i % 120}`));
  const answers = await Promise.all(bodies.map((b) => h!.post("generic", b)));
  expect(answers.map((r) => r.status)).toEqual(Array(200).fill(202));
  const accepted = await Promise.all(
    answers.map(async (r) => ((await r.json()) as { accepted: number }).accepted),
  );
  expect(accepted.reduce((a, b) => a + b, 0)).toBe(120);
  const incidents = await h.t.db.selectFrom("incidents").selectAll().orderBy("service").execute();
  expect(incidents).toHaveLength(10);
  expect(incidents.reduce((n, i) => n + i.occurrences, 0)).toBe(120);
  for (const i of incidents) {
    expect(i.state).toBe("open");
    expect(i.triage_reason).toMatch(/^settling until .* \(triage\.settleSeconds\)$/);
  }
  const created = await h.t.db
    .selectFrom("incident_events")
    .select("kind")
    .where("kind", "=", "created")
    .execute();
  expect(created).toHaveLength(10);
  const alerts = await h.t.db.selectFrom("alerts").select(["incident_id"]).execute();
  expect(alerts).toHaveLength(120);
  expect(alerts.every((a) => a.incident_id !== null)).toBe(true);
});

it("an ignore rule and a silence still suppress incidents made in a burst", async () => {
  h = await createTestApp({ triage: { settleSeconds: 3600, ignore: [{ message: "harmless" }] } });
  const silence = await h.app.request("/api/silences", {
    method: "POST",
    headers: { authorization: "Bearer test-token-0123456789", "content-type": "application/json" },
    body: JSON.stringify({ service: "quiet.service", for: "2h", reason: "maintenance" }),
  });
  expect(silence.status).toBeLessThan(300);
  const answers = await Promise.all([
    h.post("generic", alert("noisy.service", "n1", "harmless blip")),
    h.post("generic", alert("quiet.service", "q1")),
    h.post("generic", alert("real.service", "r1")),
  ]);
  expect(answers.map((r) => r.status)).toEqual([202, 202, 202]);
  const byService = Object.fromEntries(
    (await h.t.db.selectFrom("incidents").select(["service", "state", "triage_reason"]).execute()).map(
      (i) => [i.service, i],
    ),
  );
  expect(byService["noisy.service"]).toMatchObject({ state: "suppressed" });
  expect(byService["noisy.service"]!.triage_reason).toMatch(/triage\.ignore\[0\]/);
  expect(byService["quiet.service"]).toMatchObject({ state: "suppressed" });
  expect(byService["quiet.service"]!.triage_reason).toMatch(/^silenced/);
  expect(byService["real.service"]).toMatchObject({ state: "open" });
});

it("a repeat is answered from memory: no row, counted on the delivery it repeats, last_seen_at moved at the flush", async () => {
  h = await createTestApp({ triage: { settleSeconds: 3600 } });
  const firstAnswer = (await (await h.post("generic", alert("disk.service", "d1"))).json()) as {
    delivery: number;
  };
  const first = await h.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
  h.clock.advance(0.5);
  expect(await (await h.post("generic", alert("disk.service", "d1"))).json()).toEqual({
    accepted: 0,
    duplicates: 1,
    incidents: [],
    delivery: firstAnswer.delivery,
    repeat: true,
  });
  h.clock.advance(60);
  expect((await h.post("generic", alert("disk.service", "d1"))).status).toBe(202);
  // Nothing is written until the flush: one statement for both repeats.
  expect(await h.t.db.selectFrom("deliveries").select("id").execute()).toHaveLength(1);
  expect(h.repeats.unwritten).toBe(2);
  await h.repeats.flush();
  const later = await h.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
  expect(later.last_seen_at.getTime()).toBe(first.last_seen_at.getTime() + 60_500);
  expect(later.occurrences).toBe(1);
  const deliveries = await h.t.db
    .selectFrom("deliveries")
    .select(["id", "duplicate_alerts", "repeats", "last_repeat_at"])
    .execute();
  expect(deliveries).toEqual([
    { id: firstAnswer.delivery, duplicate_alerts: 0, repeats: 2, last_repeat_at: later.last_seen_at },
  ]);
});

it("a delivery with one new alert among repeats is stored whole", async () => {
  h = await createTestApp({ triage: { settleSeconds: 3600 } });
  expect((await h.post("generic", alert("disk.service", "d1"))).status).toBe(202);
  const both = {
    alerts: [...alert("disk.service", "d1").alerts, ...alert("disk.service", "d2").alerts],
  };
  expect(await (await h.post("generic", both)).json()).toMatchObject({ accepted: 1, duplicates: 1 });
  const deliveries = await h.t.db.selectFrom("deliveries").select("duplicate_alerts").orderBy("id").execute();
  expect(deliveries.map((d) => d.duplicate_alerts)).toEqual([0, 1]);
  expect(h.repeats.unwritten).toBe(0);
});
