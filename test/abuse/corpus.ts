import { readFileSync } from "node:fs";
import { SOURCES, type Source } from "../../src/config/schema.js";

/** One hostile request: a body as raw bytes and the content type it claims. */
export interface HostileCase {
  name: string;
  body: Uint8Array;
  contentType?: string;
  /** A valid delivery carrying hostile content: it may be accepted (harmlessly). */
  mayAccept?: boolean;
}

const fixtures = new URL("../fixtures/alerts/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, fixtures), "utf8");

/** A valid body per source: truncations and pollutions start from these. */
export const SAMPLES: Record<Source, string> = {
  openobserve: read("openobserve/recommended.systemd-226-namespace-missing-mount.json"),
  alertmanager: read("alertmanager/v0.34.firing.systemd-unit-failed.json"),
  grafana: read("grafana/firing.disk-almost-full.json"),
  "uptime-kuma": read("uptime-kuma/v2.down.jellyfin-http.json"),
  gatus: read("gatus/triggered.jellyfin.json"),
  generic: JSON.stringify({ alerts: [{ name: "disk-full", service: "nfs.service", host: "nas" }] }),
};

const utf8 = (s: string) => new TextEncoder().encode(s);
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
const deepArray = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const huge = (n: number) => "x".repeat(n);

/** Bytes that are not UTF-8: a lone continuation byte, an overlong slash, a truncated sequence. */
function invalidUtf8(sample: string): Uint8Array {
  const text = utf8(sample);
  const at = Math.max(1, text.indexOf(0x22 /* first quote */) + 1);
  const bad = Uint8Array.from([0x80, 0xc0, 0xaf, 0xe2, 0x82, 0xff, 0xfe]);
  const out = new Uint8Array(text.length + bad.length);
  out.set(text.subarray(0, at));
  out.set(bad, at);
  out.set(text.subarray(at), at + bad.length);
  return out;
}

/** Bodies every route gets: none of them is a valid delivery of any source. */
export function commonCases(): HostileCase[] {
  const cases: [string, string][] = [
    ["empty", ""],
    ["whitespace", " \r\n\t "],
    ["null", "null"],
    ["number", "-1e309"],
    ["string", '"alerts"'],
    ["empty array", "[]"],
    ["empty object", "{}"],
    ["truncated object", '{"alerts": [{"labels": {"alertname": "x"'],
    ["trailing garbage", '{"alerts": []} trailing'],
    ["single quotes", "{'alerts': []}"],
    ["10k-deep object", deepObject(10_000)],
    ["10k-deep array", deepArray(10_000)],
    ["400k-deep array", deepArray(400_000)],
    ["deep alerts", `{"alerts":${deepArray(10_000)}}`],
    ["deep labels", `{"alerts":[{"status":"firing","labels":${deepObject(10_000)}}]}`],
    ["huge key", `{"${huge(900_000)}":1}`],
    ["many keys", `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":${i}`).join(",")}}`],
    [
      "wrong types",
      JSON.stringify({ alerts: 1, alert: [], rows: 5, heartbeat: "x", monitor: 7, state: null }),
    ],
    ["alerts of wrong types", JSON.stringify({ alerts: [null, 1, "x", [], true] })],
    ["NUL bytes", '\u0000{"alerts":[]}\u0000'],
    ["escaped NUL in junk", '{"msg":"\\u0000","heartbeat":null,"monitor":null,"alerts":"\\u0000"}'],
    ["bad escape", '{"alerts":"\\u{zz}\\x41\\\'"}'],
    ["lone surrogates only", '{"alerts":"\\ud800\\udfff"}'],
    ["__proto__ only", '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}'],
    ["BOM then garbage", "\ufeff{{{[[["],
  ];
  return [
    ...cases.map(([name, body]) => ({ name, body: utf8(body) })),
    {
      name: "deep rows",
      body: utf8(`{"schema":"homelab.oo.v1","alert":{"name":"x"},"rows":[${deepObject(10_000)}]}`),
      mayAccept: true,
    },
    { name: "invalid UTF-8 alone", body: Uint8Array.from([0xff, 0xfe, 0xfd, 0x80, 0xc0]) },
    { name: "UTF-16 with BOM", body: Uint8Array.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]) },
  ];
}

/** Cases built from a route's valid sample: truncated, polluted, re-encoded, mistyped. */
export function sampleCases(source: Source): HostileCase[] {
  const sample = SAMPLES[source];
  const cut = [0.1, 0.5, 0.9, 0.99].map((f) => ({
    name: `truncated at ${f * 100}%`,
    body: utf8(sample.slice(0, Math.floor(sample.length * f))),
  }));
  return [
    ...cut,
    { name: "as text/plain", body: utf8(sample), contentType: "text/plain" },
    { name: "as form", body: utf8(sample), contentType: "application/x-www-form-urlencoded" },
    { name: "as multipart", body: utf8(sample), contentType: "multipart/form-data; boundary=x" },
    { name: "as jsonp", body: utf8(sample), contentType: "application/javascript" },
    { name: "as json-ish suffix", body: utf8(sample), contentType: "application/jsonx" },
    { name: "without a type", body: utf8(sample), contentType: "" },
  ];
}

/** Valid bodies with hostile content: they may be accepted, but must store nothing poisonous. */
export function pollutedSamples(source: Source): HostileCase[] {
  const sample = SAMPLES[source];
  const polluted = [
    sample.replace("{", '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},'),
    sample.replaceAll('"labels":{', '"labels":{"__proto__":{"polluted":"yes"},"constructor":"y",'),
    sample.replace(/"([^"]{4,})"/, '"$1\\u0000\\ud800\u0000"'),
  ];
  return [
    ...polluted.map((body, i) => ({ name: `polluted sample ${i + 1}`, body: utf8(body) })),
    // Decoded with replacement characters (the hook's documented choice), then parsed or refused.
    { name: "invalid UTF-8 inside", body: invalidUtf8(sample) },
  ];
}

/** Every `/hooks/*` route: the six sources and the GitHub webhook. */
export const ROUTES = [...SOURCES, "github"] as const;
