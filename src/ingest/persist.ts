import type { Db } from "../db/database.js";
import { previousFromRow, silencesFromJson } from "../incidents/batch.repo.js";
import type { BatchTouch, FreshFacts } from "../incidents/triage-batch.js";
import {
  type CreatedRow,
  type DeliveryInput,
  type Problem,
  type StoredDelivery,
  storeBatch,
} from "./deliveries.repo.js";
import { StoredKeys } from "./stored-keys.js";
import type { NormalizedAlert } from "./types.js";

/** A parsed delivery waiting to be stored. */
export interface StoreItem {
  base: DeliveryInput;
  alerts: NormalizedAlert[];
}

/** What storing one delivery did: its id, its new and duplicate alerts, the incidents they touched. */
export interface Stored {
  deliveryId: number;
  accepted: number;
  duplicates: number;
  touched: BatchTouch[];
}

export interface PersistOptions {
  /** Learns every key of the batch with the stored delivery that carried it. */
  known?: StoredKeys;
  /** The triage reason a new incident first seen at that time is stored with (the settling verdict), or null. */
  firstReason?: (firstSeenAt: Date) => string | null;
}

/** The text `triage.ignore[].message` is matched against. */
const messagesOf = (a: NormalizedAlert) => [a.summary ?? "", ...(a.details.evidence ?? [])].filter(Boolean);

/**
 * Stores a batch of deliveries in one statement (deliveries.repo.ts says what it does) and tells,
 * per delivery in order, what it did. Nothing is read first: which alerts are new is what the
 * insert returns. Then `known` learns every key of the batch with the stored delivery that carried
 * it: a later delivery of nothing but those is a repeat, answered without a statement (ingest.ts).
 * A new incident is stored with its first triage reason, and what triage needs of it comes back
 * with it (`BatchTouch.fresh`).
 */
export async function persist(db: Db, items: StoreItem[], opts: PersistOptions = {}): Promise<Stored[]> {
  const { known = new StoredKeys(), firstReason = () => null } = opts;
  const now = items[0]!.base.receivedAt;
  const problems = problemsOf(items, firstReason(now));
  const stored = await storeBatch(db, {
    deliveries: items.map((it) => ({ ...it.base, alertCount: it.alerts.length })),
    alerts: items.flatMap((it, delivery) => it.alerts.map((alert) => ({ delivery, alert }))),
    problems: [...problems.values()],
    now,
  });
  // Committed: the keys the statement checked against the table are stored now, new or not.
  // Learned only here (a failed batch teaches nothing).
  const keys: string[] = [];
  const deliveries: number[] = [];
  items.forEach((it, i) => {
    for (const a of it.alerts) {
      keys.push(a.idempotencyKey);
      deliveries.push(stored[i]!.id);
    }
  });
  known.add(keys, deliveries);
  const created = new Map(stored.flatMap((d) => d.created.map((c) => [c.id, c] as const)));
  const freshOf = (id: number, fingerprint: string): FreshFacts | undefined => {
    const row = created.get(id);
    const problem = problems.get(fingerprint);
    return row && problem && freshFacts(row, problem, now);
  };
  return items.map((it, i) => summarize(it.alerts, stored[i]!, freshOf));
}

/** One problem per fingerprint that fires in the batch, described by its first firing alert. */
function problemsOf(items: StoreItem[], triageReason: string | null): Map<string, Problem> {
  const byFingerprint = new Map<string, Problem>();
  for (const a of items.flatMap((it) => it.alerts)) {
    if (a.status !== "firing" || byFingerprint.has(a.fingerprint)) continue;
    byFingerprint.set(a.fingerprint, {
      fingerprint: a.fingerprint,
      source: a.source,
      title: a.service ? `${a.name}: ${a.service}` : a.name,
      alertName: a.name,
      service: a.service,
      host: a.host,
      severity: a.severity,
      createdMessage: `new incident from ${a.source}: ${a.name}${a.service ? ` on ${a.service}` : ""}`,
      triageReason,
    });
  }
  return byFingerprint;
}

/** A new incident as the store wrote it (from its problem) and what it read for it (`CreatedRow`). */
function freshFacts(row: CreatedRow, p: Problem, firstSeenAt: Date): FreshFacts {
  return {
    incident: {
      id: row.id,
      state: "open",
      fingerprint: p.fingerprint,
      service: p.service,
      alert_name: p.alertName,
      title: p.title,
      first_seen_at: firstSeenAt,
      previous_incident_id: row.prev_id,
      triage_reason: p.triageReason,
    },
    previous: previousFromRow(row),
    silences: silencesFromJson(row.silences),
  };
}

/** A delivery's new alerts, grouped by the incident they went to (a resolve for nothing live goes nowhere). */
function summarize(
  alerts: NormalizedAlert[],
  stored: StoredDelivery,
  freshOf: (id: number, fingerprint: string) => FreshFacts | undefined,
): Stored {
  const byKey = new Map(alerts.map((a) => [a.idempotencyKey, a]));
  const touched = new Map<number, BatchTouch>();
  for (const row of stored.inserted) {
    const alert = byKey.get(row.key)!;
    if (row.incident === null) continue;
    const t = touched.get(row.incident) ?? {
      id: row.incident,
      added: 0,
      created: row.created,
      resolved: false,
      messages: [],
      fresh: row.created ? freshOf(row.incident, alert.fingerprint) : undefined,
    };
    touched.set(row.incident, t);
    if (alert.status === "firing") {
      t.added++;
      t.messages.push(...messagesOf(alert));
    }
  }
  // Only resolves: the source says the problem is over.
  for (const t of touched.values()) t.resolved = t.added === 0;
  return {
    deliveryId: stored.id,
    accepted: stored.inserted.length,
    duplicates: alerts.length - stored.inserted.length,
    touched: [...touched.values()],
  };
}
