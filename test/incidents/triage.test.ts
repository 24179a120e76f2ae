import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import type { Incident } from "../../src/db/tables.js";
import { dismissIncident } from "../../src/incidents/actions.js";
import { incidentTick } from "../../src/incidents/maintenance.js";
import { createSilence } from "../../src/incidents/silences.js";
import { createTestApp, type TestApp } from "../support/app.js";

const REPO = { repo: { url: "file:///nonexistent/homelab.git" }, forge: { type: "none" } };
let h: TestApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(raw: Record<string, unknown>) {
  h = await createTestApp(raw);
  return h;
}

let seq = 0;
/** Posts one firing generic alert (a new occurrence each time) and returns its incident. */
async function fire(app: TestApp, extra: Record<string, unknown> = {}): Promise<Incident> {
  const res = await app.post("generic", {
    name: "nginx-down",
    service: "nginx.service",
    host: "nas",
    idempotencyKey: `occ-${++seq}`,
    ...extra,
  });
  expect(res.status).toBe(202);
  const id = ((await res.json()) as { incidents: number[] }).incidents[0]!;
  return incident(app, id);
}
const incident = (app: TestApp, id: number) =>
  app.t.db.selectFrom("incidents").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const runs = (app: TestApp) => app.t.db.selectFrom("runs").selectAll().execute();
const events = (app: TestApp, id: number) =>
  app.t.db.selectFrom("incident_events").selectAll().where("incident_id", "=", id).orderBy("id").execute();

describe("triage", () => {
  it("settles: open until settleSeconds have passed, then acts (a run is queued)", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 60 } });
    const i = await fire(a);
    expect(i.state).toBe("open");
    expect(i.triage_reason).toMatch(/settling until/);
    a.clock.advance(30);
    await incidentTick(a.deps, a.clock.now());
    expect((await incident(a, i.id)).state).toBe("open");
    a.clock.advance(31);
    await incidentTick(a.deps, a.clock.now());
    const after = await incident(a, i.id);
    expect(after.state).toBe("fixing");
    expect(after.branch).toBe(`healer/incident-${i.id}`);
    expect(await runs(a)).toHaveLength(1);
    expect(a.wakes.n).toBe(1);
  });

  it("a new incident is stored settling, with its reason, by the statement that stored its alert", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 60 } });
    const i = await fire(a);
    expect(i.triage_reason).toBe(
      `settling until ${new Date(i.first_seen_at.getTime() + 60_000).toISOString()} (triage.settleSeconds)`,
    );
    // One transaction wrote both rows: no second write of the incident for its verdict.
    const xmin = (table: "alerts" | "incidents") =>
      sql<{ x: string }>`SELECT xmin::text AS x FROM ${sql.table(table)}`.execute(a.t.db);
    expect((await xmin("incidents")).rows).toEqual((await xmin("alerts")).rows);
    // A later alert of it is judged from what is read (the reason is unchanged, so not written again).
    a.clock.advance(5);
    const again = await fire(a);
    expect(again).toMatchObject({ id: i.id, state: "open", triage_reason: i.triage_reason, occurrences: 2 });
  });

  it("while settling, a new incident is noise at once when silenced, ignored, or back after a dismissal", async () => {
    const a = await setup({
      ...REPO,
      triage: { settleSeconds: 600, ignore: [{ message: "upstream timed out" }] },
      lifecycle: { dismissCooldownSeconds: 3600 },
    });
    await createSilence(a.deps, { service: "muted.service", seconds: 600, reason: "maintenance" });
    const muted = await fire(a, { service: "muted.service" });
    expect(muted).toMatchObject({
      state: "suppressed",
      triage_reason: expect.stringMatching(/^silenced \(muted\.service\)/),
    });
    const ignored = await fire(a, { name: "nginx-5xx", summary: "upstream timed out" });
    expect(ignored).toMatchObject({
      state: "suppressed",
      triage_reason: expect.stringMatching(/matches triage\.ignore\[0\]/),
    });
    const first = await fire(a, { name: "disk-full" });
    expect(first.state).toBe("open");
    await dismissIncident(a.deps, first.id, "known, not now");
    a.clock.advance(60);
    const back = await fire(a, { name: "disk-full" });
    expect(back).toMatchObject({ previous_incident_id: first.id, state: "suppressed" });
    expect(back.triage_reason).toMatch(new RegExp(`incident ${first.id} was dismissed`));
    expect(await runs(a)).toHaveLength(0);
  });

  it("a resolve while settling resolves the incident: no run", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 60 } });
    const i = await fire(a);
    await fire(a, { status: "resolved" });
    expect((await incident(a, i.id)).state).toBe("resolved");
    a.clock.advance(120);
    await incidentTick(a.deps, a.clock.now());
    expect(await runs(a)).toHaveLength(0);
  });

  it("needs minOccurrences within windowSeconds: noise until then, re-judged on new alerts", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 0, minOccurrences: 3, windowSeconds: 600 } });
    const i = await fire(a);
    expect(i.state).toBe("suppressed");
    expect(i.triage_reason).toBe("1 of 3 occurrences within 600 s (triage.minOccurrences)");
    a.clock.advance(700); // the first occurrence leaves the window
    await fire(a);
    a.clock.advance(10);
    expect((await fire(a)).state).toBe("suppressed");
    expect((await incident(a, i.id)).triage_reason).toMatch(/^2 of 3/);
    a.clock.advance(10);
    expect((await fire(a)).state).toBe("fixing");
    expect(await runs(a)).toHaveLength(1);
  });

  it("ignore rules make noise, with the rule named", async () => {
    const a = await setup({
      ...REPO,
      triage: { settleSeconds: 0, ignore: [{ service: "^nginx\\.", message: "upstream timed out" }] },
    });
    const ignored = await fire(a, { summary: "upstream timed out (110: Connection timed out)" });
    expect(ignored.state).toBe("suppressed");
    expect(ignored.triage_reason).toMatch(/matches triage\.ignore\[0\]/);
    const other = await fire(a, { name: "nginx-5xx", summary: "502 Bad Gateway" });
    expect(other.state).toBe("fixing");
  });

  it("silences suppress until they expire, then the incident is judged again", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 0 } });
    await createSilence(a.deps, { service: "nginx.service", seconds: 600, reason: "maintenance" });
    const i = await fire(a);
    expect(i.state).toBe("suppressed");
    expect(i.triage_reason).toMatch(/^silenced \(nginx\.service\) until .*: maintenance$/);
    const before = a.clock.now();
    a.clock.advance(300);
    await incidentTick(a.deps, before);
    expect((await incident(a, i.id)).state).toBe("suppressed");
    a.clock.advance(301); // expired; the alert is still inside the 900 s window
    await incidentTick(a.deps, before);
    expect((await incident(a, i.id)).state).toBe("fixing");
  });

  it("a silence on one alert name leaves the others of the service alone", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 0 } });
    await createSilence(a.deps, { service: "nginx.service", alertName: "nginx-5xx", seconds: 600 });
    expect((await fire(a, { name: "nginx-5xx" })).state).toBe("suppressed");
    expect((await fire(a, { name: "nginx-down" })).state).toBe("fixing");
  });

  it("stops at the daily run budget, saying so", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 0 }, agent: { maxRunsPerDay: 2 } });
    expect((await fire(a, { name: "a" })).state).toBe("fixing");
    expect((await fire(a, { name: "b" })).state).toBe("fixing");
    const third = await fire(a, { name: "c" });
    expect(third.state).toBe("suppressed");
    expect(third.triage_reason).toMatch(/run budget spent: 2 runs in the last 24 h/);
    a.clock.advance(86_401);
    expect((await fire(a, { name: "c" })).state).toBe("fixing");
  });

  it("without repo.url an actionable incident says why no repair ran", async () => {
    const a = await setup({ triage: { settleSeconds: 0 } });
    const i = await fire(a);
    expect(i.state).toBe("needs_human");
    expect(i.triage_reason).toMatch(/repo\.url is not set, so no repair ran/);
  });

  it("a recurrence within the dismiss cooldown opens a suppressed incident that says so", async () => {
    const a = await setup({
      ...REPO,
      triage: { settleSeconds: 0 },
      lifecycle: { dismissCooldownSeconds: 3600 },
    });
    const first = await fire(a);
    await dismissIncident(a.deps, first.id, "known, not now");
    a.clock.advance(600);
    const again = await fire(a);
    expect(again.id).not.toBe(first.id);
    expect(again.previous_incident_id).toBe(first.id);
    expect(again.state).toBe("suppressed");
    expect(again.triage_reason).toMatch(new RegExp(`incident ${first.id} was dismissed`));
    expect(await runs(a)).toHaveLength(1); // the first incident's run, cancelled
  });
});

