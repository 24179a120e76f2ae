/** How a group commit cuts its queue into batches. */
export interface GroupCommitOptions<I> {
  /** Most items in one batch. */
  maxItems: number;
  /** Most total weight (alerts) in one batch; one item heavier than this still goes, alone. */
  maxWeight: number;
  weight(item: I): number;
  /**
   * Items whose effect depends on order: stored in a batch of their own, once every batch before
   * them is stored, and before any batch after them starts.
   */
  alone(item: I): boolean;
  /** Batches stored at the same time: while one waits on the database (its commit's flush), the next is stored. */
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
  // An `alone` batch is being stored: nothing starts beside it.
  let barrier = false;

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
    while (queue.length && inFlight < opts.parallel && !barrier) {
      const alone = opts.alone(queue[0]!.item);
      if (alone && inFlight > 0) return; // it waits for what came before it
      inFlight++;
      barrier = alone;
      void flush(take(queue, opts)).finally(() => {
        inFlight--;
        if (alone) barrier = false;
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

/** The next batch off the head of the queue: an `alone` item by itself, else up to the limits. */
function take<T extends { item: I }, I>(queue: T[], opts: GroupCommitOptions<I>): T[] {
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
}
