import type { IncidentDeps } from "./deps.js";
import { getIncident } from "./incidents.repo.js";
import { startRun } from "./start-run.js";
import { recordEvent, transition } from "./transitions.js";

// Declared in deps.ts, next to the IncidentDeps that carries them (importing it from here made a cycle).
export type { RecurrenceHooks } from "./deps.js";

/**
 * New firing alerts for an incident past triage (SPEC §6 rules 1 and 4): while `pr_open`, at most an
 * hourly comment; while `deploying`, they attach and start nothing (the fix is not running yet);
 * while `verifying`, a recurrence inside the deploy grace only attaches when the deployment is not
 * tracked, and otherwise a follow-up run starts (up to lifecycle.maxFollowUps, then needs_human).
 */
export async function onRecurrence(deps: IncidentDeps, incidentId: number, added: number): Promise<void> {
  const incident = await getIncident(deps.db, incidentId);
  if (!incident) return;
  const now = deps.clock.now();
  const { lifecycle } = deps.config;
  if (incident.state === "pr_open") {
    await deps.recurrence?.stillHappening?.(deps, incidentId, added);
    return;
  }
  if (incident.state === "deploying") {
    await recordEvent(deps.db, deps.log, {
      incidentId,
      kind: "recurrence",
      message: `${added} alert(s) while the merged fix waits for its deployment on ${incident.host ?? "its host"}: attached; nothing starts until the fix runs there`,
      data: { added, deploying: true },
      now,
    });
    return;
  }
  if (incident.state !== "verifying") return;
  const mergedAt = incident.pr_merged_at ?? incident.state_changed_at;
  const sinceMerge = Math.round((now.getTime() - mergedAt.getTime()) / 1000);
  // A tracked deployment has no grace: the fix was seen running, so it came back after the deploy.
  const deployedAt = incident.deployed_at;
  if (deployedAt === null && sinceMerge < lifecycle.deployGraceSeconds) {
    await recordEvent(deps.db, deps.log, {
      incidentId,
      kind: "recurrence",
      message: `${added} alert(s) ${sinceMerge} s after the merge, inside the deploy grace (${lifecycle.deployGraceSeconds} s): attached`,
      data: { added, sinceMerge },
      now,
    });
    return;
  }
  if (incident.follow_ups >= lifecycle.maxFollowUps) {
    await transition(deps.db, deps.log, incident, {
      to: "needs_human",
      kind: "recurrence",
      message: `the fix did not hold: it came back ${since(sinceMerge, deployedAt, now)}, and ${incident.follow_ups} follow-up(s) are spent (lifecycle.maxFollowUps)`,
      data: { added, sinceMerge },
      set: { triage_reason: "fix did not hold; follow-ups spent" },
      now,
    });
    return;
  }
  const started = await startRun(deps, incident, {
    kind: "follow_up",
    countFollowUp: true,
    message: `the fix of PR ${incident.pr_url ?? "?"} did not hold: it came back ${since(sinceMerge, deployedAt, now)}; follow-up ${incident.follow_ups + 1} of ${lifecycle.maxFollowUps}`,
    data: { added, sinceMerge, previousPr: incident.pr_url },
  });
  if (!started.started && started.reason === "budget_spent") {
    // The incident stays in verifying; the next recurrence tries again.
    await recordEvent(deps.db, deps.log, {
      incidentId,
      kind: "recurrence",
      message: `the fix did not hold, but no follow-up could start: ${started.message}`,
      data: { added, sinceMerge },
      now,
    });
  }
}

/** "N s after the merge", or "N s after it was deployed on the host" when the deploy was seen. */
function since(sinceMerge: number, deployedAt: Date | null, now: Date): string {
  if (deployedAt === null) return `${sinceMerge} s after the merge`;
  return `${Math.round((now.getTime() - deployedAt.getTime()) / 1000)} s after it was deployed on the host`;
}
