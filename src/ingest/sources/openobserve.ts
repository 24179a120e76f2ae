import { z } from "zod";
import { parseTolerantJson, presentString } from "../tolerant-json.js";
import type { ParseResult } from "../types.js";
import {
  alertsFromRows,
  isRecord,
  type OoContext,
  type OoRow,
  readRows,
  splitLines,
} from "./openobserve-rows.js";
import {
  capText,
  invalidFrom,
  OO_LIMITS as LIMITS,
  type OoParseOptions as ParseOptions,
} from "./openobserve-text.js";

/*
 * OpenObserve has no fixed payload: the body is whatever the destination template renders. Recognised, in
 * this order (research/alert-formats.md §1.7, §1.8):
 *   1. `schema: "homelab.oo.v1"`  the recommended template (rows as array or newline-joined string);
 *   2. `version: 1`               the content envelope of unreleased OpenObserve (HEAD after v0.92.2);
 *   3. `alert: {name, stream}`    the shipped `prebuilt_webhook` template (no rows, so no host or unit);
 *   4. `alert: "<name>"`          a hand-written flat template (`unit`/`units`, `host`/`hosts`, `message`);
 *   5. `text: "..."`              the docs' example: a header line, then one line per row.
 * Anything else is judged against the recommended template, so the error names a path of it.
 * OpenObserve never sends "resolved": every alert is firing (the incident layer resolves by staleness).
 */

const TEST_ALERT_NAME = "Test Alert - High CPU Usage";
const TEST_URL_MARK = "type=alert_destination_test";

const text = z.union([z.string(), z.number()]).transform((v) => presentString(v));
const name = z.string().min(1).max(LIMITS.nameChars);

const Recommended = z.looseObject({
  schema: z.literal("homelab.oo.v1"),
  org: text.optional(),
  alert: z.looseObject({
    name,
    type: text.optional(),
    severity: text.optional(),
    category: text.optional(),
    stream_type: text.optional(),
    stream: text.optional(),
    count: text.optional(),
    url: text.optional(),
  }),
  hosts: z.string().optional(),
  units: z.string().optional(),
  rows: z.union([z.array(z.unknown()), z.string()]).optional(),
});

const Envelope = z.looseObject({
  version: z.literal(1),
  severity: z.string().nullish(),
  rows: z.array(z.unknown()).nullish(),
  context: z.looseObject({
    alert_name: name,
    org_name: text.nullish(),
    stream_name: text.nullish(),
    stream_type: text.nullish(),
    severity: text.nullish(),
    category: text.nullish(),
    alert_url: text.nullish(),
    alert_count: text.nullish(),
    host: z.unknown().optional(),
    unit: z.unknown().optional(),
  }),
});

const Prebuilt = z.looseObject({
  alert: z.looseObject({
    name,
    stream: z.looseObject({ name: text.optional(), type: text.optional() }).optional(),
    count: text.optional(),
    url: text.optional(),
  }),
});

const Flat = z.looseObject({
  alert: name,
  org: text.optional(),
  stream: text.optional(),
  severity: text.optional(),
  category: text.optional(),
  host: text.optional(),
  hosts: z.string().optional(),
  unit: text.optional(),
  units: z.string().optional(),
  message: z.string().optional(),
  msg: z.string().optional(),
  rows: z.union([z.array(z.unknown()), z.string()]).optional(),
});

const Text = z.looseObject({ text: z.string() });

/** Parses an OpenObserve delivery, repairing OpenObserve's non-JSON escapes first when needed. Never throws. */
export function parseOpenObserve(body: string, options?: ParseOptions): ParseResult {
  try {
    return parse(body, options);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { kind: "invalid", error: `openobserve: parser failed: ${message.slice(0, 200)}` };
  }
}

function parse(body: string, options?: ParseOptions): ParseResult {
  if (body.trim() === "") return { kind: "malformed", error: "empty body" };
  const parsed = parseTolerantJson(body);
  if (!parsed.ok) return { kind: "malformed", error: `${parsed.error} (also after the OpenObserve repair)` };
  const value = parsed.value;
  if (!isRecord(value)) return { kind: "invalid", error: "openobserve: (root): expected a JSON object" };
  const shaped = interpret(value);
  if ("result" in shaped) return shaped.result;
  const { rows, repaired } = readRows(shaped.rows);
  const alerts = alertsFromRows(shaped.ctx, [...shaped.extraRows, ...rows], options);
  return { kind: "alerts", alerts, repaired: parsed.repaired || repaired };
}

type Shaped = { ctx: OoContext; rows: unknown; extraRows: OoRow[] } | { result: ParseResult };

