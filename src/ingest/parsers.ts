import type { Source } from "../config/schema.js";
import { parseAlertmanager } from "./sources/alertmanager.js";
import type { DeliveryParser, ParseOptions } from "./sources/common.js";
import { parseGatus } from "./sources/gatus.js";
import { parseGeneric } from "./sources/generic.js";
import { parseGrafana } from "./sources/grafana.js";
import { parseOpenObserve } from "./sources/openobserve.js";
import { parseUptimeKuma } from "./sources/uptime-kuma.js";
import type { NormalizedAlert, ParseResult } from "./types.js";

export type { DeliveryParser, ParseOptions } from "./sources/common.js";

/** One parser per source; the source comes from the URL path, never from sniffing the body. */
export const parsers: Record<Source, DeliveryParser> = {
  openobserve: parseOpenObserve,
  alertmanager: parseAlertmanager,
  grafana: parseGrafana,
  "uptime-kuma": parseUptimeKuma,
  gatus: parseGatus,
  generic: parseGeneric,
};

/**
 * Parses one delivery body of `source`. Never throws. Pass `receivedAt` so that sources whose bodies
 * carry no occurrence time (Gatus, some OpenObserve templates, generic) key occurrences by minute.
 * Alerts repeated within one delivery (same idempotency key) are kept once.
 */
export function parseDelivery(source: Source, body: string, options: ParseOptions = {}): ParseResult {
  const parser = Object.hasOwn(parsers, source) ? parsers[source] : undefined;
  if (!parser) return { kind: "invalid", error: `unknown source "${String(source).slice(0, 50)}"` };
  const result = parser(body, options);
  if (result.kind !== "alerts") return result;
  return { ...result, alerts: uniqueByKey(result.alerts) };
}

function uniqueByKey(alerts: NormalizedAlert[]): NormalizedAlert[] {
  const seen = new Set<string>();
  return alerts.filter((alert) => {
    if (seen.has(alert.idempotencyKey)) return false;
    seen.add(alert.idempotencyKey);
    return true;
  });
}
