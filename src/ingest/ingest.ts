import type { Source } from "../config/schema.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { settlingReason } from "../incidents/triage.js";
import { type BatchTouch, triageBatch } from "../incidents/triage-batch.js";
import { insertDelivery, isWriteConflict } from "./deliveries.repo.js";
import { groupCommit } from "./group-commit.js";
import { parseDelivery } from "./parsers.js";
import { persist, type Stored, type StoreItem } from "./persist.js";
import { type BodyAlerts, RepeatBodies } from "./repeat-bodies.js";
import { RepeatLedger } from "./repeats.js";
import { StoredKeys } from "./stored-keys.js";

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
      /** An exact repeat: answered from memory, counted on `deliveryId` (the stored delivery it repeats). */
      repeat?: boolean;
    }
  | { kind: "malformed" | "invalid"; deliveryId: number; error: string };

export interface Ingester {
  (req: IngestRequest): Promise<IngestOutcome>;
  /**
   * The answer to an exact repeat known without parsing or waiting: the same body from the same
   * source in this minute, every alert of it committed. Undefined otherwise (then call the ingester).
   */
  repeat(source: Source, body: string): IngestOutcome | undefined;
}

export interface IngesterOptions {
  /** The database is unreachable (the caller answers 503): a failed batch is not split up. */
  unavailable?: (e: unknown) => boolean;
  /** Batches stored at the same time (each on its own connection); 2 unless set. */
  parallel?: number;
  /** Most deliveries and alerts in one transaction. */
  maxDeliveries?: number;
  maxAlerts?: number;
  /** Where exact repeats are counted; the caller flushes and closes it (run.ts). */
  repeats?: RepeatLedger;
}

/**
 * Stores deliveries durably and judges the incidents they touched; the caller answers 202 only
 * after the returned promise resolves. One way down: parse, then the group commit stores the
 * deliveries that arrived together with one `persist` (one statement), then the incidents they
 * touched are judged (incidents/, which may queue a run). A body that cannot be parsed is still
 * stored, with the reason.
 */
export function createIngester(deps: IncidentDeps, opts: IngesterOptions = {}): Ingester {
  const known = new StoredKeys();
  // A new incident is stored already settling (triage.ts), unless nothing settles.
  const firstReason = (at: Date) =>
    deps.config.triage.settleSeconds > 0 ? settlingReason(deps.config, at) : null;
  const bodies = new RepeatBodies();
  // Made on the first repeat when the caller gives none (a one-off ingest never starts a timer).
  let ledger = opts.repeats;
  const repeats = () => {
    if (!ledger) ledger = new RepeatLedger(deps.db, deps.log).start();
    return ledger;
  };
  const commit = groupCommit<StoreItem, Stored>(
    {
      store: (items) => persist(deps.db, items, { known, firstReason }),
      after: (_items, results) => judgeTouched(deps, results),
    },
    {
      maxItems: opts.maxDeliveries ?? 500,
      maxWeight: opts.maxAlerts ?? 5000,
      weight: (it) => it.alerts.length,
      // A resolve's effect depends on what came before it: such deliveries are stored alone, after
      // the batches before them and before the ones after them.
      alone: (it) => it.alerts.some((a) => a.status === "resolved"),
      // Two batches in flight: one is stored while the other waits for its commit's flush (a
      // batch of 50-alert deliveries 1.2–1.3× faster; 4 made distinct alerts slower: smaller batches).
      parallel: opts.parallel ?? 2,
      retryable: isWriteConflict,
      unavailable: opts.unavailable ?? (() => false),
    },
  );
  const store: Store = { commit, known, bodies, repeats };
  return Object.assign((req: IngestRequest) => ingestOne(deps, store, req), {
    repeat: (source: Source, body: string) => knownRepeat(store, source, body, deps.clock.now()),
  });
}

interface Store {
  commit(item: StoreItem): Promise<Stored>;
  known: StoredKeys;
  bodies: RepeatBodies;
  repeats(): RepeatLedger;
}

/**
 * Parses one delivery and stores it: with its alerts through the group commit, or alone when it
 * has none. A delivery whose every alert this process saw committed is an exact repeat (a sender's
 * retry, Alertmanager's repeat notification): it adds no occurrence by the contract, so it is
 * answered at once and only counted on the delivery it repeats (RepeatLedger).
 */
