import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/app.js";

/*
 * Issue 9 parts 3 and 4, through the app and the real database. An Alertmanager's (Grafana's) occurrence
 * key is scoped like its fingerprint, by externalURL (and orgId): two senders with the same labels and
 * startsAt are two alerts in two incidents, and a true retry of one delivery is still recognised. An
 * Uptime Kuma certificate notice (monitor and heartbeat null) is an incident of its own.
 */

const fixture = (p: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/alerts/${p}`, import.meta.url), "utf8")) as Record<
    string,
    unknown
  >;

interface Accepted {
  accepted: number;
  duplicates?: number;
  incidents: number[];
}

describe("two senders with the same labels and startsAt", () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await createTestApp({ triage: { settleSeconds: 60 } });
  });
  afterAll(async () => {
    await h.close();
  });

  const post = async (source: string, body: object): Promise<Accepted> => {
    const res = await h.post(source, body);
    expect(res.status).toBe(202);
    return (await res.json()) as Accepted;
  };
  const alertsOf = (source: string) =>
    h.t.db
      .selectFrom("alerts")
      .select(["incident_id", "fingerprint", "idempotency_key"])
      .where("source", "=", source)
      .execute();

  it("Alertmanager: two externalURLs are two alerts and two incidents per alert; a retry adds nothing", async () => {
    const first = fixture("alertmanager/v0.34.firing.systemd-unit-failed.json");
    const a = await post("alertmanager", first);
    expect(a.accepted).toBe(2);
    expect(a.incidents).toHaveLength(2);

    const retry = await post("alertmanager", first);
    expect(retry).toMatchObject({ accepted: 0, duplicates: 2 });

    const second = { ...first, externalURL: "http://nas-01.home.arpa:9093" };
    const b = await post("alertmanager", second);
    expect(b.accepted).toBe(2);
    expect(b.incidents).toHaveLength(2);
    expect(b.incidents.filter((id) => a.incidents.includes(id))).toEqual([]);

    const rows = await alertsOf("alertmanager");
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.incident_id)).size).toBe(4);
    expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(4);

    const occurrences = await h.t.db
      .selectFrom("incidents")
      .select("occurrences")
      .where("id", "in", [...a.incidents, ...b.incidents])
      .execute();
    expect(occurrences.map((r) => r.occurrences)).toEqual([1, 1, 1, 1]);
  });

  it("Grafana: two orgIds are two alerts and two incidents; a retry adds nothing", async () => {
    const org1 = fixture("grafana/firing.disk-almost-full.json");
    const one = await post("grafana", org1);
    expect(one.accepted).toBe(1);
    expect(await post("grafana", org1)).toMatchObject({ accepted: 0, duplicates: 1 });

    const org2 = structuredClone(org1) as { orgId: number; alerts: { orgId: number }[] };
    org2.orgId = 2;
    for (const alert of org2.alerts) alert.orgId = 2;
    const two = await post("grafana", org2);
    expect(two.accepted).toBe(1);
    expect(two.incidents[0]).not.toBe(one.incidents[0]);

    const rows = await alertsOf("grafana");
    expect(rows).toHaveLength(2);
    expect(rows[0]!.fingerprint).not.toBe(rows[1]!.fingerprint);
  });
});

describe("an Uptime Kuma certificate notice", () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await createTestApp({ triage: { settleSeconds: 60 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("is an incident for the monitor on the URL's host; the next certificate of the chain attaches to it", async () => {
    const server = await h.post("uptime-kuma", fixture("uptime-kuma/v2.certificate.nextcloud-server.json"));
    expect(server.status).toBe(202);
    const first = (await server.json()) as Accepted;
    expect(first.accepted).toBe(1);
    const chain = await h.post(
      "uptime-kuma",
      fixture("uptime-kuma/v2.certificate.nextcloud-intermediate.json"),
    );
    expect(((await chain.json()) as Accepted).incidents).toEqual(first.incidents);
    const incident = await h.t.db
      .selectFrom("incidents")
      .select(["service", "host", "state", "occurrences", "alert_name"])
      .where("id", "=", first.incidents[0]!)
      .executeTakeFirstOrThrow();
    expect(incident).toEqual({
      service: "Nextcloud",
      host: "cloud.home.arpa",
      state: "open",
      occurrences: 2,
      alert_name: "Nextcloud certificate",
    });
  });
});
