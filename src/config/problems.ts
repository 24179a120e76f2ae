import type { z } from "zod";
import { keysAt } from "./reference.js";

/** The value at `path` in the raw (JSON-decoded) config, for naming what was found. */
function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** How a JSON value reads in a message: `2.5`, `the string "80"`, `an object`, … */
function shown(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 39)}…` : v)}`;
  return JSON.stringify(v);
}

const EXPECTED: Record<string, string> = {
  int: "a whole number",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  record: "an object",
};

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `key` (case-insensitive), when it is a plausible typo. */
export function closestKey(key: string, known: string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (best === undefined || d < best.d) best = { k, d };
  }
  if (best === undefined) return undefined;
  return best.d <= Math.max(2, Math.floor(best.k.length / 3)) ? best.k : undefined;
}

/**
 * Formats zod issues as `path: problem`, one per problem, in the words of the config file: what was
 * expected and what was found, and for an unknown key the known one it most resembles.
 */
export function describeIssues(error: z.ZodError, raw?: unknown): string[] {
  return error.issues.map((i) => {
    const path = i.path.join(".");
    const at = path || "(root)";
    if (i.code === "unrecognized_keys") {
      const known = keysAt(i.path as (string | number)[]);
      return i.keys
        .map((k) => {
          const near = closestKey(k, known);
          const key = `${path ? `${path}.` : ""}${k}`;
          return `${key}: unknown key${near ? ` (did you mean ${path ? `${path}.` : ""}${near}?)` : ""}`;
        })
        .join("; ");
    }
    if (i.code === "invalid_type") {
      const found = valueAt(raw, i.path);
      const expected = EXPECTED[i.expected] ?? i.expected;
      if (found === undefined) return `${at}: required (${expected})`;
      return `${at}: expected ${expected}, got ${shown(found)}`;
    }
    if (i.code === "invalid_value") {
      return `${at}: expected one of ${i.values.map((v) => JSON.stringify(v)).join(", ")}, got ${shown(valueAt(raw, i.path))}`;
    }
    return `${at}: ${i.message}`;
  });
}

/**
 * A JSON syntax error as `FILE:LINE:COLUMN: …` with the line it is on: V8 names a character
 * position ("… in JSON at position 42"), which nobody counts by hand.
 */
export function jsonSyntaxProblem(file: string, text: string, error: Error): string {
  const m = / in JSON at position (\d+)/.exec(error.message);
  const what = error.message
    .replace(/ in JSON at position \d+.*$/s, "")
    .replace(/ \(line \d+ column \d+\)$/, "");
  const pos = m ? Number(m[1]) : text.length;
  const before = text.slice(0, pos).split("\n");
  const line = before.length;
  const column = (before.at(-1)?.length ?? 0) + 1;
  const source = (text.split("\n")[line - 1] ?? "").replace(/\t/g, " ");
  return `${file}:${line}:${column}: not valid JSON: ${what}\n      ${source}\n      ${" ".repeat(column - 1)}^`;
}
