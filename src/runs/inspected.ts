import type { Run } from "../db/tables.js";
import type { InspectedCommand } from "../hosts/broker.js";
import { shownCommand } from "../hosts/commands.js";
import { recordEvent } from "../incidents/transitions.js";
import type { WorkerDeps } from "./types.js";

/**
 * One `inspected` event (and log line) for a command the agent ran on another host through the
 * broker, refused ones too: the audit trail of every look at a host. Best effort: a database hiccup
 * must not fail the command or the run.
 */
export async function recordInspected(deps: WorkerDeps, run: Run, c: InspectedCommand): Promise<void> {
  const what = `${c.host}: ${shownCommand(c.argv)}`;
  const message =
    c.error !== undefined
      ? `the agent's inspect ${what} got no output: ${c.error}`
      : `the agent inspected ${what} (exit ${c.exitCode}, ${c.bytes} bytes${c.truncated ? ", cut" : ""})`;
  try {
    await recordEvent(deps.db, deps.log, {
      incidentId: run.incident_id,
      runId: run.id,
      kind: "inspected",
      message,
      data: {
        host: c.host,
        argv: c.argv,
        exitCode: c.exitCode,
        bytes: c.bytes,
        ms: c.ms,
        ...(c.truncated ? { truncated: true } : {}),
        ...(c.error !== undefined ? { error: c.error } : {}),
      },
      now: deps.clock.now(),
    });
  } catch (err) {
    deps.log.warn({ err, incident: run.incident_id, run: run.id }, "recording an inspected command failed");
  }
}
