import { receivedMinute } from "./fingerprint.js";

/** What a repeat needs of a parsed body: its alerts' keys and fingerprints. */
export interface BodyAlerts {
  keys: string[];
  fingerprints: string[];
}

/** The largest body kept (the quick repeat path reads no larger one before routing). */
export const REPEAT_BODY_MAX_BYTES = 16_384;

/**
 * Bodies recently parsed into alerts, by source, received minute and exact text. A parse is a pure
 * function of those three (a body without times of its own keys its alerts by the received minute,
 * nothing finer), so the same text in the same minute has the same keys: a sender re-sending one
 * body — Alertmanager's repeat notifications, a retry — is told a repeat without parsing it again
 * (the parse, its validation and two hashes an alert are most of a repeat's cost). Small bodies
 * only, few of them: at most `max` × `maxBytes` of text is held.
 */
export class RepeatBodies {
  private readonly seen = new Map<string, BodyAlerts>();

  constructor(
    private readonly opts: { max: number; maxBytes: number } = { max: 256, maxBytes: REPEAT_BODY_MAX_BYTES },
  ) {}

  private keyOf(source: string, receivedAt: Date, body: string): string | undefined {
    if (body.length > this.opts.maxBytes) return undefined;
    return `${source}\n${receivedMinute(receivedAt)}\n${body}`;
  }

  get(source: string, receivedAt: Date, body: string): BodyAlerts | undefined {
    const key = this.keyOf(source, receivedAt, body);
    return key === undefined ? undefined : this.seen.get(key);
  }

  set(source: string, receivedAt: Date, body: string, alerts: BodyAlerts): void {
    const key = this.keyOf(source, receivedAt, body);
    if (key === undefined || this.seen.has(key)) return;
    this.seen.set(key, alerts);
    if (this.seen.size > this.opts.max) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