function interpret(value: Record<string, unknown>): Shaped {
  if ("schema" in value || !("alert" in value || "version" in value || "text" in value)) {
    return recommended(value);
  }
  if ("version" in value) return envelope(value);
  if (isRecord(value.alert)) return prebuilt(value);
  if ("alert" in value) return flat(value);
  return docsText(value);
}

function recommended(value: Record<string, unknown>): Shaped {
  const r = Recommended.safeParse(value);
  if (!r.success) return { result: invalidFrom("openobserve", r.error) };
  const a = r.data.alert;
  const ctx: OoContext = {
    format: "homelab.oo.v1",
    name: a.name,
    org: r.data.org ?? "",
    stream: a.stream ?? "",
    streamType: a.stream_type,
    severity: a.severity ?? null,
    category: a.category,
    alertUrl: a.url,
    count: a.count,
    hosts: joinedList(r.data.hosts),
    units: joinedList(r.data.units),
  };
  return { ctx, rows: r.data.rows, extraRows: [] };
}

function envelope(value: Record<string, unknown>): Shaped {
  const r = Envelope.safeParse(value);
  if (!r.success) return { result: invalidFrom("openobserve", r.error) };
  const c = r.data.context;
  const ctx: OoContext = {
    format: "content-envelope-v1",
    name: c.alert_name,
    org: c.org_name ?? "",
    stream: c.stream_name ?? "",
    streamType: c.stream_type ?? undefined,
    severity: presentString(r.data.severity) ?? c.severity ?? null,
    category: c.category ?? undefined,
    alertUrl: c.alert_url ?? undefined,
    count: c.alert_count ?? undefined,
    hosts: stringList(c.host),
    units: stringList(c.unit),
  };
  return { ctx, rows: r.data.rows ?? [], extraRows: [] };
}

function prebuilt(value: Record<string, unknown>): Shaped {
  const r = Prebuilt.safeParse(value);
  if (!r.success) return { result: invalidFrom("openobserve", r.error) };
  const a = r.data.alert;
  if (a.name === TEST_ALERT_NAME || a.url?.includes(TEST_URL_MARK)) {
    return {
      result: { kind: "test", note: "OpenObserve destination test (sample data of the Test button)" },
    };
  }
  const ctx: OoContext = {
    format: "prebuilt-webhook",
    name: a.name,
    org: "",
    stream: a.stream?.name ?? "",
    streamType: a.stream?.type,
    severity: null,
    alertUrl: a.url,
    count: a.count,
    // No rows and no time: the short URL (it encodes the evaluated time range) tells firings apart.
    occurrence: a.url,
    hosts: [],
    units: [],
  };
  return { ctx, rows: [], extraRows: [] };
}

function flat(value: Record<string, unknown>): Shaped {
  const r = Flat.safeParse(value);
  if (!r.success) return { result: invalidFrom("openobserve", r.error) };
  const d = r.data;
  const ctx: OoContext = {
    format: "flat",
    name: d.alert,
    org: d.org ?? "",
    stream: d.stream ?? "",
    severity: d.severity ?? null,
    category: d.category,
    hosts: d.host ? [d.host] : joinedList(d.hosts),
    units: d.unit ? [d.unit] : joinedList(d.units),
  };
  const message = presentString(d.message ?? d.msg);
  const hasRows = Array.isArray(d.rows) ? d.rows.length > 0 : splitLines(d.rows ?? "").length > 0;
  const extraRows: OoRow[] =
    message && !hasRows ? [{ ts: null, host: d.host ?? "", unit: d.unit ?? "", msg: message }] : [];
  return { ctx, rows: d.rows, extraRows };
}

function docsText(value: Record<string, unknown>): Shaped {
  const r = Text.safeParse(value);
  if (!r.success) return { result: invalidFrom("openobserve", r.error) };
  const [header = "", ...lines] = splitLines(r.data.text);
  const named = /^alert for (\S{1,200})/.exec(header)?.[1];
  const ctx: OoContext = {
    format: "text",
    name: named ?? (capText(header.trim(), LIMITS.nameChars) || "openobserve"),
    org: "",
    stream: "",
    severity: null,
    hosts: [],
    units: [],
  };
  return { ctx, rows: lines, extraRows: [] };
}

/** A `", "`-joined column list: placeholders and empties dropped, sorted (the join order is random). */
function joinedList(joined: string | undefined): string[] {
  if (!joined || presentString(joined) === undefined) return [];
  return [
    ...new Set(joined.split(", ", 1000).filter((s) => s !== "" && presentString(s) !== undefined)),
  ].sort();
}

function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return [...new Set(items.map((v) => presentString(v)).filter((v): v is string => v !== undefined))].sort();
}
