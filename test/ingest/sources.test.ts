import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Source } from "../../src/config/schema.js";
import { hashIdentity } from "../../src/ingest/fingerprint.js";
import { parseDelivery } from "../../src/ingest/parsers.js";
import type { NormalizedAlert } from "../../src/ingest/types.js";

const fixtures = new URL("../fixtures/alerts/", import.meta.url);
const fixture = (file: string) => JSON.parse(readFileSync(new URL(file, fixtures), "utf8"));

function alerts(source: Source, body: unknown, receivedAt?: Date): NormalizedAlert[] {
  const result = parseDelivery(source, JSON.stringify(body), receivedAt ? { receivedAt } : {});
  if (result.kind !== "alerts") throw new Error(`expected alerts, got ${JSON.stringify(result)}`);
  return result.alerts;
}

function error(source: Source, body: unknown): string {
  const result = parseDelivery(source, JSON.stringify(body));
  return result.kind === "invalid" ? result.error : `not invalid: ${result.kind}`;
}

describe("alertmanager", () => {
  const base = () => fixture("alertmanager/v0.34.firing.systemd-unit-failed.json");

  it("takes each alert's own status, never the group's", () => {
    const body = base();
    body.alerts[1].status = "resolved";
    body.alerts[1].endsAt = "2026-08-21T02:16:56.118Z";
    expect(alerts("alertmanager", body).map((a) => a.status)).toEqual(["firing", "resolved"]);
  });

  it("picks the service from unit labels, and `name` only when it is a unit", () => {
    const body = base();
    const a = body.alerts[0];
    a.labels = { alertname: "X", instance: "[fd00::1]:9100", unit: "nginx.service", name: "ignored.service" };
    expect(alerts("alertmanager", body)[0]).toMatchObject({ service: "nginx.service", host: "fd00::1" });
    a.labels = { alertname: "X", instance: "media-01:9100", name: "cadvisor-container-7" };
    expect(alerts("alertmanager", body)[0]).toMatchObject({ service: null, host: "media-01" });
    a.labels = { alertname: "X", instance: "10.0.0.1:9100", hostname: "media-01", job: "node" };
    expect(alerts("alertmanager", body)[0]).toMatchObject({ service: null, host: "media-01" });
  });

  it("namespaces the fingerprint by externalURL", () => {
    const one = alerts("alertmanager", base());
    const other = base();
    other.externalURL = "http://other.home.arpa:9093";
    expect(alerts("alertmanager", other)[0]!.fingerprint).not.toBe(one[0]!.fingerprint);
  });

  it("scopes the idempotency key like the fingerprint: another Alertmanager is another occurrence", () => {
    const one = alerts("alertmanager", base());
    const other = base();
    other.externalURL = "http://other.home.arpa:9093";
    const two = alerts("alertmanager", other);
    // Same labels, same sender label hash, same startsAt: only externalURL differs.
    expect(two.map((a) => a.details.senderFingerprint)).toEqual(one.map((a) => a.details.senderFingerprint));
    for (const [i, a] of two.entries()) expect(a.idempotencyKey).not.toBe(one[i]!.idempotencyKey);
  });

  it("a retried delivery and a repeat notification keep their keys (group fields are not part of it)", () => {
    const first = alerts("alertmanager", base());
    expect(alerts("alertmanager", base()).map((a) => a.idempotencyKey)).toEqual(
      first.map((a) => a.idempotencyKey),
    );
    const repeat = base();
    repeat.notification_reason = "repeat_interval";
    repeat.truncatedAlerts = 3;
    repeat.groupKey = '{}:{alertname="SystemdUnitFailed"}';
    repeat.alerts.reverse();
    expect(alerts("alertmanager", repeat).map((a) => a.idempotencyKey)).toEqual(
      first.map((a) => a.idempotencyKey).reverse(),
    );
  });

  it("keeps annotations in details and the summary annotation as summary", () => {
    const alert = alerts("alertmanager", base())[0]!;
    expect(alert.summary).toBe("systemd unit mnt-media.mount failed on media-01");
    expect(alert.details).toMatchObject({
      annotations: { description: expect.stringContaining("mnt-media.mount") },
    });
    expect(alert.labels).toMatchObject({ alertname: "SystemdUnitFailed", type: "mount" });
    expect(alert.startsAt?.toISOString()).toBe("2026-08-21T02:01:11.903Z");
  });
});

