import { hashIdentity } from "../fingerprint.js";
import { parseTolerantJson, presentString, unescapeApostrophes } from "../tolerant-json.js";
import type { NormalizedAlert } from "../types.js";
import {
  capText,
  cleanLogLine,
  compact,
  OO_LIMITS as LIMITS,
  occurrenceParts,
  oneLine,
  type OoParseOptions as ParseOptions,
} from "./openobserve-text.js";

/** One OpenObserve result row, reduced to what grouping and evidence need. */
export interface OoRow {
  ts: string | null;
  host: string;
  unit: string;
  msg: string | null;
}

/** The alert-level facts every OpenObserve body variant yields. */
export interface OoContext {
  format: string;
  name: string;
  org: string;
  stream: string;
  streamType?: string | undefined;
  severity: string | null;
  category?: string | undefined;
  alertUrl?: string | undefined;
  count?: string | undefined;
  /** Identifies one firing when the rows carry no timestamps. */
  occurrence?: string | undefined;
  /** Used when there are no rows: `", "`-joined column lists of the template. */
  hosts: string[];
  units: string[];
}

// OpenObserve fetches at most max(100, threshold) rows; anything beyond this is hostile or a misconfiguration.
const MAX_ROWS = 1000;
const MAX_GROUPS = 100;
// A systemd unit at the start of a string row, as in the docs' `{unit}: {msg}` row template.
const UNIT_PREFIX =
  /^([A-Za-z0-9@_.:\\-]{1,200}\.(?:service|socket|mount|automount|timer|path|scope|slice|target|swap|device)): /;

/** Rows from the `rows` value: an array of row objects, or one string of rows joined with newlines. */
export function readRows(value: unknown): { rows: OoRow[]; repaired: boolean } {
  const rows: OoRow[] = [];
  let repaired = false;
  const items = Array.isArray(value) ? value : typeof value === "string" ? splitLines(value) : [];
  for (const item of items.slice(0, MAX_ROWS)) {
    if (typeof item === "string") {
      const row = rowFromLine(item);
      if (row) {
        rows.push(row.row);
        repaired ||= row.repaired;
      }
    } else if (isRecord(item)) {
      rows.push(rowFromObject(item));
    }
  }
  return { rows, repaired };
}

/** Lines of a string body or `rows` value; a placeholder or empty string has none. */
export function splitLines(text: string): string[] {
  return presentString(text) === undefined ? [] : text.split("\n", MAX_ROWS + 1);
}

/** A row from a plain object, accepting the recommended names and journald's own. */
export function rowFromObject(o: Record<string, unknown>): OoRow {
  return {
    ts: presentString(field(o, "ts") ?? field(o, "_timestamp")) ?? null,
    host: presentString(field(o, "host") ?? field(o, "_hostname") ?? field(o, "hostname")) ?? "",
    unit: presentString(field(o, "unit") ?? field(o, "_systemd_unit") ?? field(o, "systemd_unit")) ?? "",
    msg: presentString(field(o, "msg") ?? field(o, "message") ?? field(o, "log")) ?? null,
  };
}

/** One alert per (host, unit) group of rows (research/alert-formats.md §7.4). */
export function alertsFromRows(ctx: OoContext, rows: OoRow[], options?: ParseOptions): NormalizedAlert[] {
  const groups = new Map<string, OoRow[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.host, row.unit]);
    const group = groups.get(key);
    if (group) group.push(row);
    else if (groups.size < MAX_GROUPS) groups.set(key, [row]);
  }
  if (groups.size === 0)
    return fallbackGroups(ctx).map(([host, unit]) => buildAlert(ctx, host, unit, [], options));
  return [...groups.values()].map((group) => buildAlert(ctx, group[0]!.host, group[0]!.unit, group, options));
}

function fallbackGroups(ctx: OoContext): [string, string][] {
  // Without rows the only hint is the joined column lists; a host is trusted only when there is one.
  const host = ctx.hosts.length === 1 ? ctx.hosts[0]! : "";
  const units = ctx.units.length > 0 ? ctx.units.slice(0, MAX_GROUPS) : [""];
  return units.map((unit) => [host, unit]);
}

