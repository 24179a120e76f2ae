/**
 * Idempotency keys this process has seen committed, kept for a while. A stored key stays stored
 * (no instance ever unstores one; only the retention purge, days later, deletes alerts), so a key
 * found here needs no lookup: a batch of nothing but known repeats — an alert re-sent every few
 * seconds by its source — goes straight to one INSERT of its deliveries. Bounded in size and age.
 */
export class StoredKeys {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly opts: { max: number; ttlMs: number; now?: () => number } = {
      max: 10_000,
      ttlMs: 600_000,
    },
  ) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** True when `key` was seen committed within the time to live. */
  has(key: string): boolean {
    const until = this.seen.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.seen.delete(key);
    return false;
  }

  /** Records keys known to be committed (call after the commit). The oldest entries make room. */
  add(keys: Iterable<string>): void {
    const until = this.now() + this.opts.ttlMs;
    for (const key of keys) {
      // Re-inserting moves the key to the end: the Map's order is the eviction order.
      this.seen.delete(key);
      this.seen.set(key, until);
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
