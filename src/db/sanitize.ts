/** Postgres text cannot hold NUL: replace it (and keep everything else as sent). */
export function cleanText(s: string): string;
export function cleanText(s: string | null): string | null;
export function cleanText(s: string | null): string | null {
  return s === null ? null : s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s;
}

/**
 * JSON for a jsonb column: Postgres rejects the escape \u0000 and lone surrogates (which
 * JSON.stringify writes as \udXXX escapes; valid pairs it writes as characters). Only an escape
 * preceded by an even number of backslashes is one (an odd number means a literal backslash).
 */
export function jsonForPg(value: unknown): string {
  const text = JSON.stringify(value);
  return /\\u(?:0000|d[89a-f])/i.test(text)
    ? text.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, "$1\\ufffd")
    : text;
}
