import type { Clock } from "../clock.js";
import type { Db } from "../db/database.js";
import { heartbeat } from "./queue.repo.js";

/**
 * Why the lease is gone: `lost` — the database said the run is no longer ours (reaped, cancelled);
 * `expired` — heartbeats kept failing (database unreachable) until the lease ran out.
 */
export type LeaseLossReason = "lost" | "expired";

export interface HeartbeatOptions {
  db: Db;
  runId: number;
  workerId: string;
  clock: Clock;
  leaseSeconds: number;
  /** Time between heartbeats; well under the lease (a third of it is a good choice). */
  intervalMs: number;
  /** Called once when the lease is gone: the worker must abort the run. */
  onLost: (reason: LeaseLossReason) => void;
  /** Told about a heartbeat that failed with an error (it is retried at the next interval). */
  onError?: (error: unknown) => void;
}

/** A running heartbeat. */
export interface Heartbeat {
  /** Stops beating; resolves once an in-flight beat has finished. */
  stop(): Promise<void>;
  /**
   * Beats now and tells whether the run is still ours: asked before a step that leaves the machine
   * (push, PR), so a run cancelled since the last beat stops there. A beat that errors out keeps
   * the lease while it lasts, as the timed beats do.
   */
  confirm(): Promise<boolean>;
}

/** Renews a run's lease every `intervalMs` until stopped or lost. */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { db, runId, workerId, clock, leaseSeconds, intervalMs, onLost, onError } = options;
  // The claim granted a lease of leaseSeconds from about now; a beat that errors out cannot tell
  // whether the lease still holds, so the run is given up once this moment has passed.
  let leaseUntil = clock.now().getTime() + leaseSeconds * 1000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  let lost = false;
  const lose = (reason: LeaseLossReason) => {
    if (stopped) return;
    stopped = true;
    lost = true;
    clearTimeout(timer);
    onLost(reason);
  };

  /** One renewal; false once the lease is gone. */
  const renew = async (): Promise<boolean> => {
    const now = clock.now();
    try {
      const kept = await heartbeat(db, { runId, workerId, now, leaseSeconds });
      if (!kept) {
        lose("lost");
        return false;
      }
      leaseUntil = now.getTime() + leaseSeconds * 1000;
    } catch (error) {
      onError?.(error);
      if (clock.now().getTime() >= leaseUntil) {
        lose("expired");
        return false;
      }
    }
    return true;
  };

  const beat = async () => {
    if (await renew()) schedule();
  };

  // A chain of timeouts, not an interval: a slow beat never overlaps the next one.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = beat();
    }, intervalMs);
  };

  schedule();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
    async confirm() {
      if (lost) return false;
      await inFlight;
      return !lost && (await renew());
    },
  };
}
