import type { IncidentDeps } from "./deps.js";
import { judgeableForServices, quietIncidents, settledOpenIncidents } from "./incidents.repo.js";
import { triageIncident } from "./judge.js";
import { silencesExpiredBetween } from "./silences.repo.js";
import { transition } from "./transitions.js";

/**
 * The time-driven incident rules, run by the maintenance loop: settled incidents are judged, silences
 * that expired since `since` re-judge what they suppressed, quiet open/suppressed incidents go stale
 * (OpenObserve never says "resolved"), and a merged fix that stayed quiet for verifySeconds resolves.
 */
export async function incidentTick(deps: IncidentDeps, since: Date): Promise<void> {
  const now = deps.clock.now();
  const { triage, lifecycle } = deps.config;
  const ago = (s: number) => new Date(now.getTime() - s * 1000);

  for (const incident of await settledOpenIncidents(deps.db, ago(triage.settleSeconds))) {
    await triageIncident(deps, incident.id);
  }
  const expired = await silencesExpiredBetween(deps.db, since, now);
  for (const incident of await judgeableForServices(deps.db, [...new Set(expired.map((s) => s.service))])) {
    await triageIncident(deps, incident.id);
  }
  for (const incident of await quietIncidents(deps.db, ["open", "suppressed"], ago(lifecycle.staleSeconds))) {
    await transition(deps.db, deps.log, incident, {
      to: "resolved",
      kind: "stale",
      message: `no alert for ${lifecycle.staleSeconds} s (lifecycle.staleSeconds): resolved as stale`,
      now,
    });
  }
  for (const incident of await quietIncidents(deps.db, ["verifying"], ago(lifecycle.verifySeconds))) {
    // Timed from the deploy when it was seen (tracked), else from the merge.
    const from = incident.deployed_at ?? incident.pr_merged_at ?? incident.state_changed_at;
    if (from > ago(lifecycle.verifySeconds)) continue;
    const after = incident.deployed_at ? "the deploy" : "the merge";
    await transition(deps.db, deps.log, incident, {
      to: "resolved",
      kind: "verified",
      message: `quiet for ${lifecycle.verifySeconds} s after ${after} of ${incident.pr_url ?? "the fix"}: resolved`,
      now,
    });
  }
}
