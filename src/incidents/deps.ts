import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { Config } from "../config/load.js";
import type { Db } from "../db/database.js";

/** What the incident rules need, built once in run.ts. */
export interface IncidentDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  config: Config;
  /** Wakes the run worker now (in-process, and other instances through NOTIFY). */
  wakeRuns: () => void;
}

/** `healer/incident-<id>`, and `-<n>` for the n-th follow-up. */
export function branchName(incidentId: number, followUp: number): string {
  return followUp > 0 ? `healer/incident-${incidentId}-${followUp}` : `healer/incident-${incidentId}`;
}
