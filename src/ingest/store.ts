import { attachFiringBatch, insertEvents, uncountOccurrences } from "../incidents/batch.repo.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { findLiveIncident } from "../incidents/incidents.repo.js";
import {
  type DeliveryInput,
  existingKeys,
  insertAlertsBatch,
  insertDeliveries,
  setDuplicateCounts,
} from "./deliveries.repo.js";
import { StoredKeys } from "./stored-keys.js";
import { type NewProblem, settlingReasons } from "./triage-batch.js";
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
  /** Created here and judged "still settling" in the transaction: no triage after the commit. */
  prejudged: boolean;
}

export interface Stored {
  deliveryId: number;
  accepted: number;
  duplicates: number;
  touched: Touched[];
}

const titleOf = (a: NormalizedAlert) => (a.service ? `${a.name}: ${a.service}` : a.name);
/** The text `triage.ignore[].message` is matched against. */
const messagesOf = (a: NormalizedAlert) => [a.summary ?? "", ...(a.details.evidence ?? [])].filter(Boolean);

/**
 * Stores a batch of deliveries and their alerts in one transaction with a fixed number of
 * set-based statements, whatever the batch size: which keys are stored already (repeats, and a key
 * repeated in the batch counts for its first delivery only); the deliveries with their duplicate
 * counts; the incidents the new firing alerts attach to (one upsert: occurrences count new firing
 * alerts only); the new alerts, written once with their incident; the events. The same rules as
 * one delivery at a time; a resolve-only fingerprint looks up its live incident (such deliveries
 * are batched alone, so the order of firing and resolve is kept).
 */
