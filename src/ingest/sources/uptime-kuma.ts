import { z } from "zod";
import { hashIdentity } from "../fingerprint.js";
import type { NormalizedAlert, ParseResult } from "../types.js";
import { parseWith } from "./alertmanager.js";
import {
  cleanText,
  type DeliveryParser,
  hostOf,
  isForbiddenKey,
  isRecord,
  LIMITS,
  neverThrows,
  optText,
  parseTime,
} from "./common.js";
import { certificateNoticeAlert, readCertificateNotice } from "./uptime-kuma-certificate.js";

/*
 * Uptime Kuma webhook, default JSON body (research/alert-formats.md §4). heartbeat.status: 0 DOWN →
 * firing, 1 UP → resolved; 2 PENDING (still retrying, not down yet) and 3 MAINTENANCE are accepted with
 * no alert (`alerts: []`): neither is a problem nor the end of one. Fingerprint ["uptime-kuma",
 * monitor id] (the reference normaliser's identity; one Kuma per homelab, so no instance part).
 * Idempotency key ["uptime-kuma", monitor id, heartbeat.time, status] (§7.3): a resend while down has a
 * new time. With monitor and heartbeat both null the body is the "Test" button or a certificate-expiry
 * notice. A notice in Kuma's format names its monitor and URL in the text and becomes an alert of its own
 * (uptime-kuma-certificate.ts); the test button, and a notice whose text does not match, stay a note
 * (`test`), never an incident. A certificate notice that carries its monitor object but not the format
 * is keyed by monitor id (["uptime-kuma", id, "certificate"]).
 * service = monitor name; host = a "host" tag, else monitor.hostname, else the URL's host.
 */

const HeartbeatSchema = z.looseObject({
  monitorID: z.number().int(),
  status: z.number().int().min(0).max(3),
  time: z.string().max(64),
  msg: z.string().optional(),
});

const MonitorSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  type: z.string().optional(),
  url: z.string().nullish(),
  hostname: z.string().nullish(),
  pathName: z.string().nullish(),
  tags: z.array(z.unknown()).optional(),
});

const KumaSchema = z.looseObject({
  msg: z.string(),
  heartbeat: HeartbeatSchema.nullable(),
  monitor: MonitorSchema.nullable(),
});

type Monitor = z.infer<typeof MonitorSchema>;

const CERTIFICATE = /certificate .{0,300}expire/i;

/** Monitor tags as labels (`name` → `value`); the "host" tag also names the host. */
function tagLabels(monitor: Monitor | null): Record<string, string> {
  const entries: [string, string][] = [];
  for (const tag of (monitor?.tags ?? []).slice(0, LIMITS.labelCount)) {
    if (!isRecord(tag) || typeof tag.name !== "string") continue;
    // Checked after cleaning: "__proto__\u0000" cleans to "__proto__".
    const name = cleanText(tag.name, LIMITS.labelKeyChars);
    if (!isForbiddenKey(name))
      entries.push([name, typeof tag.value === "string" ? cleanText(tag.value, 200) : ""]);
  }
  return Object.fromEntries(entries);
}

function hostOfMonitor(monitor: Monitor | null, labels: Record<string, string>): string | null {
  return hostOf(labels.host) ?? hostOf(monitor?.hostname) ?? hostOf(monitor?.url);
}

function withoutMonitor(msg: string): ParseResult {
  const text = cleanText(msg, 200);
  if (CERTIFICATE.test(text)) {
    return {
      kind: "test",
      note: `Uptime Kuma certificate notice not in the "[monitor][url] … certificate … will expire in N days" format, so it names no monitor and is not an incident: ${text}`,
    };
  }
  return {
    kind: "test",
    note: `Uptime Kuma notification without monitor or heartbeat (test button): ${text}`,
  };
}

/** A certificate-expiry notice that names its monitor: its own problem, apart from the monitor being down. */
function certificateAlert(msg: string, monitor: Monitor): ParseResult {
  const labels = tagLabels(monitor);
  const name = cleanText(monitor.name, LIMITS.nameChars);
  const summary = cleanText(msg, LIMITS.summaryChars);
  const alert: NormalizedAlert = {
    source: "uptime-kuma",
    status: "firing",
    fingerprint: hashIdentity(["uptime-kuma", monitor.id, "certificate"]),
    idempotencyKey: hashIdentity(["uptime-kuma", monitor.id, "certificate", msg]),
    name: `${name} certificate`,
    service: name,
    host: hostOfMonitor(monitor, labels),
    severity: "warning",
    summary,
    details: { monitorId: monitor.id, url: optText(monitor.url, 2000), evidence: [summary] },
    labels,
    startsAt: null,
  };
  return { kind: "alerts", alerts: [alert], repaired: false };
}

/** Uptime Kuma webhook notification (JSON body). */
export const parseUptimeKuma: DeliveryParser = neverThrows((body, options = {}) => {
  const parsed = parseWith(body, KumaSchema);
  if (!parsed.ok) return parsed.result;
  const { msg, heartbeat, monitor } = parsed.value;
  if (!heartbeat) {
    const notice = readCertificateNotice(msg);
    if (notice) {
      const alert = certificateNoticeAlert(msg, notice, tagLabels(monitor), options.receivedAt);
      return { kind: "alerts", alerts: [alert], repaired: false };
    }
    return monitor && CERTIFICATE.test(msg) ? certificateAlert(msg, monitor) : withoutMonitor(msg);
  }
  if (heartbeat.status >= 2) return { kind: "alerts", alerts: [], repaired: false };
  const monitorId = monitor?.id ?? heartbeat.monitorID;
  const labels = tagLabels(monitor);
  const status = heartbeat.status === 0 ? "firing" : "resolved";
  const name = optText(monitor?.name) ?? `monitor ${monitorId}`;
  const alert: NormalizedAlert = {
    source: "uptime-kuma",
    status,
    fingerprint: hashIdentity(["uptime-kuma", monitorId]),
    idempotencyKey: hashIdentity(["uptime-kuma", monitorId, heartbeat.time, heartbeat.status]),
    name,
    service: name,
    host: hostOfMonitor(monitor, labels),
    severity: null,
    summary: optText(msg, LIMITS.summaryChars),
    details: {
      monitorId,
      monitorType: optText(monitor?.type, 50),
      url: optText(monitor?.url, 2000),
      pathName: optText(monitor?.pathName),
      heartbeatMsg: optText(heartbeat.msg, LIMITS.evidenceChars),
      time: cleanText(heartbeat.time, 64),
    },
    labels,
    startsAt: status === "firing" ? parseTime(heartbeat.time) : parseTime(heartbeat.lastDownTime),
  };
  return { kind: "alerts", alerts: [alert], repaired: false };
});
