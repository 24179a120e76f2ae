import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDelivery } from "../../src/ingest/parsers.js";
import type { NormalizedAlert, ParseResult } from "../../src/ingest/types.js";

const dir = new URL("../fixtures/alerts/openobserve/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, dir), "utf8");
const SYSTEMD = "recommended.systemd-226-namespace-missing-mount.json";

interface Row {
  ts: string;
  host: string;
  unit: string;
  msg: string;
}

function parse(body: unknown, receivedAt?: Date): { alerts: NormalizedAlert[]; repaired: boolean } {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const result: ParseResult = parseDelivery("openobserve", text, receivedAt ? { receivedAt } : {});
  if (result.kind !== "alerts") throw new Error(`expected alerts, got ${JSON.stringify(result)}`);
  return result;
}

/** Identity of each alert, order-free: retries may reorder rows and so the alerts. */
function identities(alerts: NormalizedAlert[]): string[] {
  return alerts.map((a) => `${a.fingerprint}/${a.idempotencyKey}/${a.service}/${a.host}`).sort();
}

function row(unit: string, ts: string, msg: string): Row {
  return { ts, host: "media-01", unit, msg };
}

describe("OpenObserve retries", () => {
  it("a re-rendered retry (new trigger time, url, count; rows reordered) is the same occurrence", () => {
    const first = JSON.parse(read(SYSTEMD));
    const retry = structuredClone(first);
    retry.alert.trigger_time_us = "1787277720000000";
    retry.alert.url = "https://logs.home.arpa/web/short/0123456789abcdef?org_identifier=default";
    retry.alert.count = "7";
    retry.alert.end_local = "2026-08-21T04:02:12";
    retry.units = "mnt-media.mount, sonarr.service";
    retry.rows.reverse();
    expect(identities(parse(retry).alerts)).toEqual(identities(parse(first).alerts));
  });

  it("a later firing with new rows keeps the fingerprint but is a new occurrence", () => {
    const first = JSON.parse(read(SYSTEMD));
    const later = structuredClone(first);
    for (const r of later.rows) r.ts = String(Number(r.ts) + 3_600_000_000);
    const a = parse(first).alerts;
    const b = parse(later).alerts;
    expect(b.map((x) => x.fingerprint)).toEqual(a.map((x) => x.fingerprint));
    for (const [i, x] of a.entries()) expect(b[i]!.idempotencyKey).not.toBe(x.idempotencyKey);
  });
});

describe("OpenObserve rows", () => {
  it("groups rows by (host, unit); rows without a unit make a unit-less alert", () => {
    const body = JSON.parse(read(SYSTEMD));
    body.rows = [
      row("a.service", "1787277612771000", "one"),
      { ...row("a.service", "1787277612772000", "two"), host: "media-02" },
      row("", "1787277612773000", "kernel: oops"),
      row("a.service", "1787277612774000", "three"),
    ];
    const alerts = parse(body).alerts;
    expect(alerts.map((a) => [a.service, a.host, a.details.evidence])).toEqual([
      ["a.service", "media-01", ["one", "three"]],
      ["a.service", "media-02", ["two"]],
      [null, "media-01", ["kernel: oops"]],
    ]);
    expect(alerts[0]!.startsAt?.toISOString()).toBe("2026-08-21T02:00:12.771Z");
    expect(alerts[0]!.details).toMatchObject({ stream: "journald", count: "5", rowCount: 2 });
    expect(alerts[0]!.labels).toMatchObject({ alertname: "systemd-unit-failed", unit: "a.service" });
  });

  it("accepts rows as one newline-joined string (the fallback after a bad row) with the same identity", () => {
    const body = JSON.parse(read(SYSTEMD));
    const asArray = parse(body);
    // What OpenObserve renders when one row is not JSON: each row's text, escaped, joined with \n.
    const lines = body.rows.map((r: Row) =>
      JSON.stringify(r).replace("Failed", "\\u{1b}[31mFailed\\u{1b}[0m"),
    );
    body.rows = lines.join("\n");
    const asString = parse(body);
    expect(asString.repaired).toBe(true);
    expect(identities(asString.alerts)).toEqual(identities(asArray.alerts));
    expect(asString.alerts.map((a) => a.details.evidence)).toEqual(
      asArray.alerts.map((a) => a.details.evidence),
    );
  });

  it("unescapes apostrophes and strips ANSI codes from evidence", () => {
    const body = JSON.parse(read(SYSTEMD));
    body.rows = [row("x.service", "1", "\u001b[31mFailed\u001b[0m with result \\'exit-code\\'")];
    expect(parse(body).alerts[0]!.details.evidence).toEqual(["Failed with result 'exit-code'"]);
  });

  it("keeps at most 20 distinct evidence lines of at most 2000 characters, summary at most 500", () => {
    const body = JSON.parse(read(SYSTEMD));
    body.rows = Array.from({ length: 60 }, (_, i) =>
      row("x.service", String(1000 + i), `${i % 30} ${"y".repeat(5000)}`),
    );
    const alert = parse(body).alerts[0]!;
    const evidence = alert.details.evidence!;
    expect(evidence).toHaveLength(20);
    expect(new Set(evidence).size).toBe(20);
    for (const line of evidence) expect(line.length).toBeLessThanOrEqual(2000);
    expect(alert.summary!.length).toBeLessThanOrEqual(500);
  });

  it("treats unreplaced placeholders as absent", () => {
    const body = JSON.parse(read(SYSTEMD));
    body.alert.severity = "{severity}";
    body.alert.category = "{category}";
    body.rows = [{ ts: "1787277612771000", host: "{host}", unit: "{unit}", msg: "m" }];
    const alert = parse(body).alerts[0]!;
    expect([alert.severity, alert.service, alert.host]).toEqual([null, null, null]);
    expect(alert.details).not.toHaveProperty("category");
  });

  it("with no rows, makes one alert per unit of the joined `units` list", () => {
    const body = JSON.parse(read(SYSTEMD));
    body.rows = "{rows:50}";
    const alerts = parse(body).alerts;
    expect(alerts.map((a) => [a.service, a.host])).toEqual([
      ["mnt-media.mount", "media-01"],
      ["sonarr.service", "media-01"],
    ]);
  });
});

describe("OpenObserve body variants", () => {
  it("repairs the ANSI body (\\u{1b} escapes) and keeps the message as evidence", () => {
    const result = parse(read("naive.message-column-in-body.ansi.invalid.txt"));
    expect(result.repaired).toBe(true);
    const alert = result.alerts[0]!;
    expect(alert.name).toBe("zigbee2mqtt-errors");
    expect(alert.details.evidence![0]).toMatch(
      /^error: z2m: MQTT failed to connect to 'mqtt:\/\/127\.0\.0\.1:1883'/,
    );
  });

  it("answers malformed for the description with a raw quote and newline", () => {
    const result = parseDelivery("openobserve", read("naive.description-newline.invalid.txt"));
    expect(result.kind).toBe("malformed");
  });

  it("reads the docs-style text body: header names the alert, `unit: msg` lines are rows", () => {
    const alerts = parse(read("docs-style.string-rows.json")).alerts;
    expect(alerts.map((a) => a.name)).toEqual(["systemd-unit-failed", "systemd-unit-failed"]);
    expect(alerts[0]!.details.evidence).toContain("sonarr.service: Failed with result 'exit-code'.");
    expect(alerts[1]!.details.evidence).toEqual([
      "Failed to mount /mnt/media.",
      "mnt-media.mount: Failed with result 'exit-code'.",
    ]);
  });

  it("keys time-less bodies by the arrival minute when it is given", () => {
    const body = read("docs-style.string-rows.json");
    const key = (iso?: string) => parse(body, iso ? new Date(iso) : undefined).alerts[0]!.idempotencyKey;
    expect(key()).toBe(key());
    expect(key("2026-08-21T04:00:10Z")).toBe(key("2026-08-21T04:00:50Z"));
    expect(key("2026-08-21T04:00:10Z")).not.toBe(key("2026-08-21T05:00:10Z"));
  });

  it("reads the prebuilt webhook: no host or unit, the short URL tells firings apart", () => {
    const body = JSON.parse(read("default.prebuilt-webhook.v0.60-v0.92.json"));
    const first = parse(body).alerts[0]!;
    expect([first.name, first.service, first.host, first.status]).toEqual([
      "postgres-too-many-clients",
      null,
      null,
      "firing",
    ]);
    body.alert.url = "https://logs.home.arpa/web/short/ffffffffffffffff?org_identifier=default";
    const second = parse(body).alerts[0]!;
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.idempotencyKey).not.toBe(first.idempotencyKey);
  });

  it("judges an unrecognised object against the recommended template", () => {
    const result = parseDelivery("openobserve", JSON.stringify({ hello: "world" }));
    expect(result.kind).toBe("invalid");
    expect(result.kind === "invalid" && result.error).toMatch(/schema/);
  });
});
