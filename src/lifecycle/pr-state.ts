import type { Incident } from "../db/tables.js";
import type { Forge, PullRequest } from "../forge/forge.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { getIncident, updateIncidentFields } from "../incidents/incidents.repo.js";
import { transition } from "../incidents/transitions.js";
import { incidentByPrNumber, prOpenIncidents } from "./lifecycle.repo.js";

/** What applying a PR state did: moved the incident, only noted the PR state, or nothing. */
export type PrStateResult = "verifying" | "dismissed" | "noted" | "unchanged" | "unknown_pr";

/** Where the PR state came from (for the event and the log line). */
export type PrStateSource = "poll" | "webhook";

/**
 * Applies a PR's state to the incident whose current PR it is (SPEC §6 rules 4 and 5): merged ⇒
 * `verifying` (the deploy grace and verification count from now, when we learned of it), closed
 * unmerged ⇒ `dismissed`. Compare-and-set, so polling and the webhook can both see the same change:
 * whichever comes second finds the incident moved on and changes nothing.
 */
export async function applyPrState(
  deps: IncidentDeps,
  pr: Pick<PullRequest, "number" | "state">,
  via: PrStateSource,
): Promise<PrStateResult> {
  const incident = await incidentByPrNumber(deps.db, pr.number);
  if (!incident) return "unknown_pr";
  return applyToIncident(deps, incident, pr, via);
}

async function applyToIncident(
  deps: IncidentDeps,
  incident: Incident,
  pr: Pick<PullRequest, "number" | "state">,
  via: PrStateSource,
): Promise<PrStateResult> {
  const now = deps.clock.now();
  if (incident.state !== "pr_open" || pr.state === "open") {
    // Later states keep theirs; the PR state is still worth knowing (branch cleanup reads it).
    if (pr.state === incident.pr_state) return "unchanged";
    await updateIncidentFields(deps.db, incident.id, { pr_state: pr.state });
    return "noted";
  }
  const url = incident.pr_url ?? `#${pr.number}`;
  const moved =
    pr.state === "merged"
      ? await transition(deps.db, deps.log, incident, {
          to: "verifying",
          kind: "pr_merged",
          message: `PR ${url} was merged (seen by ${via}); verifying for ${deps.config.lifecycle.verifySeconds} s after a deploy grace of ${deps.config.lifecycle.deployGraceSeconds} s`,
          data: { pr: pr.number, via },
          set: { pr_state: "merged", pr_merged_at: now },
          now,
        })
      : await transition(deps.db, deps.log, incident, {
          to: "dismissed",
          kind: "pr_closed",
          message: `PR ${url} was closed without merging (seen by ${via}): dismissed`,
          data: { pr: pr.number, via },
          set: { pr_state: "closed", triage_reason: "PR closed without merging" },
          now,
        });
  if (moved) return moved.state === "verifying" ? "verifying" : "dismissed";
  // Moved on meanwhile (the other path, an operator): judge the fresh row once more.
  const fresh = await getIncident(deps.db, incident.id);
  if (!fresh || fresh.state === "pr_open") return "unchanged";
  return applyToIncident(deps, fresh, pr, via);
}

/**
 * Reads the PR of every `pr_open` incident not polled for `prPollSeconds` (the times live in
 * `lastPolled`, by incident) and applies what it says. A forge failure is logged; the next pass retries.
 */
export async function pollPrStates(
  deps: IncidentDeps,
  forge: Forge,
  lastPolled: Map<number, number>,
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
    const r = await applyToIncident(deps, incident, pr, "poll");
    if (r === "verifying" || r === "dismissed") moved++;
  }
  return { polled, moved };
}
