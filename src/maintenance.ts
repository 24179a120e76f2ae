import type { Logger } from "pino";
import { isDbUnavailable } from "./db/unavailable.js";

export interface Loop {
  /** Runs one pass now (also used by `homelab-healer cleanup`). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `intervalMs` until stopped; a failing pass (the database away, say) is logged
 * and the loop goes on. Passes never overlap.
 */
export function startLoop(name: string, log: Logger, intervalMs: number, pass: () => Promise<void>): Loop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const once = (): Promise<void> => {
    running = running.then(async () => {
      try {
        await pass();
      } catch (err) {
        // PostgreSQL restarting is expected now and then: the next tick simply tries again.
        if (isDbUnavailable(err))
          log.warn({ err, loop: name }, `${name} pass: database unreachable; trying again next tick`);
        else log.error({ err, loop: name }, `${name} pass failed`);
      }
    });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void once().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    runOnce: once,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
