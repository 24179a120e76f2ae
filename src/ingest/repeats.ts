import type { Logger } from "pino";
import type { Db } from "../db/database.js";
import { flushRepeats, type RepeatRow } from "./deliveries.repo.js";

/** How often counted repeats are written. */
const REPEAT_FLUSH_MS = 1000;

/**
 * Deliveries answered as exact repeats (every alert's key known committed, `StoredKeys`): they add
 * no occurrence and get no row of their own. What the audit keeps of them is counted here and
 * written in batches, one statement a flush: on the stored delivery they repeat, a count and the
 * time of the last (`deliveries.repeats`, `last_repeat_at`), and on the live incidents of their
 * fingerprints `last_seen_at`. A crash loses at most the counts of the last interval, never an alert.
 */
export class RepeatLedger {
  private pending = new Map<number, { n: number; lastAt: Date; fingerprints: Set<string> }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly log?: Logger,
  ) {}

  /** Counts one repeat of `delivery`, received at `at`, carrying alerts of `fingerprints`. */
  record(delivery: number, at: Date, fingerprints: Iterable<string>, n = 1): void {
    const p = this.pending.get(delivery);
    if (!p) {
      this.pending.set(delivery, { n, lastAt: at, fingerprints: new Set(fingerprints) });
      return;
    }
    p.n += n;
    if (at > p.lastAt) p.lastAt = at;
    for (const f of fingerprints) p.fingerprints.add(f);
  }

  /** Repeats counted and not yet written. */
  get unwritten(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.n;
    return n;
  }

  /** Writes what was counted (one statement); on failure the counts stay for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = this.pending;
    this.pending = new Map();
    const rows: RepeatRow[] = [...taken].map(([delivery, p]) => ({
      delivery,
      n: p.n,
      lastAt: p.lastAt,
      fingerprints: [...p.fingerprints],
    }));
    try {
      await flushRepeats(this.db, rows);
    } catch (e) {
      // Put back, merged with what came meanwhile: the next flush tries again.
      for (const [delivery, p] of taken) this.record(delivery, p.lastAt, p.fingerprints, p.n);
      this.log?.warn({ err: e, repeats: this.unwritten }, "could not write repeat counts; will retry");
    }
  }

  /** Flushes every `ms` until `close()`. */
  start(ms = REPEAT_FLUSH_MS): this {
    this.timer ??= setInterval(() => void this.flush(), ms);
    this.timer.unref();
    return this;
  }

  /** Stops the timer and writes what is left (shutdown: before the database closes). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
