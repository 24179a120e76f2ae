import { ApiError } from "../api/errors.js";
import { INCIDENT_STATES, type IncidentState } from "../db/tables.js";
import { ActionError, incidentDetail } from "../incidents/actions.js";
import {
  countIncidentsByState,
  getIncident,
  incidentEvents,
  searchIncidents,
} from "../incidents/incidents.repo.js";
import { getRun, runsStartedSince } from "../runs/queue.repo.js";
import { readRunRecord } from "../runs/run-files.js";
import { costSince } from "../runs/usage.repo.js";
import type { WebDeps } from "./deps.js";
import type { HomeData } from "./home.js";
import type { IncidentDetail } from "./incident.js";
import type { RunData } from "./run.js";
import type { Session } from "./session.js";

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

/** A path's id, or a 404 naming what was asked for. */
export function parseId(raw: string, what: string): number {
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) throw new ActionError("not_found", `no ${what} ${raw}`);
  return Number(raw);
}

/** What `/` shows, read through the same repos the API and the triage use. */
export async function homeData(
  deps: WebDeps,
  session: Session,
  q: Record<string, string>,
): Promise<HomeData> {
  const state = q.state || undefined;
  if (state !== undefined && !(INCIDENT_STATES as readonly string[]).includes(state))
    throw new ApiError("invalid", `state must be one of ${INCIDENT_STATES.join(", ")}`);
  const page = q.page === undefined ? 1 : Number(q.page);
  if (!Number.isInteger(page) || page < 1 || page > 10_000)
    throw new ApiError("invalid", "page must be a whole number from 1");
  const text = q.q?.trim().slice(0, 200) || undefined;
  const filter = { state: state as IncidentState | undefined, q: text };
  // One row more than a page tells whether there is a next page without counting.
  const rows = await searchIncidents(deps.db, {
    state: filter.state,
    text,
    limit: PAGE_SIZE + 1,
    offset: (page - 1) * PAGE_SIZE,
  });
  const since = new Date(deps.clock.now().getTime() - DAY_MS);
  return {
    session,
    counts: await countIncidentsByState(deps.db),
    incidents: rows.slice(0, PAGE_SIZE),
    filter,
    page,
    hasNext: rows.length > PAGE_SIZE,
    budget: {
      runs: await runsStartedSince(deps.db, since),
      maxRuns: deps.config.agent.maxRunsPerDay,
      cost: await costSince(deps.db, since),
      maxCost: deps.config.agent.maxCostPerDay,
    },
    preflight: deps.preflight?.results(),
    hosts: deps.hosts ? await deps.hosts() : undefined,
  };
}

/** What `/incidents/:id` shows: the API's own incident detail. */
export async function incidentData(deps: WebDeps, rawId: string): Promise<IncidentDetail> {
  return incidentDetail(deps, parseId(rawId, "incident"));
}

/** What `/runs/:id` shows: the run, its incident, the events naming it, and its files. */
export async function runData(deps: WebDeps, session: Session, rawId: string): Promise<RunData> {
  const id = parseId(rawId, "run");
  const run = await getRun(deps.db, id);
  if (!run) throw new ActionError("not_found", `no run ${id}`);
  const events = (await incidentEvents(deps.db, run.incident_id)).filter((e) => e.run_id === id);
  return {
    session,
    run,
    incident: await getIncident(deps.db, run.incident_id),
    events,
    record: await readRunRecord(deps.config.stateDir, id),
  };
}
