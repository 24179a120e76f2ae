import type { Source } from "../config/schema.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { attachFiring, findLiveIncident, insertEvent, touchLastSeen } from "../incidents/incidents.repo.js";
import { sourceResolved, triageIncident } from "../incidents/judge.js";
import { onRecurrence } from "../incidents/recurrence.js";
import { insertDelivery, insertNewAlerts, linkAlerts, setDuplicateCount } from "./deliveries.repo.js";
import { parseDelivery } from "./parsers.js";
import type { NormalizedAlert } from "./types.js";

export interface IngestRequest {
  source: Source;
  /** The body as text (invalid UTF-8 already replaced). */
  body: string;
  bodyBytes: number;
  contentType: string | null;
  remoteAddr: string | null;
}

export type IngestOutcome =
  | {
      kind: "accepted";
      deliveryId: number;
      accepted: number;
      duplicates: number;
      incidents: number[];
      test: boolean;
    }
  | { kind: "malformed" | "invalid"; deliveryId: number; error: string };

interface Touched {
  id: number;
  /** Firing alerts this delivery added to it. */
  added: number;
  created: boolean;
  resolved: boolean;
  messages: string[];
}

/**
 * Stores a delivery and its alerts durably (one transaction), attaching each new firing alert to the
 * live incident of its fingerprint; then judges the incidents it touched. The caller answers 202 only
 * after this returns. A body that cannot be parsed is still stored, with the reason.
 */
export async function ingestDelivery(deps: IncidentDeps, req: IngestRequest): Promise<IngestOutcome> {
  const receivedAt = deps.clock.now();
  const parsed = parseDelivery(req.source, req.body, { receivedAt });
  const base = {
    source: req.source,
    receivedAt,
    contentType: req.contentType,
    remoteAddr: req.remoteAddr,
    body: req.body,
    bodyBytes: req.bodyBytes,
  };
  if (parsed.kind === "malformed" || parsed.kind === "invalid") {
    const deliveryId = await insertDelivery(deps.db, {
      ...base,
      alertCount: 0,
      parseError: `${parsed.kind}: ${parsed.error}`,
      testNotification: false,
    });
    deps.log.warn(
      { delivery: deliveryId, source: req.source, error: parsed.error },
      `rejected ${parsed.kind} delivery`,
    );
    return { kind: parsed.kind, deliveryId, error: parsed.error };
  }
  if (parsed.kind === "test") {
    const deliveryId = await insertDelivery(deps.db, {
      ...base,
      alertCount: 0,
      parseError: null,
      testNotification: true,
    });
    deps.log.info({ delivery: deliveryId, source: req.source }, `test notification: ${parsed.note}`);
    return { kind: "accepted", deliveryId, accepted: 0, duplicates: 0, incidents: [], test: true };
  }

  const { deliveryId, touched, duplicates } = await store(deps, base, parsed.alerts);
  for (const t of touched) {
    if (t.created) deps.log.info({ incident: t.id, delivery: deliveryId, event: "created" }, "new incident");
    if (t.resolved) await sourceResolved(deps, t.id);
    if (t.added > 0) {
      await triageIncident(deps, t.id, t.messages);
      await onRecurrence(deps, t.id, t.added);
    }
  }
  return {
    kind: "accepted",
    deliveryId,
    accepted: parsed.alerts.length - duplicates,
    duplicates,
    incidents: touched.map((t) => t.id),
    test: false,
  };
}

async function store(
  deps: IncidentDeps,
  base: Omit<Parameters<typeof insertDelivery>[1], "alertCount" | "parseError" | "testNotification">,
  alerts: NormalizedAlert[],
): Promise<{ deliveryId: number; touched: Touched[]; duplicates: number }> {
  return deps.db.transaction().execute(async (trx) => {
    const now = base.receivedAt;
    const deliveryId = await insertDelivery(trx, {
      ...base,
      alertCount: alerts.length,
      parseError: null,
      testNotification: false,
    });
    const fresh = await insertNewAlerts(trx, deliveryId, alerts, now);
    const freshIds = new Map(fresh.map((r) => [r.idempotency_key, r.id]));
    const duplicates = alerts.filter((a) => !freshIds.has(a.idempotencyKey));
    await setDuplicateCount(trx, deliveryId, duplicates.length);
    // A repeat keeps a live incident alive (stale rule) without counting as an occurrence.
    await touchLastSeen(trx, [...new Set(duplicates.map((a) => a.fingerprint))], now);

    const byFingerprint = new Map<string, NormalizedAlert[]>();
    for (const a of alerts) {
      if (!freshIds.has(a.idempotencyKey)) continue;
      byFingerprint.set(a.fingerprint, [...(byFingerprint.get(a.fingerprint) ?? []), a]);
    }
    const touched: Touched[] = [];
    // Sorted, so concurrent deliveries lock incident rows in one order and cannot deadlock.
    for (const fp of [...byFingerprint.keys()].sort()) {
      const group = byFingerprint.get(fp)!;
      const firing = group.filter((a) => a.status === "firing");
      const resolved = group.filter((a) => a.status === "resolved");
      const ids = (list: NormalizedAlert[]) => list.map((a) => freshIds.get(a.idempotencyKey)!);
      let incidentId: number | undefined;
      let created = false;
      if (firing.length > 0) {
        const first = firing[0]!;
        const row = await attachFiring(trx, {
          fingerprint: fp,
          source: first.source,
          title: first.service ? `${first.name}: ${first.service}` : first.name,
          alertName: first.name,
          service: first.service,
          host: first.host,
          severity: first.severity,
          count: firing.length,
          now,
        });
        incidentId = row.id;
        created = row.inserted;
        if (row.inserted) {
          await insertEvent(trx, {
            incident_id: row.id,
            run_id: null,
            at: now,
            kind: "created",
            message: `new incident from ${first.source}: ${first.name}${first.service ? ` on ${first.service}` : ""}`,
            data: { fingerprint: fp, delivery: deliveryId },
          });
        }
      } else {
        incidentId = (await findLiveIncident(trx, fp))?.id;
      }
      if (incidentId === undefined) continue; // a resolve for nothing live: stored, attached to nothing
      await linkAlerts(trx, [...ids(firing), ...ids(resolved)], incidentId);
      touched.push({
        id: incidentId,
        added: firing.length,
        created,
        resolved: resolved.length > 0 && firing.length === 0,
        messages: firing.flatMap((a) => [a.summary ?? "", ...(a.details.evidence ?? [])]).filter(Boolean),
      });
    }
    return { deliveryId, touched, duplicates: duplicates.length };
  });
}
