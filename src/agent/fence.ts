import { randomBytes } from "node:crypto";

/** A random marker for one prompt: data that never saw it cannot close its fence. */
export function newNonce(): string {
  return randomBytes(9).toString("base64url").replace(/[-_]/g, "x");
}

// Invisible and direction-changing characters can hide text from a human reading the prompt or log.
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
// Control characters but tab and newline.
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Cleans untrusted text: no control or invisible characters, and no copy of the fence marker. */
export function neutralize(text: string, nonce: string): string {
  const clean = text.replace(CONTROL, " ").replace(INVISIBLE, "");
  return clean.split(nonce).join("[marker removed]");
}

/** Wraps untrusted text in a fence only this prompt's nonce closes. */
export function fence(label: string, text: string, nonce: string): string {
  const body = neutralize(text, nonce).replace(/\n+$/, "");
  return `<<<UNTRUSTED-${nonce} ${label}\n${body}\nUNTRUSTED-${nonce}>>>`;
}

/** Cuts text to at most `max` UTF-8 bytes (on a character boundary), marking the cut. */
export function capBytes(text: string, max: number, keep: "head" | "tail" = "head"): string {
  if (Buffer.byteLength(text, "utf8") <= max) return text;
  const mark = "…[truncated]";
  let room = max - Buffer.byteLength(mark, "utf8");
  const chars = Array.from(text);
  if (keep === "tail") chars.reverse();
  const kept: string[] = [];
  for (const ch of chars) {
    room -= Buffer.byteLength(ch, "utf8");
    if (room < 0) break;
    kept.push(ch);
  }
  return keep === "head" ? kept.join("") + mark : mark + kept.reverse().join("");
}

/** Caps one line to `max` characters. */
export function capLine(line: string, max: number): string {
  return line.length <= max ? line : `${line.slice(0, max)}…`;
}
