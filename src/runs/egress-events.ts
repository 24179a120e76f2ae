import type { Refusal } from "../agent/egress/proxy.js";
import type { Run } from "../db/tables.js";
import { recordEvent } from "../incidents/transitions.js";
import type { WorkerDeps } from "./types.js";

/** Refused destinations of a run, summed over its agent turns and validations. */
export class RefusalTally {
  private readonly counts = new Map<string, number>();

  /** Adds one turn's refusals. */
  add(refusals: Refusal[]): void {
    for (const r of refusals) this.counts.set(r.destination, (this.counts.get(r.destination) ?? 0) + r.count);
  }

  /** Every destination with its count, in the order first refused. */
  list(): Refusal[] {
    return [...this.counts].map(([destination, count]) => ({ destination, count }));
  }
}

/**
 * One `egress_refused` event (and log line) per destination the run's proxy refused, with how often:
 * the owner sees every connection the agent tried that the allowlist kept in. Recording is best
 * effort: a database hiccup here must not change the run's outcome.
 */
export async function recordEgressRefusals(deps: WorkerDeps, run: Run, tally: RefusalTally): Promise<void> {
  for (const r of tally.list()) {
    try {
      await recordEvent(deps.db, deps.log, {
        incidentId: run.incident_id,
        runId: run.id,
        kind: "egress_refused",
        message: `the run's sandbox (the agent or its validation) tried to reach ${r.destination} (${r.count} time${r.count === 1 ? "" : "s"}); not in the egress allowlist, refused`,
        data: { destination: r.destination, count: r.count },
        now: deps.clock.now(),
      });
    } catch (err) {
      deps.log.warn({ err, incident: run.incident_id, run: run.id }, "recording an egress refusal failed");
    }
  }
}
