import type { Incident } from "../db/tables.js";
import { runsStartedSince } from "../runs/queue.repo.js";
import { costSince } from "../runs/usage.repo.js";
import type { IncidentDeps } from "./deps.js";
import { countFiringSince, getIncident, previousIncident, updateIncidentFields } from "./incidents.repo.js";
import { activeSilence } from "./silences.repo.js";
import { startRun } from "./start-run.js";
import { recordEvent, transition } from "./transitions.js";
import { judge, type Verdict } from "./triage.js";

/** Gathers the facts for `judge` from the database. */
async function verdictFor(deps: IncidentDeps, incident: Incident, messages: string[]): Promise<Verdict> {
  const now = deps.clock.now();
  const { db, config } = deps;
  const prev = await previousIncident(db, incident.fingerprint, incident.id);
  const dismissedBefore =
    prev?.state === "dismissed" && prev.resolved_at
      ? { id: prev.id, dismissedAt: prev.resolved_at }
      : undefined;
  return judge(config, {
    incident,
    messages,
    silence: await activeSilence(db, incident.service, incident.alert_name, now),
    dismissedBefore,
    firingInWindow: await countFiringSince(
      db,
      incident.id,
      new Date(now.getTime() - config.triage.windowSeconds * 1000),
    ),
    runsLast24h: await runsStartedSince(db, new Date(now.getTime() - 86_400_000)),
    ...(config.agent.maxCostPerDay !== undefined && {
      costLast24h: await costSince(db, new Date(now.getTime() - 86_400_000)),
    }),
    now,
  });
}

/**
 * Judges an open or suppressed incident and applies the verdict: suppress (with the reason), wait
 * (still settling), or act — queue a run, or `needs_human` when no repo is configured.
 * Incidents in later states are left alone (an alert never starts a second run).
 */
export async function triageIncident(
  deps: IncidentDeps,
  incidentId: number,
  messages: string[] = [],
): Promise<void> {
  const incident = await getIncident(deps.db, incidentId);
  if (!incident || (incident.state !== "open" && incident.state !== "suppressed")) return;
  const verdict = await verdictFor(deps, incident, messages);
  const now = deps.clock.now();
  switch (verdict.action) {
    case "wait":
      if (incident.triage_reason !== verdict.reason && incident.state === "open") {
        await updateIncidentFields(deps.db, incident.id, { triage_reason: verdict.reason });
      }
      return;
    case "suppress":
      return suppress(deps, incident, verdict.reason, now);
    case "act":
      return act(deps, incident, verdict.reason, now);
  }
}

async function suppress(deps: IncidentDeps, incident: Incident, reason: string, now: Date): Promise<void> {
  if (incident.state === "open") {
    await transition(deps.db, deps.log, incident, {
      to: "suppressed",
      kind: "triage",
      message: `noise: ${reason}`,
      data: { verdict: "suppress" },
      set: { triage_reason: reason },
      now,
    });
  } else if (incident.triage_reason !== reason) {
    await updateIncidentFields(deps.db, incident.id, { triage_reason: reason });
    await recordEvent(deps.db, deps.log, {
      incidentId: incident.id,
      kind: "triage",
      message: `still noise: ${reason}`,
      data: { verdict: "suppress" },
      now,
    });
  }
}

/** Why an actionable incident cannot get a run now (no repo, a failing preflight check), if it cannot. */
function cannotAct(deps: IncidentDeps, incident: Incident, reason: string) {
  if (deps.config.repo.url === undefined)
    return { why: `${reason}; but repo.url is not set, so no repair ran`, data: { noRepo: true } };
  const blocking = deps.preflight?.blocking() ?? [];
  if (blocking.length === 0) return undefined;
  // A run would fail on it: say which check, instead of starting one.
  return {
    why: `${reason}; but no repair ran: preflight check failed: ${blocking.join("; ")}. Fix it (\`homelab-healer doctor\`), then \`homelab-healer retry ${incident.id}\``,
    data: { preflight: blocking },
  };
}

async function act(deps: IncidentDeps, incident: Incident, reason: string, now: Date): Promise<void> {
  const blocked = cannotAct(deps, incident, reason);
  if (blocked) {
    await transition(deps.db, deps.log, incident, {
      to: "needs_human",
      kind: "triage",
      message: blocked.why,
      data: { verdict: "act", ...blocked.data },
      set: { triage_reason: blocked.why },
      now,
    });
    return;
  }
  const started = await startRun(deps, incident, {
    kind: "repair",
    message: reason,
    data: { verdict: "act" },
  });
  if (!started.started && started.reason === "budget_spent") {
    await suppress(deps, incident, started.message, now);
  }
}

/**
 * A source said "resolved" (SPEC §6 rule 3): open and suppressed incidents resolve; later states only
 * record it.
 */
export async function sourceResolved(deps: IncidentDeps, incidentId: number): Promise<void> {
  const incident = await getIncident(deps.db, incidentId);
  if (!incident) return;
  const now = deps.clock.now();
  await updateIncidentFields(deps.db, incident.id, { resolved_by_source_at: now });
  if (incident.state === "open" || incident.state === "suppressed") {
    await transition(deps.db, deps.log, incident, {
      to: "resolved",
      kind: "resolved",
      message: "the source reported it resolved",
      now,
    });
    return;
  }
  await recordEvent(deps.db, deps.log, {
    incidentId: incident.id,
    kind: "source_resolved",
    message: `the source reported it resolved (state stays ${incident.state})`,
    now,
  });
}
