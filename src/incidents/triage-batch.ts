import type { Incident, Silence } from "../db/tables.js";
import { type IncidentFacts, setTriageReasons, triageFacts } from "./batch.repo.js";
import type { IncidentDeps } from "./deps.js";
import { sourceResolved, triageIncident } from "./judge.js";
import { onRecurrence } from "./recurrence.js";
import { judge } from "./triage.js";

/** What a batch did to one incident, summed over its deliveries. */
export interface BatchTouch {
  id: number;
  added: number;
  created: boolean;
  resolved: boolean;
  messages: string[];
  /** An incident the batch created: what the store statement wrote and read for it (ingest/persist.ts). */
  fresh?: FreshFacts | undefined;
}

/**
 * What triage needs of a new incident, known from the statement that created it. With the batch's
 * own count (every alert it has came in this batch) that is all `judge` reads for a verdict of
 * "still settling"; any other verdict goes through `triageIncident`, which reads everything again.
 */
export type FreshFacts = Pick<IncidentFacts, "incident" | "previous" | "silences">;

// Counting a storm incident's alerts stops here: enough for any minimum and an honest reason.
const COUNT_CAP = 1000;

/** `activeSilence`'s choice among silences already read: this service, the alert or all, latest expiry. */
function silenceFor(
  silences: Silence[],
  incident: Pick<Incident, "service" | "alert_name">,
): Silence | undefined {
  return silences
    .filter(
      (s) =>
        s.service === incident.service && (s.alert_name === null || s.alert_name === incident.alert_name),
    )
    .sort((a, b) => b.expires_at.getTime() - a.expires_at.getTime())[0];
}

/**
 * Judges every incident a batch touched with at most two statements: the facts `judge` needs are
 * read for all of them at once (batch.repo.ts), and the common verdict (still settling) is written
 * for all at once. A new incident needs neither: the store statement read its facts and wrote its
 * settling reason (`fresh`). The rare verdicts (noise, act) and recurrences after a PR go through
 * the one-incident rules in judge.ts and recurrence.ts, which read their facts again and stay the
 * authority.
 */
export async function triageBatch(deps: IncidentDeps, touches: BatchTouch[]): Promise<void> {
  const { db, config } = deps;
  for (const t of touches) if (t.resolved) await sourceResolved(deps, t.id);
  const firing = touches.filter((t) => t.added > 0);
  if (firing.length === 0) return;
  const now = deps.clock.now();
  const read = await triageFacts(
    db,
    firing.filter((t) => !t.fresh).map((t) => t.id),
    {
      since: new Date(now.getTime() - config.triage.windowSeconds * 1000),
      cap: Math.max(COUNT_CAP, config.triage.minOccurrences),
      now,
      runsSince: new Date(now.getTime() - 86_400_000),
    },
  );
  const facts: IncidentFacts[] = [
    ...firing.flatMap((t) =>
      // Not read for a new incident: only a verdict past "wait" depends on them, and that one is
      // judged again by triageIncident.
      t.fresh ? [{ ...t.fresh, firingInWindow: t.added, runsLast24h: 0 }] : [],
    ),
    ...read,
  ];
  const touchOf = new Map(firing.map((t) => [t.id, t]));
  const reasons: { id: number; reason: string }[] = [];
  for (const f of facts) {
    const { incident, previous: prev } = f;
    if (incident.state !== "open" && incident.state !== "suppressed") continue;
    const verdict = judge(config, {
      incident,
      messages: touchOf.get(incident.id)!.messages,
      silence: silenceFor(f.silences, incident),
      dismissedBefore:
        prev?.state === "dismissed" && prev.resolved_at
          ? { id: prev.id, dismissedAt: prev.resolved_at }
          : undefined,
      firingInWindow: f.firingInWindow,
      runsLast24h: f.runsLast24h,
      now,
    });
    if (verdict.action === "wait") {
      if (incident.state === "open" && incident.triage_reason !== verdict.reason)
        reasons.push({ id: incident.id, reason: verdict.reason });
    } else {
      await triageIncident(deps, incident.id, touchOf.get(incident.id)!.messages);
    }
  }
  await setTriageReasons(db, reasons);
  for (const { incident } of facts) {
    if (incident.state === "pr_open" || incident.state === "deploying" || incident.state === "verifying")
      await onRecurrence(deps, incident.id, touchOf.get(incident.id)!.added);
  }
}
