import type { Db } from "../db/database.js";
import type { Incident } from "../db/tables.js";
import { latestDeployment } from "../hosts/deployments.repo.js";
import { type Drift, driftText, hostKey, type Revisions } from "../hosts/revisions.js";

/** What the agent is told about deployments: what the host runs, and (follow-ups) what was observed. */
export interface DeploymentFacts {
  host: string | null;
  /** The host's running revision relative to `repo.branch`, one line (also for "unknown"). */
  hostRevision: string;
  drift: Drift;
  revision: string | null;
  /** For a follow-up: what was observed of the earlier fix (merged, deployed where and when, came back when). */
  earlierFix: string | null;
}

const iso = (d: Date) => d.toISOString();

/**
 * The host's drift and, after a merged fix, the observed facts: "deployed" only when a deployment
 * containing it was seen (incidents.deployed_at), never inferred from the merge.
 */
export async function deploymentFacts(
  db: Db,
  incident: Incident,
  revisions: Revisions,
  branch: string,
): Promise<DeploymentFacts> {
  const host = incident.host === null ? null : hostKey(incident.host);
  const running = host === null ? undefined : await latestDeployment(db, host, "done");
  let drift: Drift;
  if (host === null) drift = { kind: "unknown", why: "the incident names no host" };
  else if (!running) drift = { kind: "unknown", why: `${host} has reported no revision` };
  else
    drift = await revisions
      .drift(running.revision, running.dirty, branch)
      .catch(
        (e: unknown): Drift => ({ kind: "unknown", why: `git: ${(e as Error).message.split("\n")[0]}` }),
      );
  const revision = running ? `${running.revision}${running.dirty ? "-dirty" : ""}` : null;
  const hostRevision = running
    ? `${host} runs ${revision} (reported by ${running.source} at ${iso(running.at)}): ${driftText(drift, branch)}`
    : `${host ?? "the host"}: ${driftText(drift, branch)}`;
  return { host, hostRevision, drift, revision, earlierFix: earlierFix(incident, host) };
}

function earlierFix(i: Incident, host: string | null): string | null {
  if (i.pr_merged_at === null) return null;
  const pr = i.pr_url ?? "the earlier PR";
  const merged = `The earlier fix (${pr}) was merged at ${iso(i.pr_merged_at)}`;
  const back = `the alert came back at ${iso(i.last_seen_at)}`;
  if (i.deployed_at !== null && i.deployed_revision !== null) {
    return `${merged} and observed deployed on ${host ?? "the host"} at revision ${i.deployed_revision} at ${iso(i.deployed_at)}; ${back}.`;
  }
  return `${merged}; no deployment of it on ${host ?? "the host"} was observed (not tracked, or not seen running), so it may never have run; ${back}.`;
}
