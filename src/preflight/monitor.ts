import type { Logger } from "pino";
import { runPreflight } from "./runner.js";
import type { CheckResult, PreflightContext } from "./types.js";

/** What serve knows from its last preflight pass. */
export interface PreflightState {
  /** The last pass's results; undefined until the first pass ends. */
  results(): CheckResult[] | undefined;
  /** The failed checks as `name: found (fix: …)`: a run started now would fail on them. */
  blocking(): string[];
}

export interface PreflightMonitor extends PreflightState {
  /** One pass now (also what the timer does). */
  runNow(): Promise<CheckResult[]>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/**
 * Runs the doctor's checks (no model probe) at start and every `intervalMs`: each check that is not
 * ok logs one warning line with its fix; a check that recovers logs that it did.
 */
export function startPreflight(opts: {
  ctx: Omit<PreflightContext, "probeModel" | "signal">;
  log: Logger;
  intervalMs: number;
}): PreflightMonitor {
  const { log } = opts;
  const stopping = new AbortController();
  let last: CheckResult[] | undefined;
  let current: Promise<CheckResult[]> | undefined;

  const pass = async (): Promise<CheckResult[]> => {
    const results = await runPreflight({ ...opts.ctx, signal: stopping.signal });
    const before = new Map((last ?? []).map((r) => [r.name, r.status]));
    for (const r of results) {
      if (r.status !== "ok") {
        // The fix is a field of its own (a terminal shows it after "→"): said once, not in msg too.
        log.warn({ check: r.name, status: r.status, fix: r.fix }, `preflight ${r.name}: ${r.found}`);
      } else if (before.has(r.name) && before.get(r.name) !== "ok") {
        log.info({ check: r.name }, `preflight ${r.name} ok again: ${r.found}`);
      }
    }
    const failed = results.filter((r) => r.status === "fail").length;
    log.info(
      { checks: results.length, failed, warnings: results.filter((r) => r.status === "warn").length },
      failed
        ? `preflight: ${failed} required check(s) failed; runs that need them are refused`
        : "preflight passed",
    );
    last = results;
    return results;
  };
  const runNow = () => {
    current ??= pass().finally(() => {
      current = undefined;
    });
    return current;
  };
  const timer = setInterval(() => {
    runNow().catch((err: unknown) => log.warn({ err }, "preflight pass failed"));
  }, opts.intervalMs);
  timer.unref();
  runNow().catch((err: unknown) => log.warn({ err }, "preflight pass failed"));

  return {
    results: () => last,
    blocking: () =>
      (last ?? [])
        .filter((r) => r.status === "fail")
        .map((r) => `${r.name}: ${r.found}${r.fix ? ` (fix: ${r.fix})` : ""}`),
    runNow,
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await current?.catch(() => undefined);
    },
  };
}
