import type { Incident } from "../db/tables.js";
import type { Forge, PullRequest } from "../forge/forge.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { getIncident, updateIncidentFields } from "../incidents/incidents.repo.js";
import { recordEvent, transition } from "../incidents/transitions.js";
import type { DeployTracker, Tracking } from "./deploy.js";
import { incidentByPrNumber, prOpenIncidents } from "./lifecycle.repo.js";

/** What applying a PR state did: moved the incident, only noted the PR state, or nothing. */
export type PrStateResult = "deploying" | "verifying" | "dismissed" | "noted" | "unchanged" | "unknown_pr";

/** Where the PR state came from (for the event and the log line). */
export type PrStateSource = "poll" | "webhook";

/** The PR fields applying its state reads (a webhook payload gives these too). */
export type PrFacts = Pick<PullRequest, "number" | "state"> &
  Partial<Pick<PullRequest, "mergeCommitSha" | "headSha">>;

/**
 * Applies a PR's state to the incident whose current PR it is (SPEC §6 rules 4 and 5): merged ⇒
 * `deploying` when the incident's host has a revision source (verification waits for the fix to run
 * there), else `verifying` (deploy grace and verification from now) with a "deployment not tracked"
 * event; closed unmerged ⇒ `dismissed`. Compare-and-set, so polling and the webhook can both see the
 * same change: whichever comes second finds the incident moved on and changes nothing.
 */
export async function applyPrState(
  deps: IncidentDeps,
  pr: PrFacts,
  via: PrStateSource,
  deploy?: DeployTracker,
): Promise<PrStateResult> {
  const incident = await incidentByPrNumber(deps.db, pr.number);
  if (!incident) return "unknown_pr";
  return applyToIncident({ deps, pr, via, deploy }, incident);
}

/** One PR state being applied: where it came from, and what judges deployments. */
interface Applying {
  deps: IncidentDeps;
  pr: PrFacts;
  via: PrStateSource;
  deploy: DeployTracker | undefined;
}

async function applyToIncident(a: Applying, incident: Incident): Promise<PrStateResult> {
  const { deps, pr, via } = a;
  const now = deps.clock.now();
  if (incident.state !== "pr_open" || pr.state === "open") {
    // Later states keep theirs; the PR state is still worth knowing (branch cleanup reads it).
    if (pr.state === incident.pr_state) return "unchanged";
    await updateIncidentFields(deps.db, incident.id, { pr_state: pr.state });
    return "noted";
  }
  const url = incident.pr_url ?? `#${pr.number}`;
  if (pr.state === "merged") return merged(a, incident);
  const moved = await transition(deps.db, deps.log, incident, {
    to: "dismissed",
    kind: "pr_closed",
    message: `PR ${url} was closed without merging (seen by ${via}): dismissed`,
    data: { pr: pr.number, via },
    set: { pr_state: "closed", triage_reason: "PR closed without merging" },
    now,
  });
  if (moved) return "dismissed";
  return again(a, incident);
}

/** Moved on meanwhile (the other path, an operator): judge the fresh row once more. */
async function again(a: Applying, incident: Incident): Promise<PrStateResult> {
  const fresh = await getIncident(a.deps.db, incident.id);
  if (!fresh || fresh.state === "pr_open") return "unchanged";
  return applyToIncident(a, fresh);
}

/** A merged PR: `deploying` when the host's revision is tracked, else `verifying` on the timers. */
async function merged(a: Applying, incident: Incident): Promise<PrStateResult> {
  const { deps, pr, via, deploy } = a;
  const now = deps.clock.now();
  const url = incident.pr_url ?? `#${pr.number}`;
  const { verifySeconds, deployGraceSeconds } = deps.config.lifecycle;
  // The commit the merge put on the branch; a forge that names none leaves the PR's head (a merge
  // commit or fast-forward contains it; a squash does not, so the forge's answer comes first).
  const fix = pr.mergeCommitSha ?? pr.headSha ?? null;
  const tracking: Tracking =
    deploy === undefined
      ? { tracked: false, why: "no deployment tracking is wired" }
      : fix === null
        ? { tracked: false, why: "the forge named no merge commit" }
        : await deploy.tracking(incident.host);
  const set = {
    pr_state: "merged" as const,
    pr_merged_at: now,
    pr_merge_sha: fix,
    deployed_at: null,
    deployed_revision: null,
    deploy_warned_at: null,
  };
  if (tracking.tracked) {
    const moved = await transition(deps.db, deps.log, incident, {
      to: "deploying",
      kind: "pr_merged",
      message: `PR ${url} was merged (seen by ${via}); waiting until ${incident.host} runs ${fix?.slice(0, 12)} (revision source: ${tracking.sources.join(", ")}); recurrences meanwhile start nothing`,
      data: { pr: pr.number, via, mergeSha: fix, host: incident.host },
      set,
      now,
    });
    if (!moved) return again(a, incident);
    // The host may run it already (comin deploys within a minute of the merge).
    await deploy
      ?.judge(incident.id)
      .catch((err: unknown) =>
        deps.log.warn({ err, incident: incident.id }, "judging the deployment failed; the next pass retries"),
      );
    return "deploying";
  }
  const moved = await transition(deps.db, deps.log, incident, {
    to: "verifying",
    kind: "pr_merged",
    message: `PR ${url} was merged (seen by ${via}); verifying for ${verifySeconds} s after a deploy grace of ${deployGraceSeconds} s`,
    data: { pr: pr.number, via, mergeSha: fix },
    set,
    now,
  });
  if (!moved) return again(a, incident);
  await recordEvent(deps.db, deps.log, {
    incidentId: incident.id,
    kind: "deploy_untracked",
    message: `deployment not tracked: ${tracking.why}; the timers decide (deploy grace, then verification)`,
    data: { host: incident.host, why: tracking.why },
    now,
  });
  return "verifying";
}

/**
 * Reads the PR of every `pr_open` incident not polled for `prPollSeconds` (the times live in
 * `lastPolled`, by incident) and applies what it says. A forge failure is logged; the next pass retries.
 */
export async function pollPrStates(
  deps: IncidentDeps,
  forge: Forge,
  lastPolled: Map<number, number>,
  deploy?: DeployTracker,
): Promise<{ polled: number; moved: number }> {
  const now = deps.clock.now().getTime();
  const every = deps.config.lifecycle.prPollSeconds * 1000;
  const open = await prOpenIncidents(deps.db);
  const live = new Set(open.map((i) => i.id));
  for (const id of lastPolled.keys()) if (!live.has(id)) lastPolled.delete(id);
  let polled = 0;
  let moved = 0;
  for (const incident of open) {
    const last = lastPolled.get(incident.id);
    if (last !== undefined && now - last < every) continue;
    lastPolled.set(incident.id, now);
    const number = incident.pr_number as number;
    let pr: PullRequest;
    try {
      pr = await forge.getPr(number);
    } catch (err) {
      deps.log.warn(
        { err, incident: incident.id, pr: number },
        "reading the PR state failed; retrying later",
      );
      continue;
    }
    polled++;
    const r = await applyToIncident({ deps, pr, via: "poll", deploy }, incident);
    if (r === "deploying" || r === "verifying" || r === "dismissed") moved++;
  }
  return { polled, moved };
}
