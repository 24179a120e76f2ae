/** How a group commit cuts its queue into batches. */
export interface GroupCommitOptions<I> {
  /** Most items in one batch. */
  maxItems: number;
  /** Most total weight (alerts) in one batch; one item heavier than this still goes, alone. */
  maxWeight: number;
  weight(item: I): number;
  /** Items that must be stored in a batch of their own (their effects depend on order). */
  alone(item: I): boolean;
  /** Batches stored at the same time: while one waits on the database, the next one fills. */
  parallel: number;
  /** The batch crossed another writer's (deadlock, a row created meanwhile): store it again. */
  retryable(e: unknown): boolean;
  /** The database is unreachable: fail the batch at once instead of storing it item by item. */
  unavailable(e: unknown): boolean;
}

export interface GroupCommitFns<I, O> {
  /** Stores a batch in one transaction; one result per item, in order. */
  store(items: I[]): Promise<O[]>;
  /** Work after the commit (triage); runs while the next batch is stored. Per-item errors. */
  after(items: I[], results: O[]): Promise<(Error | undefined)[]>;
}

interface Pending<I, O> {
  item: I;
  resolve(o: O): void;
  reject(e: unknown): void;
}

const MAX_TRIES = 3;

/**
 * Group commit: requests that arrive while batches are being stored wait and go together in the
 * next one, so one transaction (and one WAL flush) serves many requests. No timer: a lone request
 * is stored at once. Each caller's promise settles after its batch committed and its `after` ran.
 * Batches in flight at once (`parallel`), or another instance's, may cross on a row: the database
 * serialises them, and a batch that lost (`retryable`) is stored again.
 */
export function groupCommit<I, O>(
  fns: GroupCommitFns<I, O>,
  opts: GroupCommitOptions<I>,
): (item: I) => Promise<O> {
  const queue: Pending<I, O>[] = [];
  let inFlight = 0;

  const take = (): Pending<I, O>[] => {
    const first = queue.shift()!;
    if (opts.alone(first.item)) return [first];
    const batch = [first];
    let weight = opts.weight(first.item);
    while (queue.length && batch.length < opts.maxItems) {
      const next = queue[0]!;
      if (opts.alone(next.item) || weight + opts.weight(next.item) > opts.maxWeight) break;
      weight += opts.weight(next.item);
      batch.push(queue.shift()!);
    }
    return batch;
  };

  const storeWithRetry = async (items: I[]): Promise<O[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fns.store(items);
      } catch (e) {
        if (attempt >= MAX_TRIES || !opts.retryable(e)) throw e;
      }
    }
  };

  const settle = async (batch: Pending<I, O>[], results: O[]) => {
    let errors: (Error | undefined)[];
    try {
      errors = await fns.after(
        batch.map((p) => p.item),
        results,
      );
    } catch (e) {
      errors = batch.map(() => e as Error);
    }
    batch.forEach((p, i) => {
      if (errors[i]) p.reject(errors[i]);
      else p.resolve(results[i]!);
    });
  };

  const flush = async (batch: Pending<I, O>[]) => {
    try {
      void settle(batch, await storeWithRetry(batch.map((p) => p.item)));
    } catch (e) {
      if (batch.length === 1 || opts.unavailable(e)) {
        for (const p of batch) p.reject(e);
        return;
      }
      // One bad item must not fail the others: store them one by one.
      for (const p of batch) await flush([p]);
    }
  };

  const pump = () => {
    while (queue.length && inFlight < opts.parallel) {
      inFlight++;
      void flush(take()).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      pump();
    });
}
