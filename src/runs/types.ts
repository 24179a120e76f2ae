import type { Secrets } from "../config/load.js";
import type { Forge } from "../forge/types.js";
import type { Inspector } from "../hosts/inspect.js";
import type { IncidentDeps } from "../incidents/deps.js";
import type { Finish } from "./finish.js";
import type { RunWakeup } from "./wakeup.js";

/* Types shared by the worker and its steps, in their own file so that the steps need not import the worker. */

export interface WorkerDeps extends IncidentDeps {
  secrets: Secrets;
  wakeup: RunWakeup;
  workerId: string;
  servicePath: string;
  forge: Forge;
  /** The read-only channel to other hosts (`hosts.*`); unset: the agent inspects only its own host. */
  inspector?: Inspector | undefined;
  /** Lease length and heartbeat interval; a run whose worker stops beating is reaped after the lease. */
  leaseSeconds?: number;
  heartbeatMs?: number;
}

/** How one attempt of a run ended, for the worker to record. */
export type StepResult =
  | { kind: "finish"; finish: Finish }
  /** A failed attempt: retried with backoff while attempts remain. */
  | { kind: "retry"; error: string; finalOutcome: "failed" | "timed_out"; stats?: Record<string, unknown> }
  /** A passing forge, git or database fault: queued again without spending an attempt. */
  | { kind: "defer"; error: string; cause: "forge" | "database" }
  | { kind: "aborted" };
