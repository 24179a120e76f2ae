import type { Config } from "../config/load.js";
import type { Incident, Silence } from "../db/tables.js";

/** What triage makes of an incident. Every verdict carries the reason that is stored with it. */
export type Verdict =
  | { action: "act"; reason: string }
  | { action: "suppress"; reason: string }
  /** Still settling: judged again when the settle time has passed. */
  | { action: "wait"; reason: string };

/** The facts a verdict rests on, gathered by the caller. */
export interface TriageFacts {
  incident: Pick<Incident, "service" | "alert_name" | "title" | "first_seen_at" | "previous_incident_id">;
  /** Latest alert summary and evidence: matched by `triage.ignore[].message`. */
  messages: string[];
  silence: Silence | undefined;
  /** The previous incident of the fingerprint, when it was dismissed. */
  dismissedBefore: { id: number; dismissedAt: Date } | undefined;
  firingInWindow: number;
  runsLast24h: number;
  /** Provider-reported cost of the runs of the last 24 h (agent.maxCostPerDay); absent: 0. */
  costLast24h?: number;
  now: Date;
}

/** The first ignore rule an incident matches: every field of a rule must match (regexes). */
export function matchIgnoreRule(
  rules: Config["triage"]["ignore"],
  facts: Pick<TriageFacts, "incident" | "messages">,
): number | undefined {
  const test = (pattern: string | undefined, values: (string | null)[]) =>
    pattern === undefined || values.some((v) => v !== null && new RegExp(pattern).test(v));
  const i = rules.findIndex(
    (r) =>
      test(r.service, [facts.incident.service]) &&
      test(r.alertName, [facts.incident.alert_name]) &&
      test(r.message, facts.messages),
  );
  return i === -1 ? undefined : i;
}

/** When an incident first seen at `firstSeenAt` has settled (triage.settleSeconds), in ms. */
function settledAt(config: Pick<Config, "triage">, firstSeenAt: Date): number {
  return firstSeenAt.getTime() + config.triage.settleSeconds * 1000;
}

/** The reason of the "wait" verdict; also a new incident's first, written by the store with it (ingest/persist.ts). */
export function settlingReason(config: Pick<Config, "triage">, firstSeenAt: Date): string {
  return `settling until ${new Date(settledAt(config, firstSeenAt)).toISOString()} (triage.settleSeconds)`;
}

/** SPEC §6 rule 2: decides noise or actionable. Pure: the caller gathers facts and applies it. */
export function judge(config: Pick<Config, "triage" | "lifecycle" | "agent">, f: TriageFacts): Verdict {
  const t = config.triage;
  const dismissed = f.dismissedBefore;
  if (dismissed) {
    const until = dismissed.dismissedAt.getTime() + config.lifecycle.dismissCooldownSeconds * 1000;
    if (f.now.getTime() < until) {
      return {
        action: "suppress",
        reason: `came back after incident ${dismissed.id} was dismissed; noise until ${new Date(until).toISOString()} (lifecycle.dismissCooldownSeconds)`,
      };
    }
  }
  if (f.silence) {
    const what = f.silence.alert_name ? `${f.silence.service}/${f.silence.alert_name}` : f.silence.service;
    return {
      action: "suppress",
      reason: `silenced (${what}) until ${f.silence.expires_at.toISOString()}${f.silence.reason ? `: ${f.silence.reason}` : ""}`,
    };
  }
  const rule = matchIgnoreRule(t.ignore, f);
  if (rule !== undefined) {
    return { action: "suppress", reason: `matches triage.ignore[${rule}] ${JSON.stringify(t.ignore[rule])}` };
  }
  if (f.now.getTime() < settledAt(config, f.incident.first_seen_at)) {
    return { action: "wait", reason: settlingReason(config, f.incident.first_seen_at) };
  }
  if (f.firingInWindow < t.minOccurrences) {
    return {
      action: "suppress",
      reason: `${f.firingInWindow} of ${t.minOccurrences} occurrences within ${t.windowSeconds} s (triage.minOccurrences)`,
    };
  }
  if (f.runsLast24h >= config.agent.maxRunsPerDay) {
    return {
      action: "suppress",
      reason: `run budget spent: ${f.runsLast24h} runs in the last 24 h (agent.maxRunsPerDay = ${config.agent.maxRunsPerDay})`,
    };
  }
  const cap = config.agent.maxCostPerDay;
  if (cap !== undefined && (f.costLast24h ?? 0) >= cap) {
    return { action: "suppress", reason: costBudgetReason(f.costLast24h ?? 0, cap) };
  }
  return {
    action: "act",
    reason: `actionable: ${f.firingInWindow} occurrence(s) within ${t.windowSeconds} s, settled, not silenced or ignored`,
  };
}

/** Why a run is not started for cost: what was spent, and the key that caps it. */
export function costBudgetReason(spent: number, cap: number): string {
  return `cost budget spent: ${formatCost(spent)} in the last 24 h (agent.maxCostPerDay = ${cap})`;
}

/** A provider-reported cost, rounded for people (the unit is the provider's, usually USD). */
export function formatCost(cost: number): string {
  return cost >= 1 ? cost.toFixed(2) : cost.toFixed(4).replace(/0+$/, "").replace(/\.$/, ".0");
}
