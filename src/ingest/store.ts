import type { IncidentDeps } from "../incidents/deps.js";
import {
  attachFiringBatch,
  findLiveIncident,
  insertEvents,
  touchLastSeen,
} from "../incidents/incidents.repo.js";
import {
  type BatchAlert,
  type DeliveryInput,
  insertAlertsBatch,
  insertDeliveries,
  linkAlertsBatch,
  setDuplicateCounts,
} from "./deliveries.repo.js";
import type { NormalizedAlert } from "./types.js";

/** A parsed delivery waiting to be stored. */
export interface StoreItem {
  base: Omit<DeliveryInput, "alertCount" | "parseError" | "testNotification">;
  alerts: NormalizedAlert[];
}

/** What a delivery did to one incident. */
export interface Touched {
  id: number;
  /** Firing alerts this delivery added to it. */
  added: number;
  created: boolean;
  resolved: boolean;
  messages: string[];
}

export interface Stored {
  deliveryId: number;
  accepted: number;
  duplicates: number;
  touched: Touched[];
}

const titleOf = (a: NormalizedAlert) => (a.service ? `${a.name}: ${a.service}` : a.name);

/**
 * Stores a batch of deliveries and their alerts in one transaction with a fixed number of
 * set-based statements, whatever the batch size: the deliveries, the alerts (a key already stored,
 * or repeated in the batch, is a duplicate of its first delivery), the incidents they attach to
 * (one upsert; occurrences count new firing alerts only) and the links. The same rules as one
 * delivery at a time; a resolve-only fingerprint looks up its live incident (such deliveries are
 * batched alone, so the order of firing and resolve is kept).
 */
export async function storeBatch(deps: IncidentDeps, items: StoreItem[]): Promise<Stored[]> {
  return deps.db.transaction().execute(async (trx) => {
    const now = items[0]!.base.receivedAt;
    const ids = await insertDeliveries(
      trx,
      items.map((it) => ({
        ...it.base,
        alertCount: it.alerts.length,
        parseError: null,
        testNotification: false,
      })),
    );
    const all: BatchAlert[] = items.flatMap((it, i) =>
      it.alerts.map((alert) => ({ deliveryId: ids[i]!, alert })),
    );
    const inserted = new Map((await insertAlertsBatch(trx, all, now)).map((r) => [r.idempotency_key, r.id]));

    // Split each delivery's alerts into new ones (the first claim of a stored key) and duplicates.
    const claimed = new Set<string>();
    const fresh = items.map((it) =>
      it.alerts.filter((a) => {
        if (!inserted.has(a.idempotencyKey) || claimed.has(a.idempotencyKey)) return false;
        claimed.add(a.idempotencyKey);
        return true;
      }),
    );
    const dupCounts = items.map((it, i) => ({ id: ids[i]!, n: it.alerts.length - fresh[i]!.length }));
    await setDuplicateCounts(
      trx,
      dupCounts.filter((d) => d.n > 0),
    );
    // A repeat keeps a live incident alive (stale rule) without counting as an occurrence.
    const dupFingerprints = new Set<string>();
    items.forEach((it, i) => {
      const f = new Set(fresh[i]!);
      for (const a of it.alerts) if (!f.has(a)) dupFingerprints.add(a.fingerprint);
    });
    await touchLastSeen(trx, [...dupFingerprints].sort(), now);

    const firing = new Map<string, { first: NormalizedAlert; count: number; delivery: number }>();
    fresh.forEach((list, i) => {
      for (const a of list) {
        if (a.status !== "firing") continue;
        const f = firing.get(a.fingerprint);
        if (f) f.count++;
        else firing.set(a.fingerprint, { first: a, count: 1, delivery: ids[i]! });
      }
    });
    const upserted = await attachFiringBatch(
      trx,
      [...firing.entries()].map(([fp, f]) => ({
        fingerprint: fp,
        source: f.first.source,
        title: titleOf(f.first),
        alertName: f.first.name,
        service: f.first.service,
        host: f.first.host,
        severity: f.first.severity,
        count: f.count,
        now,
      })),
    );
    const incidentOf = new Map(upserted.map((r) => [r.fingerprint, r]));
    await insertEvents(
      trx,
      upserted
        .filter((r) => r.inserted)
        .map((r) => {
          const f = firing.get(r.fingerprint)!.first;
          return {
            incident_id: r.id,
            run_id: null,
            at: now,
            kind: "created",
            message: `new incident from ${f.source}: ${f.name}${f.service ? ` on ${f.service}` : ""}`,
            data: { fingerprint: r.fingerprint, delivery: firing.get(r.fingerprint)!.delivery },
          };
        }),
    );

    const links: { alert: number; incident: number }[] = [];
    const createdFor = new Set<string>();
    const stored: Stored[] = [];
    for (const [i, list] of fresh.entries()) {
      const byFp = new Map<string, NormalizedAlert[]>();
      for (const a of list) byFp.set(a.fingerprint, [...(byFp.get(a.fingerprint) ?? []), a]);
      const touched: Touched[] = [];
      for (const fp of [...byFp.keys()].sort()) {
        const group = byFp.get(fp)!;
        const added = group.filter((a) => a.status === "firing");
        const row = added.length > 0 ? incidentOf.get(fp) : undefined;
        const incidentId =
          row?.id ?? (added.length === 0 ? (await findLiveIncident(trx, fp))?.id : undefined);
        if (incidentId === undefined) continue; // a resolve for nothing live: stored, attached to nothing
        for (const a of group) links.push({ alert: inserted.get(a.idempotencyKey)!, incident: incidentId });
        const created = row?.inserted === true && !createdFor.has(fp);
        if (created) createdFor.add(fp);
        touched.push({
          id: incidentId,
          added: added.length,
          created,
          resolved: added.length === 0,
          messages: added.flatMap((a) => [a.summary ?? "", ...(a.details.evidence ?? [])]).filter(Boolean),
        });
      }
      stored.push({ deliveryId: ids[i]!, accepted: list.length, duplicates: dupCounts[i]!.n, touched });
    }
    await linkAlertsBatch(trx, links);
    return stored;
  });
}