async function ingestOne(deps: IncidentDeps, store: Store, req: IngestRequest): Promise<IngestOutcome> {
  const receivedAt = deps.clock.now();
  const known = knownRepeat(store, req.source, req.body, receivedAt);
  if (known) return known;
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
    const deliveryId = await insertDelivery(deps.db, { ...base, parseError: null, testNotification: true });
    deps.log.info({ delivery: deliveryId, source: req.source }, `test notification: ${parsed.note}`);
    return { kind: "accepted", deliveryId, accepted: 0, duplicates: 0, incidents: [], test: true };
  }
  const alerts: BodyAlerts = {
    keys: parsed.alerts.map((a) => a.idempotencyKey),
    fingerprints: [...new Set(parsed.alerts.map((a) => a.fingerprint))],
  };
  store.bodies.set(req.source, receivedAt, req.body, alerts);
  const repeat = answerRepeat(store, alerts, receivedAt);
  if (repeat) return repeat;
  const stored = await store.commit({ base, alerts: parsed.alerts });
  return {
    kind: "accepted",
    deliveryId: stored.deliveryId,
    accepted: stored.accepted,
    duplicates: stored.duplicates,
    incidents: stored.touched.map((t) => t.id),
    test: false,
  };
}

/** A body parsed before in this minute is a repeat without parsing it again, when its alerts are committed. */
function knownRepeat(
  store: Store,
  source: Source,
  body: string,
  receivedAt: Date,
): IngestOutcome | undefined {
  const seen = store.bodies.get(source, receivedAt, body);
  return seen && answerRepeat(store, seen, receivedAt);
}

/** When every alert's key is known committed: counted on the delivery it repeats, and answered. */
function answerRepeat(store: Store, alerts: BodyAlerts, receivedAt: Date): IngestOutcome | undefined {
  const repeatOf = store.known.repeatOf(alerts.keys);
  if (repeatOf === undefined) return undefined;
  store.repeats().record(repeatOf, receivedAt, alerts.fingerprints);
  return {
    kind: "accepted",
    deliveryId: repeatOf,
    accepted: 0,
    duplicates: alerts.keys.length,
    incidents: [],
    test: false,
    repeat: true,
  };
}

/** One delivery on its own (CLI, tests): a batch of one. */
export async function ingestDelivery(deps: IncidentDeps, req: IngestRequest): Promise<IngestOutcome> {
  return createIngester(deps)(req);
}

/**
 * Judges every incident a batch touched, once per incident (a storm of one problem is judged once
 * a batch, not once a delivery). When that fails, each incident is judged alone, so that only the
 * deliveries that touched a failing one fail.
 */
async function judgeTouched(deps: IncidentDeps, results: Stored[]): Promise<(Error | undefined)[]> {
  const merged = new Map<number, BatchTouch & { deliveries: number[] }>();
  results.forEach((r, i) => {
    for (const t of r.touched) {
      const m = merged.get(t.id);
      if (!m) merged.set(t.id, { ...t, messages: [...t.messages], deliveries: [i] });
      else {
        m.added += t.added;
        m.created ||= t.created;
        m.resolved ||= t.resolved;
        m.fresh ??= t.fresh;
        if (m.messages.length < 50) m.messages.push(...t.messages);
        m.deliveries.push(i);
      }
    }
  });
  const touches = [...merged.values()];
  logCreated(
    deps,
    touches
      .filter((t) => t.created)
      .map((t) => ({ id: t.id, delivery: results[t.deliveries[0]!]!.deliveryId })),
  );
  const errors: (Error | undefined)[] = results.map(() => undefined);
  try {
    await triageBatch(deps, touches);
  } catch {
    for (const t of touches) {
      try {
        await triageBatch(deps, [t]);
      } catch (e) {
        for (const i of t.deliveries) errors[i] = e as Error;
      }
    }
  }
  return errors;
}

/** A line per new incident; a batch that made many (a storm of distinct problems) gets one line. */
function logCreated(deps: IncidentDeps, created: { id: number; delivery: number }[]): void {
  if (created.length <= MAX_CREATED_LINES) {
    for (const c of created)
      deps.log.info({ incident: c.id, delivery: c.delivery, event: "created" }, "new incident");
    return;
  }
  const ids = created.map((c) => c.id);
  deps.log.info(
    {
      // A batch draws its ids together: the range says which (journald cuts long lines).
      incidents: { count: created.length, from: Math.min(...ids), to: Math.max(...ids) },
      deliveries: [...new Set(created.map((c) => c.delivery))].slice(0, 100),
      event: "created",
    },
    `${created.length} new incidents`,
  );
}

const MAX_CREATED_LINES = 5;
