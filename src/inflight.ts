/** Work that must finish before the database closes (ingests whose client already hung up). */
export class Inflight {
  private readonly pending = new Set<Promise<unknown>>();

  /** Runs `work`, remembering it until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const forget = () => this.pending.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Resolves once everything tracked (including work tracked meanwhile) has settled. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