export async function storeBatch(
  deps: IncidentDeps,
  items: StoreItem[],
  known: StoredKeys = new StoredKeys(),
): Promise<Stored[]> {
  const now = items[0]!.base.receivedAt;
  // Stored keys stay stored, and the facts of a new incident's first verdict are read as they
  // would be at its insert: reading both before the transaction, at once, saves round trips.
  // Keys this process saw committed need neither (`known`): their alerts are repeats.
  const unknown: string[] = [];
  const cached = new Set<string>();
  for (const k of new Set(items.flatMap((it) => it.alerts.map((a) => a.idempotencyKey)))) {
    if (known.has(k)) cached.add(k);
    else unknown.push(k);
  }
  const problems = new Map<string, NewProblem>();
  for (const it of items) {
    for (const a of it.alerts) {
      if (a.status !== "firing" || cached.has(a.idempotencyKey)) continue;
      const p = problems.get(a.fingerprint) ?? {
        fingerprint: a.fingerprint,
        service: a.service,
        alertName: a.name,
        title: titleOf(a),
        count: 0,
        messages: [],
      };
      problems.set(a.fingerprint, p);
      p.count++;
      if (p.messages.length < 50) p.messages.push(...messagesOf(a));
    }
  }
  const [found, settling] = await Promise.all([
    existingKeys(deps.db, unknown),
    settlingReasons(deps.db, deps, [...problems.values()], now),
  ]);
  const stored = new Set([...found, ...cached]);
  const claimed = new Set<string>();
  const candidates = items.map((it) =>
    it.alerts.filter((a) => {
      if (stored.has(a.idempotencyKey) || claimed.has(a.idempotencyKey)) return false;
      claimed.add(a.idempotencyKey);
      return true;
    }),
  );
  const deliveries = items.map((it, i) => ({
    ...it.base,
    alertCount: it.alerts.length,
    parseError: null,
    testNotification: false,
    // Known now; only a race with another instance changes it (fixed below).
    duplicates: it.alerts.length - candidates[i]!.length,
  }));
  // A repeat keeps a live incident alive (stale rule) without counting as an occurrence.
  const repeats = new Set<string>();
  items.forEach((it, i) => {
    const own = new Set(candidates[i]);
    for (const a of it.alerts) if (!own.has(a)) repeats.add(a.fingerprint);
  });
  const touch = { fingerprints: [...repeats].sort(), now };
  if (candidates.every((c) => c.length === 0)) {
    // Only repeats: one statement stores the deliveries (and touches), no transaction needed.
    const ids = await insertDeliveries(deps.db, deliveries, touch);
    known.add(found);
    return items.map((it, i) => ({
      deliveryId: ids[i]!,
      accepted: 0,
      duplicates: it.alerts.length,
      touched: [],
    }));
  }
  const { out, inserted } = await deps.db.transaction().execute(async (trx) => {
    const ids = await insertDeliveries(trx, deliveries, touch);
    const firing = new Map<string, { first: NormalizedAlert; count: number; delivery: number }>();
    candidates.forEach((list, i) => {
      for (const a of list) {
        if (a.status !== "firing") continue;
        const f = firing.get(a.fingerprint) ?? { first: a, count: 0, delivery: ids[i]! };
        firing.set(a.fingerprint, f);
        f.count++;
      }
    });
    const upserted = await attachFiringBatch(
      trx,
      [...firing.entries()].map(([fp, f]) => ({
        triageReason: settling.get(fp) ?? null,
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

    // Each delivery's alerts, grouped by fingerprint: a group with a firing alert attaches to the
    // upserted incident, a resolve-only group to the live one (if any).
    const live = new Map<string, number | undefined>();
    const groups: {
      delivery: number;
      fp: string;
      alerts: NormalizedAlert[];
      incidentId: number | undefined;
    }[] = [];
    for (const [i, list] of candidates.entries()) {
      const byFp = new Map<string, NormalizedAlert[]>();
      for (const a of list) byFp.set(a.fingerprint, [...(byFp.get(a.fingerprint) ?? []), a]);
      for (const fp of [...byFp.keys()].sort()) {
        const alerts = byFp.get(fp)!;
        let incidentId: number | undefined;
        if (alerts.some((a) => a.status === "firing")) incidentId = incidentOf.get(fp)?.id;
        else {
          if (!live.has(fp)) live.set(fp, (await findLiveIncident(trx, fp))?.id);
          incidentId = live.get(fp);
        }
        groups.push({ delivery: i, fp, alerts, incidentId });
      }
    }
    const inserted = new Set(
      (
        await insertAlertsBatch(
          trx,
          groups.flatMap((g) =>
            g.alerts.map((alert) => ({
              deliveryId: ids[g.delivery]!,
              incidentId: g.incidentId ?? null,
              alert,
            })),
          ),
          now,
        )
      ).map((r) => r.idempotency_key),
    );
    await fixRaces(trx, groups, inserted, incidentOf);

    const dropped = new Set<number>();
    for (const r of upserted) {
      if (
        r.inserted &&
        !groups.some((g) => g.incidentId === r.id && g.alerts.some((a) => inserted.has(a.idempotencyKey)))
      )
        dropped.add(r.id);
    }
    await insertEvents(
      trx,
      upserted
        .filter((r) => r.inserted && !dropped.has(r.id))
        .map((r) => {
          const f = firing.get(r.fingerprint)!;
          return {
            incident_id: r.id,
            run_id: null,
            at: now,
            kind: "created",
            message: `new incident from ${f.first.source}: ${f.first.name}${f.first.service ? ` on ${f.first.service}` : ""}`,
            data: { fingerprint: r.fingerprint, delivery: f.delivery },
          };
        }),
    );

    const fresh = items.map(() => 0);
    const out: Stored[] = items.map((_, i) => ({
      deliveryId: ids[i]!,
      accepted: 0,
      duplicates: 0,
      touched: [],
    }));
    const createdFor = new Set<number>();
    for (const g of groups) {
      const kept = g.alerts.filter((a) => inserted.has(a.idempotencyKey));
      fresh[g.delivery]! += kept.length;
      if (g.incidentId === undefined || kept.length === 0) continue; // a resolve for nothing live
      const added = kept.filter((a) => a.status === "firing");
      const created =
        incidentOf.get(g.fp)?.inserted === true && added.length > 0 && !createdFor.has(g.incidentId);
      if (created) createdFor.add(g.incidentId);
      out[g.delivery]!.touched.push({
        id: g.incidentId,
        added: added.length,
        created,
        resolved: added.length === 0,
        messages: added.flatMap(messagesOf),
        prejudged: incidentOf.get(g.fp)?.inserted === true && settling.has(g.fp),
      });
    }
    items.forEach((it, i) => {
      out[i]!.accepted = fresh[i]!;
      out[i]!.duplicates = it.alerts.length - fresh[i]!;
    });
    await setDuplicateCounts(
      trx,
      out
        .filter((o, i) => o.duplicates !== items[i]!.alerts.length - candidates[i]!.length)
        .map((o) => ({ id: o.deliveryId, n: o.duplicates })),
    );
    return { out, inserted };
  });
  // Only now, after the commit: a rolled-back batch must not teach `known` anything. Keys it knew
  // already are not renewed, so every key is checked against the table again within the time to
  // live (the retention purge deletes old alerts; the table stays the authority).
  known.add(found);
  known.add(inserted);
  return out;
}

/**
 * Another instance may have stored one of our candidate keys between the check and the insert:
 * its occurrence was counted here too, so take it back (and drop an incident made only for it).
 */
async function fixRaces(
  trx: Parameters<typeof uncountOccurrences>[0],
  groups: { fp: string; alerts: NormalizedAlert[]; incidentId: number | undefined }[],
  inserted: Set<string>,
  incidentOf: Map<string, { id: number; inserted: boolean }>,
): Promise<void> {
  const lost = new Map<number, number>();
  const kept = new Set<number>();
  for (const g of groups) {
    if (g.incidentId === undefined) continue;
    for (const a of g.alerts) {
      if (inserted.has(a.idempotencyKey)) kept.add(g.incidentId);
      else if (a.status === "firing") lost.set(g.incidentId, (lost.get(g.incidentId) ?? 0) + 1);
    }
  }
  if (lost.size === 0) return;
  const createdHere = new Set([...incidentOf.values()].filter((r) => r.inserted).map((r) => r.id));
  await uncountOccurrences(
    trx,
    [...lost.entries()].map(([id, n]) => ({ id, n, drop: createdHere.has(id) && !kept.has(id) })),
  );
}
