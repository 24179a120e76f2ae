import type { Incident, Silence } from "../db/tables.js";
import {
  countFiringSinceMany,
  incidentsByIds,
  previousIncidents,
  setTriageReasons,
  silencesInForce,
} from "../incidents/batch.repo.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { sourceResolved, triageIncident } from "../incidents/judge.js";
import { onRecurrence } from "../incidents/recurrence.js";
import { judge } from "../incidents/triage.js";
import { runsStartedSince } from "../runs/queue.repo.js";

/** What a batch did to one incident, summed over its deliveries. */
export interface BatchTouch {
  id: number;
  added: number;
  created: boolean;
  resolved: boolean;
  messages: string[];
  /** Created in this batch already judged "still settling" (the reason was stored with it). */
  prejudged: boolean;
}

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
 * Judges every incident a batch touched with a fixed number of queries: the facts `judge` needs
 * are read for all of them at once. The common verdict (still settling) is applied in one
 * statement; the rare ones (noise, act) and recurrences after a PR go through the one-incident
 * rules in judge.ts and recurrence.ts, which read their facts again and stay the authority.
 */
export async function triageBatch(deps: IncidentDeps, touches: BatchTouch[]): Promise<void> {
  const { db, config } = deps;
  for (const t of touches) if (t.resolved) await sourceResolved(deps, t.id);
  const firing = touches.filter((t) => t.added > 0 && !t.prejudged);
  if (firing.length === 0) return;
  const now = deps.clock.now();
  const incidents = await incidentsByIds(
    db,
    firing.map((t) => t.id),
  );
  const judgeable = incidents.filter((i) => i.state === "open" || i.state === "suppressed");
  const touchOf = new Map(firing.map((t) => [t.id, t]));
  if (judgeable.length > 0) {
    const ids = judgeable.map((i) => i.id);
    const previous = new Map(
      (
        await previousIncidents(
          db,
          judgeable.map((i) => i.fingerprint),
          ids,
        )
      ).map((p) => [p.fingerprint, p]),
    );
    const services = [...new Set(judgeable.flatMap((i) => (i.service === null ? [] : [i.service])))];
    const silences = await silencesInForce(db, services, now);
    const since = new Date(now.getTime() - config.triage.windowSeconds * 1000);
    const counts = await countFiringSinceMany(
      db,
      ids,
      since,
      Math.max(COUNT_CAP, config.triage.minOccurrences),
    );
    const runsLast24h = await runsStartedSince(db, new Date(now.getTime() - 86_400_000));
    const reasons: { id: number; reason: string }[] = [];
    for (const incident of judgeable) {
      const prev = previous.get(incident.fingerprint);
      const verdict = judge(config, {
        incident,
        messages: touchOf.get(incident.id)!.messages,
        silence: silenceFor(silences, incident),
        dismissedBefore:
          prev?.state === "dismissed" && prev.resolved_at
            ? { id: prev.id, dismissedAt: prev.resolved_at }
            : undefined,
        firingInWindow: counts.get(incident.id) ?? 0,
        runsLast24h,
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
  }
  for (const incident of incidents) {
    if (incident.state === "pr_open" || incident.state === "verifying")
      await onRecurrence(deps, incident.id, touchOf.get(incident.id)!.added);
  }
}

/** A problem about to get its first incident: what `judge` needs to know of it. */
export interface NewProblem {
  fingerprint: string;
  service: string | null;
  alertName: string;
  title: string;
  count: number;
  messages: string[];
}

/**
 * The "still settling" verdict for incidents a batch is about to create, judged before they exist
 * (the facts are read just before the batch's transaction): their reason is stored with them and
 * they need no triage after the commit. Every other verdict is left to the triage after the commit. Problems whose incident
 * is live already are skipped (the upsert attaches to it).
 */
export async function settlingReasons(
  db: Parameters<typeof previousIncidents>[0],
  deps: Pick<IncidentDeps, "config">,
  problems: NewProblem[],
  now: Date,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (problems.length === 0 || deps.config.triage.settleSeconds === 0) return out;
  const services = [...new Set(problems.flatMap((p) => (p.service === null ? [] : [p.service])))];
  const [previous, silences] = await Promise.all([
    previousIncidents(
      db,
      problems.map((p) => p.fingerprint),
      [],
    ),
    silencesInForce(db, services, now),
  ]);
  const prev = new Map(previous.map((p) => [p.fingerprint, p]));
  for (const p of problems) {
    const before = prev.get(p.fingerprint);
    if (before && before.state !== "resolved" && before.state !== "dismissed") continue;
    const incident = {
      service: p.service,
      alert_name: p.alertName,
      title: p.title,
      first_seen_at: now,
      previous_incident_id: before?.id ?? null,
    };
    const verdict = judge(deps.config, {
      incident,
      messages: p.messages,
      silence: silenceFor(silences, incident),
      dismissedBefore:
        before?.state === "dismissed" && before.resolved_at
          ? { id: before.id, dismissedAt: before.resolved_at }
          : undefined,
      firingInWindow: p.count,
      runsLast24h: 0,
      now,
    });
    if (verdict.action === "wait") out.set(p.fingerprint, verdict.reason);
  }
  return out;
}
