import type { z } from "zod";
import type { ParseResult } from "../types.js";

/*
 * Text helpers of the OpenObserve parser. They live apart from common.ts so the two can change
 * independently; the caps are the brief's (evidence 20 lines × 2000 chars, summary 500 chars).
 */

/** Size caps for what the OpenObserve parser keeps from a hostile body. */
export const OO_LIMITS = {
  evidenceLines: 20,
  evidenceChars: 2000,
  summaryChars: 500,
  nameChars: 200,
} as const;

/** Options of a parse; `receivedAt` keys occurrences of bodies that carry no time of their own. */
export interface OoParseOptions {
  receivedAt?: Date;
}

// CSI sequences (colours, cursor moves) and two-byte escapes; the classes are disjoint, so this is linear.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts every ANSI sequence.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
// Control characters other than tab and newline: NUL, bell, leftover ESC…
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** The `invalid` result for a zod failure: the first issues, each with its path. */
export function invalidFrom(source: string, error: z.ZodError): ParseResult {
  const issues = error.issues.slice(0, 3).map((i) => `${formatPath(i.path)}: ${i.message}`);
  return { kind: "invalid", error: `${source}: ${issues.join("; ")}` };
}

/** A dotted path for an error message, `(root)` for the body itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(root)" : path.map((p) => String(p)).join(".");
}

/** Cuts text to `max` characters, marking the cut. */
export function capText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** One line for humans: whitespace collapsed, capped. */
export function oneLine(text: string, max: number = OO_LIMITS.summaryChars): string {
  return capText(
    text
      .slice(0, max * 4)
      .replace(/\s+/g, " ")
      .trim(),
    max,
  );
}

/** A log line fit to keep as evidence: no ANSI codes or control characters, capped. */
export function cleanLogLine(text: string): string {
  const bounded = text.slice(0, OO_LIMITS.evidenceChars * 4);
  return capText(bounded.replace(ANSI, "").replace(CONTROL, "").trim(), OO_LIMITS.evidenceChars);
}

/** Drops undefined entries so details serialise the same way everywhere. */
export function compact(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

/** The identity parts of an occurrence, with the arrival minute added when the body has no own identity. */
export function occurrenceParts(
  parts: readonly unknown[],
  weak: boolean,
  options?: OoParseOptions,
): unknown[] {
  if (!weak || !options?.receivedAt || !Number.isFinite(options.receivedAt.getTime())) return [...parts];
  return [...parts, options.receivedAt.toISOString().slice(0, 16)];
}
