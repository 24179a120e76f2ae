/**
 * JSON parsing for bodies rendered by OpenObserve's template engine (research/alert-formats.md §1.5).
 *
 * OpenObserve escapes column values with Rust's `escape_default`-like rules, so a body can carry `\u{1b}`
 * (not JSON) and `\'` (not JSON), and unescaped control characters. The repair below rewrites exactly
 * those, honouring backslash parity (`\\'` is an escaped backslash followed by a quote, left alone), and
 * is only run when the plain `JSON.parse` failed. A body it cannot fix (an unescaped `"` in free text) stays
 * malformed: guessing would invent data.
 */

export type JsonParse = { ok: true; value: unknown; repaired: boolean } | { ok: false; error: string };

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
// An unreplaced OpenObserve token such as `{severity}`, `{rows:50}` or `{...rows}`: the value is absent.
const PLACEHOLDER = /^\{(?:\.\.\.)?[A-Za-z0-9_.]+(?::\d+)?\}$/;

/** Parses JSON strictly; a leading byte-order mark is ignored. */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(stripBom(text)), repaired: false };
  } catch (cause) {
    return { ok: false, error: jsonError(cause) };
  }
}

/** Parses JSON, retrying once with the OpenObserve repair when the plain parse fails. */
export function parseTolerantJson(text: string): JsonParse {
  const plain = parseJson(text);
  if (plain.ok) return plain;
  const fixed = repairOpenObserveJson(stripBom(text));
  if (fixed === stripBom(text)) return plain;
  try {
    return { ok: true, value: JSON.parse(fixed), repaired: true };
  } catch {
    return plain;
  }
}

/**
 * Rewrites, inside JSON strings only: `\u{X..}` → `\uXXXX` (surrogate pairs above U+FFFF), `\'` → `'`, and raw
 * control characters → `\u00XX`. One pass, linear in the input.
 */
export function repairOpenObserveJson(text: string): string {
  const out: string[] = [];
  let start = 0;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      inString = !inString;
      continue;
    }
    if (!inString) continue;
    if (c === BACKSLASH) {
      const next = text.charCodeAt(i + 1);
      if (next === 0x27) {
        out.push(text.slice(start, i), "'");
        start = i + 2;
        i += 1;
        continue;
      }
      if (next === 0x75 && text.charCodeAt(i + 2) === 0x7b) {
        const braced = readBracedHex(text, i + 3);
        if (braced) {
          out.push(text.slice(start, i), jsonEscapeCodePoint(braced.codePoint));
          start = braced.end + 1;
          i = braced.end;
          continue;
        }
      }
      // Any other escape (`\\`, `\"`, `\n`, `\u0041`…) is consumed whole, which keeps the parity right.
      i += 1;
      continue;
    }
    if (c < 0x20) {
      out.push(text.slice(start, i), `\\u${c.toString(16).padStart(4, "0")}`);
      start = i + 1;
    }
  }
  if (start === 0) return text;
  out.push(text.slice(start));
  return out.join("");
}

/** True when the value is an OpenObserve placeholder left literal because nothing matched it. */
export function isPlaceholder(value: string): boolean {
  return value.length <= 200 && PLACEHOLDER.test(value);
}

/** A usable scalar as text: strings that are not empty and not a literal placeholder, or finite numbers. */
export function presentString(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value !== "string" || value === "" || isPlaceholder(value)) return undefined;
  return value;
}

/**
 * Undoes OpenObserve's apostrophe escape in an already parsed string: a run of backslashes right before `'`
 * is dropped (`\'` after one escaping pass, `\\\'` after two). Linear: no regex backtracking over long runs.
 */
export function unescapeApostrophes(text: string): string {
  if (!text.includes("\\'")) return text;
  const parts = text.split("'");
  for (let p = 0; p < parts.length - 1; p++) {
    const part = parts[p]!;
    let end = part.length;
    while (end > 0 && part.charCodeAt(end - 1) === BACKSLASH) end--;
    if (end !== part.length) parts[p] = part.slice(0, end);
  }
  return parts.join("'");
}

function readBracedHex(text: string, from: number): { codePoint: number; end: number } | null {
  let i = from;
  while (i < text.length && i - from < 6 && isHex(text.charCodeAt(i))) i++;
  if (i === from || text.charCodeAt(i) !== 0x7d) return null;
  const codePoint = Number.parseInt(text.slice(from, i), 16);
  return codePoint <= 0x10ffff ? { codePoint, end: i } : null;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function jsonEscapeCodePoint(codePoint: number): string {
  const units = String.fromCodePoint(codePoint);
  let escaped = "";
  for (let k = 0; k < units.length; k++) escaped += `\\u${units.charCodeAt(k).toString(16).padStart(4, "0")}`;
  return escaped;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function jsonError(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return `not JSON: ${message.slice(0, 200)}`;
}