describe("grafana", () => {
  it("puts orgId in the identity", () => {
    const body = fixture("grafana/firing.disk-almost-full.json");
    const one = alerts("grafana", body)[0]!;
    body.orgId = 2;
    body.alerts[0].orgId = 2;
    const two = alerts("grafana", body)[0]!;
    expect(two.fingerprint).not.toBe(one.fingerprint);
    expect(two.idempotencyKey).not.toBe(one.idempotencyKey);
    expect(one.details).toMatchObject({ orgId: 1, ruleUID: "dez1k9m3p0hs0e" });
  });

  it("scopes the key by externalURL too, and keeps it for a retry", () => {
    const body = fixture("grafana/firing.disk-almost-full.json");
    const one = alerts("grafana", body)[0]!;
    expect(alerts("grafana", body)[0]!.idempotencyKey).toBe(one.idempotencyKey);
    body.externalURL = "http://grafana-2.home.arpa:3000/";
    expect(alerts("grafana", body)[0]!.idempotencyKey).not.toBe(one.idempotencyKey);
  });
});

describe("uptime-kuma", () => {
  it("a resend while down (new heartbeat time) is a new occurrence of the same problem", () => {
    const body = fixture("uptime-kuma/v2.down.jellyfin-http.json");
    const first = alerts("uptime-kuma", body)[0]!;
    body.heartbeat.time = "2026-08-21 01:46:03.412";
    const resend = alerts("uptime-kuma", body)[0]!;
    expect(resend.fingerprint).toBe(first.fingerprint);
    expect(resend.idempotencyKey).not.toBe(first.idempotencyKey);
    expect(first.startsAt?.toISOString()).toBe("2026-08-21T01:16:03.412Z");
  });

  it("the resolve starts at lastDownTime", () => {
    const up = alerts("uptime-kuma", fixture("uptime-kuma/v2.up.jellyfin-http.json"))[0]!;
    expect(up.startsAt?.toISOString()).toBe("2026-08-21T01:16:03.412Z");
  });
});

