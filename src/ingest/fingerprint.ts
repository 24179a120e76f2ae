import { createHash } from "node:crypto";

/**
 * Hashes an identity tuple to 16 hex characters: sha256 over its JSON text (research/alert-formats.md §7.4).
 * The parts must be flat (strings, numbers, null, or flat arrays of them): the tuple is built by the parsers
 * from chosen fields, never from a whole hostile body.
 */
export function hashIdentity(parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

/** The minute a delivery arrived, as the occurrence part of a key for bodies that carry no time. */
export function receivedMinute(receivedAt: Date): string {
  return Number.isFinite(receivedAt.getTime()) ? receivedAt.toISOString().slice(0, 16) : "";
}
