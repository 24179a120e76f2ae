import type { z } from "zod";
import type { ParseResult } from "../types.js";

/** Size caps for what a parser keeps from a hostile body. */
export const LIMITS = {
  evidenceLines: 20,
  evidenceChars: 2000,
  summaryChars: 500,
  nameChars: 200,
  labelKeyChars: 200,
  labelChars: 1024,
  labelCount: 64,
} as const;

/** Options a caller may pass to a parser; parsing stays a pure function of body and options. */
export interface ParseOptions {
  /**
   * When the delivery arrived. Sources whose body carries no occurrence identity (Gatus, keyless generic
   * alerts, OpenObserve rows without timestamps) add its minute to the idempotency key, so a later
   * identical firing is not mistaken for a retry (research/alert-formats.md §7.3).
   */
  receivedAt?: Date;
}

/** A source parser that may be told when the delivery arrived. */
export type DeliveryParser = (body: string, options?: ParseOptions) => ParseResult;

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
// Control characters other than tab and newline.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
// A systemd unit name: name, optional @instance, a unit type suffix.
const UNIT =
  /^[A-Za-z0-9:_.\\@-]{1,240}\.(?:service|socket|mount|automount|swap|target|path|timer|slice|scope|device)$/;
// Uptime Kuma times: UTC without a zone ("2026-08-21 01:16:03.412").
const ZONELESS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/;

/** Wraps a parser so that a bug becomes an `invalid` result instead of an exception. */
export function neverThrows(parser: DeliveryParser): DeliveryParser {
  return (body, options) => {
    try {
      return parser(body, options);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      return { kind: "invalid", error: `parser failed: ${message.slice(0, 200)}` };
    }
  };
}

/** Parses a body strictly (a leading byte-order mark is ignored). */
export function parseJson(body: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (body.trim() === "") return { ok: false, error: "empty body" };
  try {
    return { ok: true, value: JSON.parse(body.charCodeAt(0) === 0xfeff ? body.slice(1) : body) };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { ok: false, error: `not JSON: ${message.slice(0, 200)}` };
  }
}

/** The first zod issues, each with its path (`alerts.0.status: …`). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map(
      (issue) => `${issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")}: ${issue.message}`,
    )
    .join("; ");
}

/** True for a plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Keys that must never be copied into an object: they could reach a prototype. */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** Text without control characters (tab and newline kept), capped at `max` characters; "" for non-text. */
export function cleanText(value: unknown, max: number): string {
  const text = typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
  const bounded = text.length > max * 2 ? text.slice(0, max * 2) : text;
  const clean = bounded.replace(CONTROL, "");
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/** Cleaned, capped, non-empty text, or null for anything else. */
export function optText(value: unknown, max: number = LIMITS.nameChars): string | null {
  if (typeof value !== "string") return null;
  const text = cleanText(value, max).trim();
  return text === "" ? null : text;
}

/** True when the text is a systemd unit name (`sonarr.service`, `mnt-media.mount`, `foo@1.service`). */
export function looksLikeUnit(text: string): boolean {
  return UNIT.test(text);
}

/** A host from `host:port`, `[v6]:port`, a URL or a bare name; null when there is none. */
export function hostOf(value: string | null | undefined): string | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (text === "" || text.length > 2048) return null;
  if (text.includes("://")) {
    try {
      const host = new URL(text).hostname.replace(/^\[(.*)\]$/, "$1");
      return host === "" ? null : host;
    } catch {
      return null;
    }
  }
  const v6 = /^\[([0-9A-Fa-f:.]{1,100})\](?::\d{1,5})?$/.exec(text);
  if (v6) return v6[1]!;
  const withPort = /^([^:/\s]{1,253}):\d{1,5}$/.exec(text);
  if (withPort) return withPort[1]!;
  return /^[^\s/]{1,253}$/.test(text) ? text : null;
}

/** A time from RFC 3339 or Uptime Kuma's zoneless UTC text; null for Go's zero time or junk. */
export function parseTime(text: unknown): Date | null {
  if (typeof text !== "string" || text === "" || text.length > 64 || text.startsWith("0001-01-01"))
    return null;
  const iso = ZONELESS.test(text) ? `${text.replace(" ", "T")}Z` : text;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** String values of an untrusted record: forbidden keys dropped, sizes capped. */
export function safeLabels(input: Record<string, unknown> | null | undefined): Record<string, string> {
  const entries: [string, string][] = [];
  for (const key of Object.keys(input ?? {})) {
    if (entries.length >= LIMITS.labelCount) break;
    const value = input![key];
    if (isForbiddenKey(key) || typeof value !== "string" || key.length > LIMITS.labelKeyChars) continue;
    entries.push([key, cleanText(value, LIMITS.labelChars)]);
  }
  // fromEntries defines own properties, so no key can reach a prototype.
  return Object.fromEntries(entries);
}

/**
 * A bounded copy of untrusted JSON: strings cleaned and capped, forbidden keys dropped. Returns undefined
 * when the value is deeper than `maxDepth` or has more than `maxNodes` values (so it stays cheap to store).
 */
export function sanitizeJson(
  value: unknown,
  bounds: { maxDepth: number; maxNodes: number; maxString: number },
): unknown {
  let nodes = 0;
  const copy = (v: unknown, depth: number): unknown => {
    if (++nodes > bounds.maxNodes || depth > bounds.maxDepth) throw new RangeError("too large");
    if (typeof v === "string") return cleanText(v, bounds.maxString);
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (typeof v === "boolean" || v === null) return v;
    if (Array.isArray(v)) return v.map((item) => copy(item, depth + 1));
    if (isRecord(v)) {
      const entries: [string, unknown][] = [];
      for (const key of Object.keys(v)) {
        if (!isForbiddenKey(key))
          entries.push([cleanText(key, LIMITS.labelKeyChars), copy(v[key], depth + 1)]);
      }
      return Object.fromEntries(entries);
    }
    return null;
  };
  try {
    return copy(value, 0);
  } catch {
    return undefined;
  }
}
