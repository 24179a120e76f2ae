import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableCounts } from "../support/tables.js";
import { type AbuseApp, createAbuseApp } from "./app.js";
import { commonCases, type HostileCase, pollutedSamples, ROUTES, SAMPLES, sampleCases } from "./corpus.js";

/* Hostile bodies against every /hooks/* route: never a 5xx, nothing stored but the raw body. */

const REFUSALS = new Set([400, 401, 404, 413, 415, 422]);

let h: AbuseApp;
beforeAll(async () => {
  h = await createAbuseApp();
});
afterAll(async () => {
  await h?.close();
});

interface Answer {
  status: number;
  json: { error?: string; message?: string; accepted?: number };
}

async function send(route: string, c: HostileCase): Promise<Answer> {
  const res = await h.send(`/hooks/${route}`, c.body, c.contentType);
  const text = await res.text();
  let json: Answer["json"];
  try {
    json = JSON.parse(text) as Answer["json"];
  } catch (cause) {
    throw new Error(`${route} / ${c.name}: answer is not JSON: ${text.slice(0, 200)}`, { cause });
  }
  return { status: res.status, json };
}

/** Sends a case and checks the invariants that hold for every answer. */
async function expectHarmless(route: string, c: HostileCase): Promise<Answer> {
  const before = await tableCounts(h.t.db);
  const answer = await send(route, c);
  const after = await tableCounts(h.t.db);
  expect(answer.status, `${route} / ${c.name}`).toBeLessThan(500);
  if (answer.status !== 202) {
    expect(REFUSALS, `${route} / ${c.name}: ${answer.status}`).toContain(answer.status);
    expect(answer.json.error, `${route} / ${c.name}`).toMatch(/^[a-z_]+$/);
    expect(answer.json.message?.length ?? 0).toBeGreaterThan(3);
    // Only the raw body of an unparseable delivery is kept, with the reason.
    const kept = answer.status === 400 || answer.status === 422 ? 1 : 0;
    expect(after, `${route} / ${c.name}`).toEqual({ ...before, deliveries: (before.deliveries ?? 0) + kept });
    if (kept) {
      const row = await h.t.db
        .selectFrom("deliveries")
        .select(["parse_error", "body"])
        .orderBy("id", "desc")
        .executeTakeFirstOrThrow();
      expect(row.parse_error).toMatch(/^(malformed|invalid): ./);
      expect(row.body.includes("\u0000")).toBe(false);
    }
  } else if (answer.json.accepted === 0) {
    // A test notification or a duplicate: a delivery row, nothing else; an exact repeat of alerts
    // this process committed: not even that (it is counted on the delivery it repeats).
    const rows = (answer.json as { repeat?: boolean }).repeat ? 0 : 1;
    expect(after).toEqual({ ...before, deliveries: (before.deliveries ?? 0) + rows });
  }
  return answer;
}

describe.each([...ROUTES])("POST /hooks/%s", (route) => {
  it.each(commonCases().map((c) => [c.name, c] as const))("%s: refused or harmless", async (_n, c) => {
    const answer = await expectHarmless(route, c);
    if (!c.mayAccept) expect(answer.json.accepted ?? 0, `${route} / ${c.name} made alerts`).toBe(0);
  });

  if (route === "github") return;
  it.each(sampleCases(route).map((c) => [c.name, c] as const))("%s: refused", async (_n, c) => {
    const answer = await expectHarmless(route, c);
    expect(answer.status, `${route} / ${c.name}`).not.toBe(202);
  });

  it.each(pollutedSamples(route).map((c) => [c.name, c] as const))("%s: harmless", async (_n, c) => {
    await expectHarmless(route, c);
  });

  it("a body over 1 MiB is refused with 413 before it is read", async () => {
    const body = new TextEncoder().encode(
      JSON.stringify({ alerts: [{ name: "x".repeat(2 * 1024 * 1024) }] }),
    );
    expect((await expectHarmless(route, { name: "2 MiB", body })).status).toBe(413);
  });

  it("the valid sample is still accepted after all that (the cases are not vacuous)", async () => {
    const answer = await send(route, { name: "sample", body: new TextEncoder().encode(SAMPLES[route]) });
    expect(answer.status).toBe(202);
  });
});

describe("after the corpus", () => {
  it("polluted no prototype", () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("logged no internal error", () => {
    const errors = h.lines.filter((l) => (l.level as number) >= 50);
    expect(errors.map((l) => l.msg)).toEqual([]);
  });

  it("stored only JSON that Postgres accepted, and no NUL anywhere", async () => {
    const rows = await h.t.db.selectFrom("alerts").select(["name", "summary", "labels", "details"]).execute();
    for (const r of rows) {
      expect(JSON.stringify(r).includes("\\u0000")).toBe(false);
      expect(Object.getPrototypeOf(r.labels)).toBe(Object.prototype);
      expect(Object.keys(r.labels as object)).not.toContain("__proto__");
    }
  });
});