describe("uptime-kuma certificate notices (monitor and heartbeat null)", () => {
  const notice = (msg: string, receivedAt?: Date) =>
    alerts("uptime-kuma", { heartbeat: null, monitor: null, msg }, receivedAt)[0]!;

  it("reads monitor name and URL out of the text: service = monitor, host = the URL's host", () => {
    const alert = alerts("uptime-kuma", fixture("uptime-kuma/v2.certificate.nextcloud-server.json"))[0]!;
    expect(alert).toMatchObject({
      source: "uptime-kuma",
      status: "firing",
      name: "Nextcloud certificate",
      service: "Nextcloud",
      host: "cloud.home.arpa",
      severity: "warning",
      summary:
        "[Nextcloud][https://cloud.home.arpa] server certificate cloud.home.arpa will expire in 7 days",
    });
    expect(alert.fingerprint).toBe(
      hashIdentity(["uptime-kuma", "Nextcloud", "https://cloud.home.arpa", "certificate"]),
    );
    expect(alert.details).toMatchObject({
      url: "https://cloud.home.arpa",
      certificateType: "server",
      commonName: "cloud.home.arpa",
      daysRemaining: 7,
    });
  });

  it("one fingerprint per (monitor, URL): every certificate of the chain, every threshold day", () => {
    const server = alerts("uptime-kuma", fixture("uptime-kuma/v2.certificate.nextcloud-server.json"))[0]!;
    const intermediate = alerts(
      "uptime-kuma",
      fixture("uptime-kuma/v2.certificate.nextcloud-intermediate.json"),
    )[0]!;
    const later = notice(
      "[Nextcloud][https://cloud.home.arpa] server certificate cloud.home.arpa will expire in 3 days",
    );
    expect(intermediate.fingerprint).toBe(server.fingerprint);
    expect(later.fingerprint).toBe(server.fingerprint);
    expect(new Set([server, intermediate, later].map((a) => a.idempotencyKey)).size).toBe(3);
    const elsewhere = notice(
      "[Nextcloud][https://cloud2.home.arpa] server certificate cloud2.home.arpa will expire in 7 days",
    );
    const renamed = notice(
      "[Nextcloud 2][https://cloud.home.arpa] server certificate cloud.home.arpa will expire in 7 days",
    );
    expect(elsewhere.fingerprint).not.toBe(server.fingerprint);
    expect(renamed.fingerprint).not.toBe(server.fingerprint);
    expect(elsewhere.host).toBe("cloud2.home.arpa");
  });

  it("reads the 1.23 wording, every certificate type, IPv6 URLs and expired certificates", () => {
    const old = alerts("uptime-kuma", fixture("uptime-kuma/v1.23.certificate.vaultwarden-server.json"))[0]!;
    expect(old).toMatchObject({ service: "Vaultwarden", host: "vault.home.arpa" });
    expect(old.details).toMatchObject({ url: "https://vault.home.arpa:8443/", daysRemaining: 3 });
    for (const type of ["server", "intermediate CA", "root CA", "self-signed"]) {
      const a = notice(`[NAS][https://nas.home.arpa] ${type} certificate nas will expire in 21 days`);
      expect(a.details).toMatchObject({ certificateType: type, commonName: "nas" });
    }
    // Globalping monitors send an empty type: two spaces before "certificate".
    expect(
      notice("[NAS][https://nas.home.arpa]  certificate nas will expire in 2 days").details,
    ).toMatchObject({
      certificateType: null,
      daysRemaining: 2,
    });
    const v6 = notice(
      "[Router][https://[fd00::1]:8443] self-signed certificate undefined will expire in -1 days",
    );
    expect(v6).toMatchObject({ service: "Router", host: "fd00::1", severity: "critical" });
    expect(v6.details).toMatchObject({ commonName: null, daysRemaining: -1 });
    const nameWithBrackets = notice(
      "[media [4K]][https://jf.home.arpa] server certificate jf will expire in 7 days",
    );
    expect(nameWithBrackets).toMatchObject({ service: "media [4K]", host: "jf.home.arpa" });
  });

  it("a retry within the minute is the same occurrence; the same text in a later cycle is a new one", () => {
    const msg =
      "[Nextcloud][https://cloud.home.arpa] server certificate cloud.home.arpa will expire in 7 days";
    const first = notice(msg, new Date("2026-08-21T03:00:05Z"));
    expect(notice(msg, new Date("2026-08-21T03:00:55Z")).idempotencyKey).toBe(first.idempotencyKey);
    expect(notice(msg, new Date("2026-11-19T03:00:05Z")).idempotencyKey).not.toBe(first.idempotencyKey);
  });

  it("keeps the note for a text that is not a certificate notice (the Test button, a domain notice)", () => {
    for (const msg of ["control-plane Testing", "Domain name home.arpa will expire in 7 days"]) {
      const result = parseDelivery("uptime-kuma", JSON.stringify({ heartbeat: null, monitor: null, msg }));
      expect(result.kind).toBe("test");
    }
  });
});

