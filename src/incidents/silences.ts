import type { Silence } from "../db/tables.js";
import { formatDuration } from "../duration.js";
import { ActionError } from "./actions.js";
import type { IncidentDeps } from "./deps.js";
import { judgeableForServices, liveIncidentsOfService } from "./incidents.repo.js";
import { triageIncident } from "./judge.js";
import { expireSilence, getSilence, insertSilence, silencesInForce } from "./silences.repo.js";
import { recordEvent } from "./transitions.js";

/** `service` or `service/alert`: how a silence names what it covers. */
export const silenceTarget = (s: Pick<Silence, "service" | "alert_name">) =>
  s.alert_name ? `${s.service}/${s.alert_name}` : s.service;

/**
 * `silence`: open and suppressed incidents of the service are judged again at once. The audit
 * trail is per incident, so the event goes on each live incident the silence covers; with none, the
 * silences row itself is the record (and a log line says so).
 */
export async function createSilence(
  deps: IncidentDeps,
  s: { service: string; alertName?: string | undefined; seconds: number; reason?: string | undefined },
) {
  const now = deps.clock.now();
  const silence = await insertSilence(deps.db, {
    service: s.service,
    alertName: s.alertName ?? null,
    reason: s.reason ?? null,
    now,
    expiresAt: new Date(now.getTime() + s.seconds * 1000),
  });
  await onCovered(deps, silence, now, {
    kind: "silenced",
    message: `silence ${silence.id} on ${silenceTarget(silence)} for ${formatDuration(s.seconds)}, until ${silence.expires_at.toISOString()}${silence.reason ? `: ${silence.reason}` : ""}`,
  });
  for (const i of await judgeableForServices(deps.db, [s.service])) await triageIncident(deps, i.id);
  return silence;
}

/** `silences`: those in force now. */
export async function listSilences(deps: IncidentDeps): Promise<Silence[]> {
  return silencesInForce(deps.db, deps.clock.now());
}

/** `unsilence ID`: the silence ends now; the incidents it suppressed are judged again at once. */
export async function endSilence(deps: IncidentDeps, id: number): Promise<Silence> {
  const now = deps.clock.now();
  const ended = await expireSilence(deps.db, id, now);
  if (!ended) {
    const s = await getSilence(deps.db, id);
    if (!s) throw new ActionError("not_found", `no silence ${id}`);
    throw new ActionError("conflict", `silence ${id} already ended at ${s.expires_at.toISOString()}`);
  }
  await onCovered(deps, ended, now, {
    kind: "unsilenced",
    message: `silence ${ended.id} on ${silenceTarget(ended)} ended by the operator`,
  });
  for (const i of await judgeableForServices(deps.db, [ended.service])) await triageIncident(deps, i.id);
  return ended;
}

async function onCovered(
  deps: IncidentDeps,
  silence: Silence,
  now: Date,
  e: { kind: string; message: string },
): Promise<void> {
  const covered = await liveIncidentsOfService(deps.db, silence.service, silence.alert_name);
  for (const i of covered)
    await recordEvent(deps.db, deps.log, {
      incidentId: i.id,
      kind: e.kind,
      message: e.message,
      data: { silence: silence.id },
      now,
    });
  deps.log.info(
    { event: e.kind, silence: silence.id, incidents: covered.map((i) => i.id) },
    covered.length > 0 ? e.message : `${e.message} (no live incident covered)`,
  );
}