function buildAlert(ctx: OoContext, host: string, unit: string, group: OoRow[], options?: ParseOptions) {
  const ordered = [...group].sort(compareRows);
  const stamps = ordered.flatMap((r) => (r.ts === null ? [] : [r.ts]));
  const evidence = distinctEvidence(ordered);
  // Row timestamps identify the occurrence; without them the messages do, and the arrival minute helps.
  const weak = stamps.length === 0 && !ctx.occurrence;
  const material = stamps.length > 0 ? stamps : ctx.occurrence ? [ctx.occurrence] : [...evidence].sort();
  const summaryLine =
    evidence[0] ?? (ctx.stream ? `${ctx.name} fired on stream ${ctx.stream}` : `${ctx.name} fired`);
  const alert: NormalizedAlert = {
    source: "openobserve",
    status: "firing",
    fingerprint: hashIdentity(["openobserve", ctx.org, ctx.stream, ctx.name, host, unit]),
    idempotencyKey: hashIdentity(
      occurrenceParts(["openobserve", ctx.name, host, unit, material], weak, options),
    ),
    name: ctx.name,
    service: unit === "" ? null : unit,
    host: host === "" ? null : host,
    severity: ctx.severity,
    summary: oneLine(unit === "" || summaryLine.startsWith(unit) ? summaryLine : `${unit}: ${summaryLine}`),
    details: {
      ...compact({
        format: ctx.format,
        org: ctx.org || undefined,
        stream: ctx.stream || undefined,
        streamType: ctx.streamType,
        category: ctx.category,
        alertUrl: ctx.alertUrl,
        count: ctx.count,
        rowCount: group.length,
      }),
      evidence,
    },
    labels: labelsOf(ctx, host, unit),
    startsAt: stamps.length > 0 ? dateFromStamp(stamps[0]!) : null,
  };
  return alert;
}

function labelsOf(ctx: OoContext, host: string, unit: string): Record<string, string> {
  const labels = compact({
    alertname: ctx.name,
    host: host || undefined,
    unit: unit || undefined,
    org: ctx.org || undefined,
    stream: ctx.stream || undefined,
    category: ctx.category,
    severity: ctx.severity ?? undefined,
  });
  return labels as Record<string, string>;
}

function distinctEvidence(rows: OoRow[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.size >= LIMITS.evidenceLines) break;
    if (row.msg === null) continue;
    const line = cleanLogLine(unescapeApostrophes(row.msg));
    if (line !== "") seen.add(line);
  }
  return [...seen];
}

// Oldest first; rows without a timestamp last. Timestamps are digit strings, so length orders magnitude.
function compareRows(a: OoRow, b: OoRow): number {
  if (a.ts === b.ts) return 0;
  if (a.ts === null) return 1;
  if (b.ts === null) return -1;
  return a.ts.length - b.ts.length || (a.ts < b.ts ? -1 : 1);
}

/** A row timestamp (µs since the epoch in OpenObserve, but ms, s and ISO text are accepted) as a Date. */
export function dateFromStamp(stamp: string): Date | null {
  let ms: number;
  if (/^\d{1,19}$/.test(stamp)) {
    const n = Number(stamp);
    ms = stamp.length >= 15 ? n / 1000 : stamp.length >= 12 ? n : n * 1000;
  } else {
    ms = Date.parse(stamp);
  }
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date : null;
}

function rowFromLine(line: string): { row: OoRow; repaired: boolean } | null {
  const trimmed = line.trim();
  if (trimmed === "") return null;
  if (trimmed.startsWith("{")) {
    const parsed = parseTolerantJson(trimmed);
    if (parsed.ok && isRecord(parsed.value))
      return { row: rowFromObject(parsed.value), repaired: parsed.repaired };
  }
  const unit = UNIT_PREFIX.exec(trimmed)?.[1] ?? "";
  const msg = unit === "" ? trimmed : trimmed.slice(unit.length + 2);
  return { row: { ts: null, host: "", unit, msg: capText(msg, LIMITS.evidenceChars * 4) }, repaired: false };
}

function field(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** True for a plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
