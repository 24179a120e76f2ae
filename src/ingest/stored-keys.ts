/**
 * Idempotency keys this process has seen committed, each with a stored delivery that carried it,
 * kept for a while. A stored key stays stored (no instance ever unstores one; only the retention
 * purge, days later, deletes alerts), so a delivery made of nothing but known keys — an alert its
 * source re-sends every few seconds, a sender's retry — is a duplicate without asking the table.
 * Bounded in size and age.
 */
export class StoredKeys {
  private readonly seen = new Map<string, { until: number; delivery: number }>();

  constructor(
    private readonly opts: { max: number; ttlMs: number; now?: () => number } = {
      max: 10_000,
      ttlMs: 600_000,
    },
  ) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** The stored delivery that carried `key`, when it was seen committed within the time to live. */
  deliveryOf(key: string): number | undefined {
    const entry = this.seen.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > this.now()) return entry.delivery;
    this.seen.delete(key);
    return undefined;
  }

  has(key: string): boolean {
    return this.deliveryOf(key) !== undefined;
  }

  /**
   * When every key is known: the delivery that carried the first (the one a repeat of all of them
   * is counted on). Otherwise undefined.
   */
  repeatOf(keys: readonly string[]): number | undefined {
    if (keys.length === 0) return undefined;
    const first = this.deliveryOf(keys[0]!);
    if (first === undefined) return undefined;
    for (let i = 1; i < keys.length; i++) if (!this.has(keys[i]!)) return undefined;
    return first;
  }

  /**
   * Records keys known committed with the delivery that carried them (call after the commit). A
   * known key keeps its delivery and its time to live (the table is asked again once it passed).
   * The oldest entries make room.
   */
  add(entries: Iterable<readonly [key: string, delivery: number]>): void {
    const until = this.now() + this.opts.ttlMs;
    for (const [key, delivery] of entries) {
      if (this.has(key)) continue;
      this.seen.set(key, { until, delivery });
      if (this.seen.size > this.opts.max) {
        const oldest = this.seen.keys().next().value;
        if (oldest !== undefined) this.seen.delete(oldest);
      }
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
