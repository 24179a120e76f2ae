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
   * Records keys known committed, each with the delivery that carried it (`deliveries[i]` for
   * `keys[i]`; call after the commit).
   * A known key keeps its delivery and its time to live (the table is asked again once it passed).
   * The oldest entries make room. One clock read and one eviction pass a call: a batch brings
   * thousands of keys.
   */
  add(keys: readonly string[], deliveries: readonly number[]): void {
    const now = this.now();
    const until = now + this.opts.ttlMs;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const entry = this.seen.get(key);
      if (entry !== undefined && entry.until > now) continue;
      if (entry !== undefined) this.seen.delete(key); // expired: goes to the end as new
      this.seen.set(key, { until, delivery: deliveries[i]! });
    }
    let excess = this.seen.size - this.opts.max;
    if (excess <= 0) return;
    // The Map's order is insertion order: the oldest first.
    for (const key of this.seen.keys()) {
      if (excess-- <= 0) break;
      this.seen.delete(key);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
