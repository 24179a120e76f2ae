import type { Transaction } from "kysely";
import type { Logger } from "pino";
import type { Db } from "../db/database.js";
import type { Database, Incident, IncidentState, IncidentUpdate } from "../db/tables.js";
import { insertEvent, updateIncidentState } from "./incidents.repo.js";

/** Every allowed state change. Anything else is a bug, refused loudly. */
export const ALLOWED: Record<IncidentState, readonly IncidentState[]> = {
  open: ["suppressed", "fixing", "needs_human", "resolved", "dismissed"],
  suppressed: ["fixing", "needs_human", "resolved", "dismissed"],
  fixing: ["pr_open", "needs_human", "dismissed", "resolved"],
  pr_open: ["deploying", "verifying", "dismissed", "fixing", "needs_human", "resolved"],
  deploying: ["verifying", "fixing", "needs_human", "dismissed", "resolved"],
  verifying: ["fixing", "resolved", "needs_human", "dismissed"],
  needs_human: ["fixing", "resolved", "dismissed"],
  resolved: [],
  dismissed: [],
};

export interface TransitionInput {
  to: IncidentState;
  /** Event kind in incident_events; defaults to "transition". */
  kind?: string;
  message: string;
  data?: Record<string, unknown>;
  runId?: number | null;
  /** Further columns set in the same compare-and-set update. */
  set?: IncidentUpdate;
  now: Date;
}

export class TransitionError extends Error {
  readonly code = "transition_not_allowed";
}

/**
 * Moves an incident from its current state to `to` with a compare-and-set update (the row must still be
 * in `from`), writes the audit event and one log line. Returns the updated incident, or null when the
 * incident had already moved on (a concurrent worker or request won): the caller re-reads and decides.
 */
export async function transition(
  db: Db,
  log: Logger,
  incident: Pick<Incident, "id" | "state">,
  input: TransitionInput,
): Promise<Incident | null> {
  const updated = await db.transaction().execute((trx) => transitionInTx(trx, incident, input));
  if (updated) logTransition(log, incident, input);
  return updated;
}

/** The same, inside a transaction the caller owns (it logs with `logTransition` after commit). */
export async function transitionInTx(
  trx: Transaction<Database>,
  incident: Pick<Incident, "id" | "state">,
  input: TransitionInput,
): Promise<Incident | null> {
  const from = incident.state;
  if (!ALLOWED[from].includes(input.to)) {
    throw new TransitionError(`incident ${incident.id}: ${from} → ${input.to} is not allowed`);
  }
  const terminal = input.to === "resolved" || input.to === "dismissed";
  const set: IncidentUpdate = {
    ...input.set,
    state: input.to,
    state_changed_at: input.now,
    ...(terminal ? { resolved_at: input.now } : {}),
  };
  const row = await updateIncidentState(trx, incident.id, from, set);
  if (!row) return null;
  await insertEvent(trx, {
    incident_id: incident.id,
    run_id: input.runId ?? null,
    at: input.now,
    kind: input.kind ?? "transition",
    message: input.message,
    data: { from, to: input.to, ...input.data },
  });
  return row;
}

/** One log line per transition, carrying `incident` and `run`. */
export function logTransition(
  log: Logger,
  incident: Pick<Incident, "id" | "state">,
  input: TransitionInput,
): void {
  log.info(
    {
      incident: incident.id,
      run: input.runId ?? undefined,
      from: incident.state,
      to: input.to,
      event: input.kind ?? "transition",
    },
    input.message,
  );
}

/** An event that changes no state (a comment posted, a resolve noted, a cleanup). */
export interface EventInput {
  incidentId: number;
  runId?: number | null;
  kind: string;
  message: string;
  data?: Record<string, unknown>;
  now: Date;
}

/** Records an event that changes no state, and logs it. */
export async function recordEvent(db: Db, log: Logger, e: EventInput): Promise<void> {
  await storeEvent(db, e);
  logEvent(log, e);
}

/** The row of `recordEvent` alone (inside a caller's transaction, which logs after commit). */
export async function storeEvent(db: Db, e: EventInput): Promise<void> {
  await insertEvent(db, {
    incident_id: e.incidentId,
    run_id: e.runId ?? null,
    at: e.now,
    kind: e.kind,
    message: e.message,
    data: e.data ?? {},
  });
}

/** The log line of `recordEvent` alone. */
export function logEvent(log: Logger, e: EventInput): void {
  log.info({ incident: e.incidentId, run: e.runId ?? undefined, event: e.kind }, e.message);
}
