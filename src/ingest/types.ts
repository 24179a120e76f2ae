import type { Source } from "../config/schema.js";

/** One alert occurrence, as every source parser returns it. */
export interface NormalizedAlert {
  source: Source;
  status: "firing" | "resolved";
  /** 16 hex: stable hash of the problem identity (research/alert-formats.md §7.4). */
  fingerprint: string;
  /** 16+ hex: identity of this occurrence; a retried or repeated delivery yields the same key. */
  idempotencyKey: string;
  /** Alert rule name (alertname, OpenObserve alert name, monitor name…). */
  name: string;
  /** systemd unit or service, where the source knows it. */
  service: string | null;
  host: string | null;
  severity: string | null;
  /** One line for humans. */
  summary: string | null;
  /** Source-specific detail; `evidence` holds log lines (untrusted text), capped. */
  details: Record<string, unknown> & { evidence?: string[] };
  labels: Record<string, string>;
  startsAt: Date | null;
}

/** What a source parser makes of one delivery body. */
export type ParseResult =
  | { kind: "alerts"; alerts: NormalizedAlert[]; repaired: boolean }
  /** A sender's test notification: accepted and logged, never an incident. */
  | { kind: "test"; note: string }
  /** Not JSON at all (after the tolerant repair where the source needs it): HTTP 400. */
  | { kind: "malformed"; error: string }
  /** Valid JSON of the wrong shape: HTTP 422. */
  | { kind: "invalid"; error: string };

/** A source parser: raw body text in, alerts out. Pure; never throws. */
export type SourceParser = (body: string) => ParseResult;
