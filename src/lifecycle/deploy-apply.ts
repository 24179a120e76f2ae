import type { Deployment, Incident } from "../db/tables.js";
import { latestDeployment } from "../hosts/deployments.repo.js";
import { hostKey } from "../hosts/revisions.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { recordEvent, transition } from "../incidents/transitions.js";
import { claimDeployWarning } from "./deploy.repo.js";

/** At most one "still not deployed" warning per incident and day. */
export const DEPLOY_WARN_REPEAT_SECONDS = 86_400;

/** What judging deployments needs: the incident rules, and the mirror's answers (cached by the tracker). */
export interface DeployJudge {
  deps: IncidentDeps;
  /** Whether the mirror has the deployment's commit (checked once, with a fetch, then stored); null: cannot tell. */
  known(d: Deployment): Promise<boolean | null>;
  /** Does `revision`'s history contain `fix`? */
  contains(fix: string, revision: string): Promise<boolean>;
}

export const short = (sha: string) => sha.slice(0, 12);
/** `abc123…` or `abc123…-dirty`, as hosts report it. */
export const shown = (d: Pick<Deployment, "revision" | "dirty">) =>
  `${short(d.revision)}${d.dirty ? "-dirty" : ""}`;

/**
 * Judges one `deploying` incident against its host's newest `done` revision: when that revision
 * contains the fix (a `-dirty` one by its base commit, and only when the mirror knows it), the
 * incident moves to `verifying`, timed from the deploy; else it waits, warned after deployWarnSeconds.
 */
export async function judgeDeploying(j: DeployJudge, incident: Incident): Promise<"deployed" | "waiting"> {
  const { deps } = j;
  const fix = incident.pr_merge_sha;
  if (incident.host === null || fix === null) return "waiting";
  const host = hostKey(incident.host);
  const latest = await latestDeployment(deps.db, host, "done");
  if (latest && (await j.known(latest)) === true && (await j.contains(fix, latest.revision))) {
    const now = deps.clock.now();
    const at = new Date(Math.min(latest.at.getTime(), now.getTime()));
    const { verifySeconds } = deps.config.lifecycle;
    const dirty = latest.dirty
      ? " (dirty: uncommitted changes on top of it, counted by its base commit)"
      : "";
    const moved = await transition(deps.db, deps.log, incident, {
      to: "verifying",
      kind: "deployed",
      message: `the fix ${short(fix)} runs on ${host}: revision ${shown(latest)}${dirty} reported by ${latest.source} at ${at.toISOString()}; verifying for ${verifySeconds} s from then`,
      data: {
        host,
        revision: latest.revision,
        dirty: latest.dirty,
        source: latest.source,
        deployment: latest.id,
        deployedAt: at.toISOString(),
      },
      set: { deployed_at: at, deployed_revision: `${latest.revision}${latest.dirty ? "-dirty" : ""}` },
      now,
    });
    if (moved) return "deployed";
  }
  await warnIfOverdue(deps, incident, host, latest);
  return "waiting";
}

/** One event (and, through the notification feed, one message) per day while the fix is not deployed. */
async function warnIfOverdue(
  deps: IncidentDeps,
  incident: Incident,
  host: string,
  latest: Deployment | undefined,
): Promise<void> {
  const now = deps.clock.now();
  const mergedAt = incident.pr_merged_at ?? incident.state_changed_at;
  const waited = (now.getTime() - mergedAt.getTime()) / 1000;
  const { deployWarnSeconds } = deps.config.lifecycle;
  if (waited < deployWarnSeconds) return;
  const lastBefore = new Date(now.getTime() - DEPLOY_WARN_REPEAT_SECONDS * 1000);
  if (!(await claimDeployWarning(deps.db, { id: incident.id, now, lastBefore }))) return;
  const runs = latest ? `still runs ${shown(latest)}` : "has reported no revision yet";
  const hours = Math.round(waited / 3600);
  await recordEvent(deps.db, deps.log, {
    incidentId: incident.id,
    kind: "deploy_overdue",
    message: `merged ${hours} h ago, ${host} ${runs}: the fix ${short(incident.pr_merge_sha ?? "?")} is not deployed (lifecycle.deployWarnSeconds = ${deployWarnSeconds})`,
    data: { host, waitedSeconds: Math.round(waited), revision: latest?.revision ?? null },
    now,
  });
}

/**
 * A report just stored, told to the incidents waiting on its host: a failed deployment of a revision
 * that contains the fix, and a revision the repository does not know, are events (the first also a
 * notification); a `done` one that contains the fix moves them on.
 */
export async function reportToWaiting(j: DeployJudge, d: Deployment, waiting: Incident[]): Promise<void> {
  const { deps } = j;
  const known = await j.known(d);
  for (const incident of waiting) {
    if (incident.host === null || hostKey(incident.host) !== d.host || incident.pr_merge_sha === null)
      continue;
    const now = deps.clock.now();
    if (known === false) {
      await recordEvent(deps.db, deps.log, {
        incidentId: incident.id,
        kind: "deploy_unknown_revision",
        message: `${d.host} reports revision ${shown(d)} (${d.source}), unknown to the repository even after a fetch: not counted as containing the fix`,
        data: { host: d.host, revision: d.revision, deployment: d.id },
        now,
      });
      continue;
    }
    if (d.status === "failed") {
      if (known === true && (await j.contains(incident.pr_merge_sha, d.revision))) {
        await recordEvent(deps.db, deps.log, {
          incidentId: incident.id,
          kind: "deploy_failed",
          message: `deploying ${shown(d)} on ${d.host} failed (${d.source}, ${d.at.toISOString()}): that revision contains the fix ${short(incident.pr_merge_sha)}, which is still not running`,
          data: { host: d.host, revision: d.revision, deployment: d.id },
          now,
        });
      }
      continue;
    }
    await judgeDeploying(j, incident);
  }
}