describe("stale rule", () => {
  it("open and suppressed incidents resolve after staleSeconds without an alert; later states do not", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 600 }, lifecycle: { staleSeconds: 2700 } });
    const open = await fire(a, { name: "open-one" });
    await createSilence(a.deps, { service: "muted.service", seconds: 86_400 });
    const suppressed = await fire(a, { name: "muted", service: "muted.service" });
    expect(suppressed.state).toBe("suppressed");
    a.clock.advance(2000);
    await fire(a, { name: "open-one" }); // still happening: last_seen moves
    a.clock.advance(1000);
    await incidentTick(a.deps, a.clock.now());
    expect((await incident(a, open.id)).state).toBe("fixing"); // settled and acted on, not stale
    expect((await incident(a, suppressed.id)).state).toBe("resolved");
    const ev = await events(a, suppressed.id);
    expect(ev.at(-1)).toMatchObject({ kind: "stale" });
    expect(ev.at(-1)!.message).toMatch(/no alert for 2700 s/);
  });

  it("every transition is an event and one log line carrying the incident", async () => {
    const a = await setup({ ...REPO, triage: { settleSeconds: 0 } });
    const i = await fire(a);
    const ev = await events(a, i.id);
    expect(ev.map((e) => e.kind)).toEqual(["created", "run_queued"]);
    expect(ev[1]!.data).toMatchObject({ from: "open", to: "fixing" });
    const lines = a.lines.filter((l) => l.incident === i.id && l.to === "fixing");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.run).toBeGreaterThan(0);
  });
});
