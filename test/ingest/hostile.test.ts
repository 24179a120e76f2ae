import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SOURCES, type Source } from "../../src/config/schema.js";
import { parseDelivery } from "../../src/ingest/parsers.js";
import type { ParseResult } from "../../src/ingest/types.js";

/* Bodies are hostile: whatever arrives, a parser answers with a result and never throws. */

const fixtures = new URL("../fixtures/alerts/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, fixtures), "utf8");
const SAMPLES: Record<Source, string> = {
  openobserve: read("openobserve/recommended.systemd-226-namespace-missing-mount.json"),
  alertmanager: read("alertmanager/v0.34.firing.systemd-unit-failed.json"),
  grafana: read("grafana/firing.disk-almost-full.json"),
  "uptime-kuma": read("uptime-kuma/v2.down.jellyfin-http.json"),
  gatus: read("gatus/triggered.jellyfin.json"),
  generic: JSON.stringify({ alerts: [{ name: "disk-full", service: "nfs.service", host: "nas" }] }),
};

const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
const deepArray = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const huge = "x".repeat(1024 * 1024);

const BODIES: [string, string][] = [
  ["empty", ""],
  ["whitespace", " \n\t "],
  ["null", "null"],
  ["number", "42"],
  ["string", '"alerts"'],
  ["array", "[]"],
  ["10k-deep object", deep(10_000)],
  ["10k-deep array", deepArray(10_000)],
  ["deep alerts", `{"alerts":${deepArray(10_000)}}`],
  ["deep labels", `{"externalURL":"x","alerts":[{"status":"firing","labels":${deep(10_000)}}]}`],
  ["deep rows", `{"schema":"homelab.oo.v1","alert":{"name":"x"},"rows":[${deep(10_000)}]}`],
  ["deep generic details", `{"name":"x","details":${deep(10_000)}}`],
  ["NUL bytes", '{"msg":"\\u0000\u0000","heartbeat":null,"monitor":null}'],
  ["lone surrogate", '{"name":"\\ud800","alert":"\\udfff"}'],
  [
    "huge string",
    JSON.stringify({ name: huge, alert: huge, text: huge, msg: huge, endpoint: huge, state: huge }),
  ],
  ["wrong types", JSON.stringify({ alerts: 1, alert: [], rows: 5, heartbeat: "x", monitor: 7, state: null })],
  ["garbage", "\u0000\u0001{{{[[[\\u{zz}\\'"],
];

function truncations(body: string): string[] {
  return [0.1, 0.5, 0.9].map((f) => body.slice(0, Math.floor(body.length * f)));
}

function pollutions(body: string): string[] {
  return [
    body.replace("{", '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},'),
    body.replaceAll('"labels":{', '"labels":{"__proto__":"x","constructor":"y",'),
    body.replaceAll('"alertname":', '"__proto__":{"polluted":"yes"},"alertname":'),
  ];
}

function check(source: Source, body: string): ParseResult {
  let result: ParseResult | undefined;
  expect(() => {
    result = parseDelivery(source, body);
  }).not.toThrow();
  expect(["alerts", "test", "malformed", "invalid"]).toContain(result!.kind);
  expect(JSON.stringify(result).length).toBeLessThan(200_000);
  if (result!.kind === "alerts") {
    for (const alert of result!.alerts) {
      expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(alert.name.length).toBeLessThanOrEqual(200);
      expect((alert.summary ?? "").length).toBeLessThanOrEqual(500);
      const evidence = alert.details.evidence ?? [];
      expect(evidence.length).toBeLessThanOrEqual(20);
      for (const line of evidence) expect(line.length).toBeLessThanOrEqual(2000);
      expect(Object.getPrototypeOf(alert.labels)).toBe(Object.prototype);
      expect(() => JSON.stringify(alert)).not.toThrow();
    }
  }
  return result!;
}

describe.each([...SOURCES])("%s under hostile input", (source) => {
  it.each(BODIES)("%s", (_name, body) => {
    check(source, body);
  });

  it("truncated JSON is malformed", () => {
    for (const body of truncations(SAMPLES[source])) expect(check(source, body).kind).toBe("malformed");
  });

  it("__proto__ and constructor keys pollute nothing", () => {
    for (const body of pollutions(SAMPLES[source])) check(source, body);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("a valid sample still parses (the hostile cases are not vacuous)", () => {
    expect(check(source, SAMPLES[source]).kind).toBe("alerts");
  });
});

describe("hostile content in valid bodies", () => {
  it("caps a megabyte log line and strips NULs and escapes from evidence", () => {
    const body = JSON.parse(SAMPLES.openobserve);
    body.rows = [{ ts: "1", host: "h", unit: "u.service", msg: `\u0000\u001b[31m${huge}` }];
    const result = check("openobserve", JSON.stringify(body));
    const line = result.kind === "alerts" ? result.alerts[0]!.details.evidence![0]! : "";
    expect(line.startsWith("xxx")).toBe(true);
    expect(line.length).toBe(2000);
  });

  it("bounds the number of alerts an OpenObserve body can make", () => {
    const body = JSON.parse(SAMPLES.openobserve);
    body.rows = Array.from({ length: 5000 }, (_, i) => ({
      ts: String(i),
      host: "h",
      unit: `u${i}.service`,
      msg: "m",
    }));
    const result = check("openobserve", JSON.stringify(body));
    expect(result.kind === "alerts" && result.alerts.length).toBeLessThanOrEqual(100);
  });

  it("keeps a __proto__ label from becoming a prototype", () => {
    const body = JSON.parse(SAMPLES.alertmanager);
    const text = JSON.stringify(body).replace('"labels":{', '"labels":{"__proto__":"evil",');
    const result = check("alertmanager", text);
    const labels = result.kind === "alerts" ? result.alerts[0]!.labels : {};
    expect(Object.keys(labels)).not.toContain("__proto__");
    expect(labels.alertname).toBe("SystemdUnitFailed");
  });
});
