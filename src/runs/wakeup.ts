import { sql } from "kysely";
import pg from "pg";
import type { Db } from "../db/database.js";
import { CONNECTION_LIMITS } from "../db/unavailable.js";

/** The Postgres channel on which any instance announces a queued run. */
export const RUNS_CHANNEL = "homelab_healer_runs";

/** Why a wait ended. */
export type WakeReason = "notified" | "timeout" | "aborted";

/** Something that can LISTEN: a PGlite instance (structurally, so this file needs no PGlite import). */
export interface PgliteListener {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/** Where cross-instance wake-ups come from: a Postgres URL (a dedicated client), a PGlite, or nowhere. */
export type ListenSource = { url: string } | { pglite: PgliteListener } | null;

export interface RunWakeupOptions {
  listen: ListenSource;
  /** Safety net: a wait ends after this long even without a notification. */
  pollMs?: number;
  /** First and largest delay before reconnecting a dropped LISTEN connection. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Told when the LISTEN connection comes up (true) or drops (false, with the error). */
  onListenChange?: (listening: boolean, error?: unknown) => void;
}

/** Lets the worker sleep until a run may be claimable. */
export interface RunWakeup {
  /** Wakes every waiter now; if none waits, the next wait returns at once (no lost wake-up). */
  notify(): void;
  /** Sleeps until notified, the poll timeout, or the signal. */
  wait(signal?: AbortSignal): Promise<WakeReason>;
  /** Stops listening; pending waits end as "aborted". */
  close(): Promise<void>;
}

/** Issues NOTIFY on the runs channel; inside a transaction it is delivered at commit. */
export async function notifyRunQueued(db: Db): Promise<void> {
  await sql`SELECT pg_notify(${RUNS_CHANNEL}, '')`.execute(db);
}

/** Creates a wake-up that listens on `options.listen` and starts listening at once. */
export function createRunWakeup(options: RunWakeupOptions): RunWakeup {
  const pollMs = options.pollMs ?? 5000;
  const minDelay = options.reconnectMinMs ?? 250;
  const maxDelay = options.reconnectMaxMs ?? 30_000;
  const waiters = new Set<(reason: WakeReason) => void>();
  // Level-triggered: a notify that finds no waiter is remembered, so a run queued between the
  // worker's empty claim and its next wait is not slept through until the poll timeout.
  let pending = false;
  let closed = false;

  const notify = () => {
    if (closed) return;
    if (waiters.size === 0) {
      pending = true;
      return;
    }
    for (const wake of [...waiters]) wake("notified");
  };

  const stopListening = startListening(options, notify, () => closed, minDelay, maxDelay);

  return {
    notify,
    wait(signal) {
      if (closed || signal?.aborted) return Promise.resolve("aborted");
      if (pending) {
        pending = false;
        return Promise.resolve("notified");
      }
      return new Promise<WakeReason>((resolve) => {
        const done = (reason: WakeReason) => {
          waiters.delete(done);
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(reason);
        };
        const onAbort = () => done("aborted");
        const timer = setTimeout(() => done("timeout"), pollMs);
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.add(done);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const wake of [...waiters]) wake("aborted");
      await stopListening();
    },
  };
}

/** Starts the LISTEN side; returns how to stop it. */
function startListening(
  options: RunWakeupOptions,
  notify: () => void,
  isClosed: () => boolean,
  minDelay: number,
  maxDelay: number,
): () => Promise<void> {
  const source = options.listen;
  if (source === null) return async () => {};
  if ("pglite" in source) {
    // PGlite lives in this process: no connection to lose, so no reconnect loop.
    const unlisten = source.pglite.listen(RUNS_CHANNEL, notify).then(
      (fn) => {
        options.onListenChange?.(true);
        return fn;
      },
      (err: unknown) => {
        options.onListenChange?.(false, err);
        return async () => {};
      },
    );
    return async () => (await unlisten)();
  }
  return listenWithReconnect(source.url, options, notify, isClosed, minDelay, maxDelay);
}

/** Keeps one dedicated pg client LISTENing, reconnecting with capped exponential backoff. */
function listenWithReconnect(
  url: string,
  options: RunWakeupOptions,
  notify: () => void,
  isClosed: () => boolean,
  minDelay: number,
  maxDelay: number,
): () => Promise<void> {
  let client: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = minDelay;

  const scheduleReconnect = (err: unknown) => {
    options.onListenChange?.(false, err);
    if (isClosed()) return;
    retryTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, maxDelay);
  };

  const connect = () => {
    if (isClosed()) return;
    const c = new pg.Client({ connectionString: url, ...CONNECTION_LIMITS });
    client = c;
    let dropped = false;
    const drop = (err: unknown) => {
      // 'error' and 'end' both fire for one failure: reconnect once.
      if (dropped) return;
      dropped = true;
      if (client === c) client = null;
      c.end().catch(() => {});
      if (!isClosed()) scheduleReconnect(err);
    };
    // Attached before connecting and kept until the client is gone (close() swaps in a no-op):
    // an 'error' with no listener would end the process.
    c.on("error", drop);
    c.on("end", () => drop(new Error("LISTEN connection ended")));
    c.on("notification", (msg) => {
      if (msg.channel === RUNS_CHANNEL) notify();
    });
    c.connect()
      .then(() => c.query(`LISTEN ${RUNS_CHANNEL}`))
      .then(() => {
        if (dropped) return;
        if (isClosed()) {
          dropped = true;
          c.end().catch(() => {});
          return;
        }
        delay = minDelay;
        options.onListenChange?.(true);
        // Runs may have been queued while we were not listening.
        notify();
      })
      .catch(drop);
  };

  connect();

  return async () => {
    clearTimeout(retryTimer);
    const c = client;
    client = null;
    if (c) {
      c.removeAllListeners("end");
      c.removeAllListeners("error");
      c.on("error", () => {});
      await c.end().catch(() => {});
    }
  };
}