describe("gatus", () => {
  it("maps TRIGGERED/RESOLVED in any case and refuses other states", () => {
    const body = fixture("gatus/triggered.jellyfin.json");
    body.state = "resolved";
    expect(alerts("gatus", body)[0]!.status).toBe("resolved");
    body.state = "[ALERT_TRIGGERED_OR_RESOLVED]";
    expect(error("gatus", body)).toMatch(/^state:/);
  });

  it("keeps the errors as evidence and the description in the identity", () => {
    const body = fixture("gatus/triggered.jellyfin.json");
    const alert = alerts("gatus", body)[0]!;
    expect(alert.details.evidence).toEqual([body.errors]);
    expect(alert.fingerprint).toBe(
      hashIdentity(["gatus", "media", "jellyfin", "jellyfin health check failed"]),
    );
  });
});

describe("generic (docs/generic.md)", () => {
  it("accepts one alert or a batch, firing by default", () => {
    const one = alerts("generic", { name: "backup-failed", service: "restic.service", host: "media-01" })[0]!;
    expect(one).toMatchObject({
      source: "generic",
      status: "firing",
      service: "restic.service",
      host: "media-01",
    });
    expect(one.fingerprint).toBe(hashIdentity(["generic", "backup-failed", "restic.service", "media-01"]));
    const batch = alerts("generic", { alerts: [{ name: "a" }, { name: "b", status: "resolved" }] });
    expect(batch.map((a) => [a.name, a.status, a.service, a.host])).toEqual([
      ["a", "firing", null, null],
      ["b", "resolved", null, null],
    ]);
  });

  it("uses an explicit fingerprint for firing and resolved alike", () => {
    const firing = alerts("generic", { name: "disk", fingerprint: "nas-01:/mnt/media" })[0]!;
    const resolved = alerts("generic", {
      name: "disk 2",
      status: "resolved",
      fingerprint: "nas-01:/mnt/media",
    })[0]!;
    expect(resolved.fingerprint).toBe(firing.fingerprint);
    expect(firing.fingerprint).toBe(hashIdentity(["generic", "nas-01:/mnt/media"]));
  });

  it("keys occurrences by idempotencyKey, else startsAt, else the arrival minute", () => {
    const key = (extra: object, at?: string) =>
      alerts("generic", { name: "x", ...extra }, at ? new Date(at) : undefined)[0]!.idempotencyKey;
    expect(key({ idempotencyKey: "run-7" }, "2026-01-01T00:00:00Z")).toBe(key({ idempotencyKey: "run-7" }));
    const started = { startsAt: "2026-08-21T03:00:00Z" };
    expect(key(started, "2026-01-01T00:00:00Z")).toBe(key(started, "2026-01-01T07:05:00Z"));
    expect(key(started)).not.toBe(key({ startsAt: "2026-08-22T03:00:00Z" }));
    expect(key({}, "2026-01-01T00:00:10Z")).toBe(key({}, "2026-01-01T00:00:50Z"));
    expect(key({}, "2026-01-01T00:00:10Z")).not.toBe(key({}, "2026-01-01T00:05:10Z"));
  });

  it("keeps details and evidence, bounded", () => {
    const alert = alerts("generic", {
      name: "x",
      details: { evidence: ["line 1", 2, "x".repeat(5000)], exitCode: 3, nested: { a: [1, "b"] } },
    })[0]!;
    expect(alert.details.evidence).toHaveLength(2);
    expect(alert.details.evidence![1]!.length).toBeLessThanOrEqual(2000);
    expect(alert.details).toMatchObject({ exitCode: 3, nested: { a: [1, "b"] } });
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(error("generic", { name: "x", details: deep })).toMatch(/details/);
  });

  it("refuses unknown keys and bad values, naming the path", () => {
    expect(error("generic", { name: "x", sevirity: "high" })).toMatch(/sevirity/);
    expect(error("generic", { alerts: [{ name: "ok" }, { name: "x", startsAt: "yesterday" }] })).toMatch(
      /^alerts\.1\.startsAt/,
    );
    expect(error("generic", { alerts: [] })).toMatch(/^alerts/);
    expect(error("generic", { name: "" })).toMatch(/^name/);
  });
});
