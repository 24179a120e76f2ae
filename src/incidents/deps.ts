import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { Config } from "../config/load.js";
import type { Db } from "../db/database.js";
import type { PreflightState } from "../preflight/monitor.js";

/** What the incident rules need, built once in run.ts. */
export interface IncidentDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  config: Config;
  /** Wakes the run worker now (in-process, and other instances through NOTIFY). */
  wakeRuns: () => void;
  /** What a recurrence does beyond the incident rules (the lifecycle's "still happening" comment). */
  recurrence?: RecurrenceHooks;
  /** Closes a PR on the forge (an operator dismissal with `closePr`); absent without a forge. */
  closePr?: (prNumber: number) => Promise<void>;
  /** serve's preflight: a failed required check keeps a run from starting (the reason names it). */
  preflight?: PreflightState;
}

/** Hooks for what happens on a recurrence while a PR is open (a "still happening" comment). */
export interface RecurrenceHooks {
  stillHappening?: (deps: IncidentDeps, incidentId: number, added: number) => Promise<void>;
}

/** `healer/incident-<id>`, and `-<n>` for the n-th follow-up. */
export function branchName(incidentId: number, followUp: number): string {
  return followUp > 0 ? `healer/incident-${incidentId}-${followUp}` : `healer/incident-${incidentId}`;
}
