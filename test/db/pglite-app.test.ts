import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { type Db, openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { memoryLogger, TOKEN, testConfig } from "../support/app.js";

const JELLYFIN = readFileSync(
  new URL(
    "../fixtures/alerts/openobserve/recommended.jellyfin-ffmpeg-permission-denied.json",
    import.meta.url,
  ),
  "utf8",
);

describe("the embedded default: PGlite", () => {
  let db: Db;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    db = openDatabase("pglite://memory");
    await migrateToLatest(db as never);
    const { log } = memoryLogger();
    app = createApp({
      db,
      log,
      clock: new ManualClock(),
      config: testConfig({ triage: { settleSeconds: 0 } }, "pglite://memory"),
      wakeRuns: () => {},
      secrets: { token: TOKEN, sourceTokens: {}, agentEnv: {} },
      metrics: new Metrics(),
    });
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
  });

  const post = (body: string) =>
    app.request("/hooks/openobserve", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body,
    });

  it("ingests, deduplicates and judges as on PostgreSQL", async () => {
    const first = await post(JELLYFIN);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ accepted: 1, incidents: [1] });
    expect(await (await post(JELLYFIN)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const res = await app.request("/api/incidents/1", { headers: { authorization: `Bearer ${TOKEN}` } });
    const detail = (await res.json()) as {
      incident: { state: string; occurrences: number; triage_reason: string };
    };
    expect(detail.incident).toMatchObject({ state: "needs_human", occurrences: 1 });
    expect(detail.incident.triage_reason).toMatch(/repo\.url is not set/);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('homelab_healer_incidents{state="needs_human"} 1');
    expect(metrics).toContain('homelab_healer_deliveries_total{source="openobserve",status="accepted"} 2');
  });

  it("answers readyz while the database is there", async () => {
    expect((await app.request("/readyz")).status).toBe(200);
  });
});
