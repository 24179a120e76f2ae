import type { Run } from "../db/tables.js";
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

const DEFER_SECONDS = 60;

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
      result = { kind: "retry", error: `unexpected: ${(err as Error).message}`, finalOutcome: "failed" };
    } finally {
      await beat.stop();
      shutdown.signal.removeEventListener("abort", onShutdown);
    }
    await record(run, result, lost);
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
        const until = new Date(now.getTime() + DEFER_SECONDS * 1000);
        await inTx(deps, async (trx, after) => {
          const args = { runId: run.id, workerId: deps.workerId, now, runAfter: until, error: result.error };
          if (!(await releaseRun(trx, args))) return;
          await noteRetryInTx(trx, deps, after, {
            incidentId: run.incident_id,
            runId: run.id,
            message: `forge or git unavailable (${result.error}); retrying at ${until.toISOString()} without spending an attempt`,
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
