import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { hookTokenFor } from "../../src/api/auth.js";
import { Metrics } from "../../src/api/metrics.js";
import { QUICK_MAX_BYTES, quickRepeats, withQuickRepeats } from "../../src/api/quick-repeat.js";
import { createApp } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import type { Secrets } from "../../src/config/load.js";
import { createIngester } from "../../src/ingest/ingest.js";
import { RepeatLedger } from "../../src/ingest/repeats.js";
import { memoryLogger, TOKEN, testConfig } from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/*
 * The quick repeat path (api/quick-repeat.ts) in front of the app, on a real socket: it answers an
 * exact repeat itself, as the app would, and hands everything else to the app with the body it read.
 */

interface Harness {
  url: string;
  /** Requests the app (not the quick path) answered. */
  toApp: { n: number };
  t: TestDatabase;
  repeats: RepeatLedger;
  metrics: Metrics;
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(secrets: Partial<Secrets> = {}): Promise<Harness> {
  const t = await createTestDatabase();
  const { log } = memoryLogger();
  const clock = new ManualClock();
  const deps = {
    db: t.db,
    log,
    clock,
    config: testConfig({ triage: { settleSeconds: 3600 } }, t.url),
    wakeRuns: () => {},
  };
  const repeats = new RepeatLedger(t.db, log);
  const ingest = createIngester(deps, { repeats });
  const metrics = new Metrics();
  const allSecrets: Secrets = { token: TOKEN, sourceTokens: {}, agentEnv: {}, ...secrets };
  const app = createApp({ ...deps, repeats, ingest, secrets: allSecrets, metrics });
  const toApp = { n: 0 };
  const listener = getRequestListener(app.fetch);
  const quick = quickRepeats({ ingest, tokenFor: hookTokenFor(allSecrets), metrics });
  const server: Server = createServer(
    withQuickRepeats(
      (req, res) => {
        toApp.n++;
        void listener(req, res);
      },
      () => quick,
    ),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    toApp,
    t,
    repeats,
    metrics,
    post: (path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
        body,
      }),
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await repeats.close();
      await t.drop();
    },
  };
}

const alert = (key: string, pad = "") =>
  JSON.stringify({
    alerts: [
      {
        name: "unit-failed",
        service: "disk.service",
        host: "nas",
        summary: `down${pad}`,
        idempotencyKey: key,
      },
    ],
  });

describe("the quick repeat path", () => {
  it("answers an exact repeat itself, as the app answers one, and counts it on the stored delivery", async () => {
    h = await start();
    const first = await h.post("/hooks/generic", alert("k1"));
    expect(first.status).toBe(202);
    const stored = (await first.json()) as { delivery: number; accepted: number };
    expect(stored.accepted).toBe(1);
    expect(h.toApp.n).toBe(1);

    // The same alert in other text: not a body seen before, so the app parses it and answers the repeat.
    const other = alert("k1").replace("{", "{ ");
    const byApp = await h.post("/hooks/generic", other);
    expect(h.toApp.n).toBe(2);
    // That text again: the quick path answers, and the app is not asked.
    const byQuick = await h.post("/hooks/generic", other);
    expect(h.toApp.n).toBe(2);
    const again = await h.post("/hooks/generic", alert("k1"));
    expect(h.toApp.n).toBe(2);

    const want = { accepted: 0, duplicates: 1, incidents: [], delivery: stored.delivery, repeat: true };
    for (const r of [byApp, byQuick, again]) {
      expect(r.status).toBe(202);
      expect(await r.json()).toEqual(want);
    }
    expect(byQuick.headers.get("content-type")).toBe(byApp.headers.get("content-type"));
    expect(byQuick.headers.get("content-length")).toBe(byApp.headers.get("content-length"));
    expect(await h.metrics.render(h.t.db, new Date())).toMatch(
      /homelab_healer_alerts_total\{source="generic",kind="duplicate"\} 3\n/,
    );

    await h.repeats.flush();
    const row = await h.t.db.selectFrom("deliveries").select(["id", "repeats"]).executeTakeFirstOrThrow();
    expect(row).toEqual({ id: stored.delivery, repeats: 3 });
  });

  it("hands every request it does not answer to the app, with its body, and the app answers as before", async () => {
    h = await start({ sourceTokens: { alertmanager: "am-own-token" } });
    expect((await h.post("/hooks/generic", alert("k1"))).status).toBe(202);
    expect((await h.post("/hooks/generic", alert("k1"))).status).toBe(202);
    const quickSoFar = 2 - h.toApp.n;
    expect(quickSoFar).toBe(1);

    const cases: [string, () => Promise<Response>, number][] = [
      ["a wrong token", () => h!.post("/hooks/generic", alert("k1"), { authorization: "Bearer nope" }), 401],
      ["the shared token where the source has its own", () => h!.post("/hooks/alertmanager", "{}"), 401],
      [
        "a body labelled text",
        () => h!.post("/hooks/generic", alert("k1"), { "content-type": "text/plain" }),
        415,
      ],
      ["an unknown source", () => h!.post("/hooks/nosuch", alert("k1")), 404],
      ["a trailing slash", () => h!.post("/hooks/generic/", alert("k1")), 404],
      ["Object.prototype's name as a source", () => h!.post("/hooks/constructor", alert("k1")), 404],
      ["not JSON", () => h!.post("/hooks/generic", "{not json"), 400],
      ["a new alert", () => h!.post("/hooks/generic", alert("k2")), 202],
      ["a query string", () => h!.post("/hooks/generic?x=1", alert("k1")), 202],
    ];
    for (const [what, send, status] of cases) {
      const before = h.toApp.n;
      const r = await send();
      expect({ what, status: r.status }).toEqual({ what, status });
      expect({ what, toApp: h.toApp.n - before }).toEqual({ what, toApp: 1 });
    }
    // The malformed body reached the app whole: it is stored raw, as it came.
    const raw = await h.t.db
      .selectFrom("deliveries")
      .select("body")
      .where("parse_error", "is not", null)
      .execute();
    expect(raw.map((d) => d.body)).toEqual(["{not json"]);
  });

  it("leaves a large or streamed body to the app, which reads it as before", async () => {
    h = await start();
    const large = alert("big", "x".repeat(QUICK_MAX_BYTES));
    for (let i = 0; i < 2; i++) expect((await h.post("/hooks/generic", large)).status).toBe(202);
    expect(h.toApp.n).toBe(2);
    const streamed = (text: string) =>
      fetch(`${h!.url}/hooks/generic`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(text));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
    const r = await streamed(alert("s1"));
    expect(r.status).toBe(202);
    expect(((await r.json()) as { accepted: number }).accepted).toBe(1);
    expect(h.toApp.n).toBe(3);
    const bodies = await h.t.db.selectFrom("deliveries").select("body").orderBy("id").execute();
    expect(bodies.map((b) => b.body)).toEqual([large, alert("s1")]);
  });

  it("survives a client that hangs up mid-body, and answers the next one", async () => {
    h = await start();
    const { connect } = await import("node:net");
    const port = Number(new URL(h.url).port);
    await new Promise<void>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.write(
          `POST /hooks/generic HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"alerts":`,
        );
        setTimeout(() => s.destroy(), 50);
      });
      s.on("close", () => resolve());
    });
    const r = await h.post("/hooks/generic", alert("k1"));
    expect(r.status).toBe(202);
    expect(await h.t.db.selectFrom("deliveries").select("body").execute()).toEqual([{ body: alert("k1") }]);
  });
});
