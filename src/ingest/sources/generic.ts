import { z } from "zod";
import { hashIdentity, receivedMinute } from "../fingerprint.js";
import type { NormalizedAlert, ParseResult } from "../types.js";
import {
  cleanText,
  type DeliveryParser,
  describeIssues,
  isRecord,
  LIMITS,
  neverThrows,
  optText,
  type ParseOptions,
  parseJson,
  safeLabels,
  sanitizeJson,
} from "./common.js";

/*
 * `POST /hooks/generic`: our own format for scripts and anything without a parser (docs/generic.md).
 *   { "alerts": [ Alert, … ] }  or a single Alert, where Alert is
 *   { "name": string,                        required: the alert rule name
 *     "status"?: "firing" | "resolved",      default "firing"
 *     "service"?, "host"?, "severity"?, "summary"?: string
 *     "fingerprint"?: string,                the problem identity; default name + service + host
 *     "labels"?: { string: string },
 *     "details"?: object,                    free JSON (≤ 16 levels, ≤ 5000 values); "evidence": [string]
 *     "startsAt"?: RFC 3339 time,
 *     "idempotencyKey"?: string }            the occurrence; default fingerprint + status + startsAt
 * Unknown keys are refused (422), so a typo never silently drops a field.
 * Without startsAt or idempotencyKey, the occurrence is the received minute.
 */

const AlertSchema = z.strictObject({
  name: z.string().trim().min(1).max(LIMITS.nameChars),
  status: z.enum(["firing", "resolved"]).optional(),
  service: z.string().max(LIMITS.nameChars).nullish(),
  host: z.string().max(253).nullish(),
  severity: z.string().max(50).nullish(),
  summary: z.string().nullish(),
  fingerprint: z.string().min(1).max(500).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  startsAt: z.iso.datetime({ offset: true }).optional(),
  idempotencyKey: z.string().min(1).max(500).optional(),
});
type GenericAlert = z.infer<typeof AlertSchema>;

const BatchSchema = z.strictObject({ alerts: z.array(AlertSchema).min(1).max(1000) });

const DETAIL_BOUNDS = { maxDepth: 16, maxNodes: 5000, maxString: LIMITS.evidenceChars };

function evidenceOf(details: Record<string, unknown>): string[] | undefined {
  const evidence = details.evidence;
  if (!Array.isArray(evidence)) return undefined;
  return evidence
    .filter((line): line is string => typeof line === "string")
    .slice(0, LIMITS.evidenceLines)
    .map((line) => cleanText(line, LIMITS.evidenceChars));
}

function normalize(input: GenericAlert, path: string, options: ParseOptions): NormalizedAlert | string {
  const details = sanitizeJson(input.details ?? {}, DETAIL_BOUNDS);
  if (!isRecord(details)) return `${path}details: deeper than 16 levels or more than 5000 values`;
  const evidence = evidenceOf(details);
  if (evidence) details.evidence = evidence;
  else delete details.evidence;
  const status = input.status ?? "firing";
  const service = optText(input.service);
  const host = optText(input.host, 253);
  const fingerprint = hashIdentity(
    input.fingerprint !== undefined
      ? ["generic", input.fingerprint]
      : ["generic", input.name, service ?? "", host ?? ""],
  );
  const occurrence =
    input.startsAt ??
    (options.receivedAt
      ? receivedMinute(options.receivedAt)
      : `content:${hashIdentity([input.summary ?? "", details])}`);
  return {
    source: "generic",
    status,
    fingerprint,
    idempotencyKey: hashIdentity(
      input.idempotencyKey !== undefined
        ? ["generic", input.idempotencyKey]
        : ["generic", fingerprint, status, occurrence],
    ),
    name: cleanText(input.name, LIMITS.nameChars),
    service,
    host,
    severity: optText(input.severity, 50),
    summary: optText(input.summary, LIMITS.summaryChars),
    details: details as NormalizedAlert["details"],
    labels: safeLabels(input.labels),
    startsAt: input.startsAt ? new Date(input.startsAt) : null,
  };
}

/** Our own generic alert format: a single alert or `{ "alerts": [...] }`. */
export const parseGeneric: DeliveryParser = neverThrows((body, options = {}): ParseResult => {
  const json = parseJson(body);
  if (!json.ok) return { kind: "malformed", error: json.error };
  const batch = isRecord(json.value) && "alerts" in json.value;
  const parsed = batch ? BatchSchema.safeParse(json.value) : AlertSchema.safeParse(json.value);
  if (!parsed.success) return { kind: "invalid", error: describeIssues(parsed.error) };
  const inputs = "alerts" in parsed.data ? parsed.data.alerts : [parsed.data];
  const alerts: NormalizedAlert[] = [];
  for (const [index, input] of inputs.entries()) {
    const alert = normalize(input, batch ? `alerts.${index}.` : "", options);
    if (typeof alert === "string") return { kind: "invalid", error: alert };
    alerts.push(alert);
  }
  return { kind: "alerts", alerts, repaired: false };
});
