import { z } from "zod";
import { hashIdentity } from "../fingerprint.js";
import type { NormalizedAlert, ParseResult } from "../types.js";
import {
  cleanText,
  type DeliveryParser,
  describeIssues,
  hostOf,
  isForbiddenKey,
  LIMITS,
  looksLikeUnit,
  neverThrows,
  optText,
  parseJson,
  parseTime,
  safeLabels,
} from "./common.js";

/*
 * Alertmanager webhook v4 (research/alert-formats.md §2); Grafana's v1 adds fields (grafana.ts).
 * One NormalizedAlert per `alerts[]` entry, with that entry's own status (never the group's, §7.5).
 * Fingerprint: [source, externalURL, orgId (Grafana; else null), alerts[].fingerprint] — the sender's
 * label hash is stable across firing, resolved and repeats (§7.4). Idempotency key: [source, our
 * fingerprint, status, startsAt, endsAt or ""] (§7.3), so a repeat notification is a duplicate. The key
 * is built on our fingerprint, not the sender's label hash, so it is scoped exactly like the incident:
 * two Alertmanagers (or Grafana orgs) sending the same labels and startsAt are two occurrences, not
 * one delivery retried.
 *
 * service: the first present of the labels `unit`, `systemd_unit`, `name` (node-exporter's systemd
 * collector; only when it looks like a unit, since `name` means anything elsewhere) and `service`.
 * `job` is not used: it names the scrape job (the exporter, "node"), not the thing that broke.
 * host: `host`, `hostname` or `nodename` when the rule sets one, else `instance` without its port.
 */

const KV = z.record(z.string(), z.string());

/** The per-alert fields both senders share. */
export const AlertSchema = z.looseObject({
  status: z.enum(["firing", "resolved"]),
  labels: KV,
  annotations: KV.optional(),
  startsAt: z.string().max(64),
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(200),
});
export type AmAlert = z.infer<typeof AlertSchema>;

/** The group fields both senders share. */
export const GroupFields = {
  receiver: z.string().optional(),
  status: z.string().optional(),
  externalURL: z.string().max(2000),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().optional(),
};

const WebhookSchema = z.looseObject({
  ...GroupFields,
  version: z.string().optional(),
  alerts: z.array(AlertSchema),
});
type Webhook = z.infer<typeof WebhookSchema>;

const ZERO_TIME = "0001-01-01T00:00:00Z";
const SERVICE_LABELS = ["unit", "systemd_unit", "name", "service"] as const;
const HOST_LABELS = ["host", "hostname", "nodename"] as const;

function serviceOf(labels: Record<string, string>): string | null {
  for (const key of SERVICE_LABELS) {
    const value = labels[key]?.trim();
    if (!value) continue;
    if (key === "name" && !looksLikeUnit(value)) continue;
    return cleanText(value, LIMITS.nameChars);
  }
  return null;
}

function hostFromLabels(labels: Record<string, string>): string | null {
  for (const key of HOST_LABELS) {
    const host = hostOf(labels[key]);
    if (host) return host;
  }
  return hostOf(labels.instance);
}

/** Annotations kept in details: capped like labels, evidence-length values. */
function annotationsOf(annotations: Record<string, string> | undefined): Record<string, string> {
  const entries: [string, string][] = [];
  for (const [rawKey, value] of Object.entries(annotations ?? {}).slice(0, 50)) {
    // Checked after cleaning: "__proto__\u0000" cleans to "__proto__".
    const key = cleanText(rawKey, LIMITS.labelKeyChars);
    if (!isForbiddenKey(key)) entries.push([key, cleanText(value, LIMITS.evidenceChars)]);
  }
  return Object.fromEntries(entries);
}

/** Everything a sender-specific wrapper adds to one alert. */
export interface AlertExtras {
  source: "alertmanager" | "grafana";
  orgId: number | null;
  details: Record<string, unknown>;
  summaryKeys: readonly string[];
}

/** One Alertmanager-shaped alert entry as a NormalizedAlert. */
export function normalizeAmAlert(
  group: Webhook | Omit<Webhook, "alerts">,
  alert: AmAlert,
  extras: AlertExtras,
) {
  const labels = safeLabels(alert.labels);
  const annotations = annotationsOf(alert.annotations);
  const endsAt = alert.endsAt && alert.endsAt !== ZERO_TIME ? alert.endsAt : "";
  const summaryKey = extras.summaryKeys.find((key) => optText(annotations[key]));
  const fingerprint = hashIdentity([extras.source, group.externalURL, extras.orgId, alert.fingerprint]);
  const normalized: NormalizedAlert = {
    source: extras.source,
    status: alert.status,
    fingerprint,
    idempotencyKey: hashIdentity([extras.source, fingerprint, alert.status, alert.startsAt, endsAt]),
    name: optText(labels.alertname) ?? "alert",
    service: serviceOf(labels),
    host: hostFromLabels(labels),
    severity: optText(labels.severity, 50),
    summary: summaryKey ? optText(annotations[summaryKey], LIMITS.summaryChars) : null,
    details: {
      externalURL: cleanText(group.externalURL, 2000),
      receiver: optText(group.receiver),
      groupKey: optText(group.groupKey, 2000),
      senderFingerprint: cleanText(alert.fingerprint, 200),
      generatorURL: optText(alert.generatorURL, 2000),
      endsAt: endsAt === "" ? null : (parseTime(endsAt)?.toISOString() ?? null),
      annotations,
      ...extras.details,
    },
    labels,
    startsAt: parseTime(alert.startsAt),
  };
  return normalized;
}

/** JSON-parse and validate with `schema`; malformed/invalid results name the problem. */
export function parseWith<T>(
  body: string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; result: ParseResult } {
  const json = parseJson(body);
  if (!json.ok) return { ok: false, result: { kind: "malformed", error: json.error } };
  const parsed = schema.safeParse(json.value);
  if (!parsed.success) return { ok: false, result: { kind: "invalid", error: describeIssues(parsed.error) } };
  return { ok: true, value: parsed.data };
}

/** Prometheus Alertmanager webhook (payload version 4). */
export const parseAlertmanager: DeliveryParser = neverThrows((body) => {
  const parsed = parseWith(body, WebhookSchema);
  if (!parsed.ok) return parsed.result;
  const group = parsed.value;
  const extras: AlertExtras = {
    source: "alertmanager",
    orgId: null,
    details: {},
    summaryKeys: ["summary", "description", "message"],
  };
  return {
    kind: "alerts",
    alerts: group.alerts.map((a) => normalizeAmAlert(group, a, extras)),
    repaired: false,
  };
});
