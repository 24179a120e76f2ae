import type { Run } from "../db/tables.js";
import { isDbUnavailable } from "../db/unavailable.js";
import { executeRun } from "./execute.js";
import { finishAndTransition, inTx, moveIncidentInTx, noteRetryInTx } from "./finish.js";
import { startHeartbeat } from "./lease.js";
import { claimNextRun, reapExpiredLeases, releaseRun, retryLater } from "./queue.repo.js";
import type { StepResult, WorkerDeps } from "./types.js";

export interface Worker {
  /** Reaps expired leases of any instance (called by the maintenance loop). */
  reap(): Promise<void>;
  /** Stops claiming; running runs release their lease (the attempt is given back) and end. */
  stop(): Promise<void>;
}

/** How long a deferred run waits: the forge gets time to recover; the database is back when it answers. */
const DEFER_SECONDS = { forge: 60, database: 5 } as const;
/** At shutdown, how long recording a run's end keeps trying while the database is unreachable. */
const SHUTDOWN_RECORD_MS = 10_000;

/**
 * Claims runs and executes them, up to agent.maxConcurrentRuns at once (the claim also enforces the
 * limit across instances). Sleeps on the wake-up between claims, so a queued run starts at once.
 */
export function startWorker(deps: WorkerDeps): Worker {
  const leaseSeconds = deps.leaseSeconds ?? 120;
  const heartbeatMs = deps.heartbeatMs ?? Math.floor((leaseSeconds * 1000) / 4);
  const shutdown = new AbortController();
  const active = new Set<Promise<void>>();

  const loop = async () => {
    while (!shutdown.signal.aborted) {
      let claimed: Run | null = null;
      if (active.size < deps.config.agent.maxConcurrentRuns) {
        try {
          claimed = await claimNextRun(deps.db, {
            workerId: deps.workerId,
            now: deps.clock.now(),
            leaseSeconds,
            maxConcurrentRuns: deps.config.agent.maxConcurrentRuns,
          });
        } catch (err) {
          deps.log.warn({ err }, "claiming a run failed; retrying after a pause");
        }
      }
      if (claimed) {
        // runOne never rejects (it records what it can and logs the rest): a rejection here would
        // be unhandled, and an unhandled rejection ends the process.
        const p = runOne(claimed).finally(() => {
          active.delete(p);
          deps.wakeup.notify();
        });
        active.add(p);
        continue;
      }
      await deps.wakeup.wait(shutdown.signal);
    }
  };

  const runOne = async (run: Run) => {
    const ctl = new AbortController();
    let lost = false;
    const onShutdown = () => ctl.abort();
    shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    const beat = startHeartbeat({
      db: deps.db,
      runId: run.id,
      workerId: deps.workerId,
      clock: deps.clock,
      leaseSeconds,
      intervalMs: heartbeatMs,
      onLost: (reason) => {
        lost = true;
        deps.log.warn({ incident: run.incident_id, run: run.id, reason }, "run lease lost; stopping the run");
        ctl.abort();
      },
      onError: (err) => deps.log.warn({ err, run: run.id }, "heartbeat failed"),
    });
    deps.log.info(
      { incident: run.incident_id, run: run.id, attempt: run.attempt, kind: run.kind },
      "run started",
    );
    let result: StepResult;
    try {
      result = await executeRun(deps, run, ctl.signal, beat);
    } catch (err) {
      const error = (err as Error).message;
      result = isDbUnavailable(err)
        ? { kind: "defer", error, cause: "database" }
        : { kind: "retry", error: `unexpected: ${error}`, finalOutcome: "failed" };
    } finally {
      await beat.stop();
      shutdown.signal.removeEventListener("abort", onShutdown);
    }
    await recordUntilStored(run, result, lost);
  };

  /**
   * Records how a run ended. While the database is unreachable (a PostgreSQL restart) it tries
   * again with backoff, as long as the lease would still hold; past that, or on any other error, it
   * gives up with an error line: the lease then expires and the reaper queues the run again.
   */
  const recordUntilStored = async (run: Run, result: StepResult, lost: boolean) => {
    const started = Date.now();
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await record(run, result, lost);
        return;
      } catch (err) {
        const budget = shutdown.signal.aborted ? SHUTDOWN_RECORD_MS : leaseSeconds * 1000;
        const ids = { incident: run.incident_id, run: run.id };
        if (!isDbUnavailable(err) || Date.now() - started + delay > budget) {
          deps.log.error(
            { err, ...ids },
            "could not record the run's end; the reaper retries it once its lease expires",
          );
          return;
        }
        deps.log.warn({ err, ...ids }, "database unreachable while recording the run's end; trying again");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  const record = async (run: Run, result: StepResult, lost: boolean) => {
    const now = deps.clock.now();
    const ids = { id: run.id, incidentId: run.incident_id, workerId: deps.workerId };
    switch (result.kind) {
      case "finish":
        await finishAndTransition(deps, ids, result.finish);
        deps.log.info(
          { incident: run.incident_id, run: run.id, outcome: result.finish.outcome },
          result.finish.message,
        );
        return;
      case "aborted":
        if (!lost) {
          await releaseRun(deps.db, { runId: run.id, workerId: deps.workerId, now });
          deps.log.info(
            { incident: run.incident_id, run: run.id },
            "run released at shutdown; it resumes on the next start",
          );
        }
        return;
      case "defer": {
        const until = new Date(now.getTime() + DEFER_SECONDS[result.cause] * 1000);
        const what = result.cause === "forge" ? "forge or git unavailable" : "database unreachable";
        await inTx(deps, async (trx, after) => {
          const args = { runId: run.id, workerId: deps.workerId, now, runAfter: until, error: result.error };
          if (!(await releaseRun(trx, args))) return;
          await noteRetryInTx(trx, deps, after, {
            incidentId: run.incident_id,
            runId: run.id,
            message: `${what} (${result.error}); retrying at ${until.toISOString()} without spending an attempt`,
          });
        });
        return;
      }
      case "retry": {
        await inTx(deps, async (trx, after) => {
          const r = await retryLater(trx, {
            runId: run.id,
            workerId: deps.workerId,
            error: result.error,
            now,
            finalOutcome: result.finalOutcome,
          });
          if (r === "requeued") {
            await noteRetryInTx(trx, deps, after, {
              incidentId: run.incident_id,
              runId: run.id,
              message: `attempt ${run.attempt} of ${run.max_attempts} failed (${result.error}); retrying with backoff`,
            });
          } else if (r === "failed") {
            await moveIncidentInTx(trx, deps, after, {
              incidentId: run.incident_id,
              runId: run.id,
              outcome: result.finalOutcome,
              message: `all ${run.max_attempts} attempts failed; last: ${result.error}`,
            });
          }
        });
        return;
      }
    }
  };

  const running = loop().catch((err: unknown) => deps.log.error({ err }, "run worker stopped"));
  return {
    async reap() {
      const reaped = await inTx(deps, async (trx, after) => {
        const reaped = await reapExpiredLeases(trx, { now: deps.clock.now() });
        for (const r of reaped) {
          if (r.requeued) {
            const message = "the worker stopped heartbeating (crash?): lease reaped, run queued again";
            await noteRetryInTx(trx, deps, after, { ...r, message });
          } else {
            const message = "lease expired and no attempts are left";
            await moveIncidentInTx(trx, deps, after, { ...r, outcome: "failed", message });
          }
        }
        return reaped;
      });
      if (reaped.some((r) => r.requeued)) deps.wakeup.notify();
    },
    async stop() {
      shutdown.abort();
      await Promise.allSettled([...active]);
      await running;
    },
  };
}
