import { z } from "zod";
import { hashIdentity, receivedMinute } from "../fingerprint.js";
import type { NormalizedAlert } from "../types.js";
import { parseWith } from "./alertmanager.js";
import { cleanText, type DeliveryParser, hostOf, LIMITS, neverThrows, optText } from "./common.js";

/*
 * Gatus `alerting.custom` with the body recommended in research/alert-formats.md §5:
 * {"state":"[ALERT_TRIGGERED_OR_RESOLVED]","group","endpoint","url","description","errors","conditions"}.
 * TRIGGERED → firing, RESOLVED → resolved (also "firing"/"resolved", any case, for remapped placeholders).
 * Fingerprint ["gatus", group, endpoint, description] (§7.4). Gatus sends no occurrence id, so the key is
 * ["gatus", fingerprint, state, received minute] (§7.3); without a received time, the errors text.
 * name: "group/endpoint" (or the endpoint); service: the endpoint; host: the URL's host.
 */

const GatusSchema = z.looseObject({
  state: z.string().max(50),
  group: z.string().max(500).optional(),
  endpoint: z.string().min(1).max(500),
  url: z.string().optional(),
  description: z.string().max(2000).optional(),
  errors: z.string().optional(),
  conditions: z.string().optional(),
});

const STATES: Record<string, "firing" | "resolved"> = {
  triggered: "firing",
  firing: "firing",
  resolved: "resolved",
};

/** Gatus custom alerting provider. */
export const parseGatus: DeliveryParser = neverThrows((body, options = {}) => {
  const parsed = parseWith(body, GatusSchema);
  if (!parsed.ok) return parsed.result;
  const value = parsed.value;
  const status = Object.hasOwn(STATES, value.state.toLowerCase())
    ? STATES[value.state.toLowerCase()]
    : undefined;
  if (!status) {
    return {
      kind: "invalid",
      error: `state: expected TRIGGERED or RESOLVED, got "${cleanText(value.state, 50)}"`,
    };
  }
  const group = value.group ?? "";
  const description = value.description ?? "";
  const fingerprint = hashIdentity(["gatus", group, value.endpoint, description]);
  const errors = optText(value.errors, LIMITS.evidenceChars);
  const occurrence = options.receivedAt
    ? receivedMinute(options.receivedAt)
    : `content:${hashIdentity([value.errors ?? "", value.conditions ?? ""])}`;
  const alert: NormalizedAlert = {
    source: "gatus",
    status,
    fingerprint,
    idempotencyKey: hashIdentity(["gatus", fingerprint, status, occurrence]),
    name: cleanText(group === "" ? value.endpoint : `${group}/${value.endpoint}`, LIMITS.nameChars),
    service: cleanText(value.endpoint, LIMITS.nameChars),
    host: hostOf(value.url),
    severity: null,
    summary: optText(description, LIMITS.summaryChars) ?? optText(errors, LIMITS.summaryChars),
    details: {
      group: optText(group),
      url: optText(value.url, 2000),
      errors,
      conditions: optText(value.conditions, LIMITS.evidenceChars),
      evidence: errors ? [errors] : [],
    },
    labels: {},
    startsAt: null,
  };
  return { kind: "alerts", alerts: [alert], repaired: false };
});
