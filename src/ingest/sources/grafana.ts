import { z } from "zod";
import {
  type AlertExtras,
  AlertSchema,
  type AmAlert,
  GroupFields,
  normalizeAmAlert,
  parseWith,
} from "./alertmanager.js";
import { cleanText, type DeliveryParser, neverThrows, optText } from "./common.js";

/*
 * Grafana unified-alerting webhook (version "1", research/alert-formats.md §3): the Alertmanager shape
 * plus orgId, title, message, state and per-alert URLs and values. The fingerprint adds orgId to the
 * identity, since one Grafana serves several orgs. title, message, values and the dashboard/panel URLs
 * are volatile (`to=<now>`), so they go to details only.
 */

const GrafanaAlertSchema = AlertSchema.extend({
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  ruleUID: z.string().optional(),
  values: z.record(z.string(), z.number()).nullish(),
  valueString: z.string().optional(),
  orgId: z.number().int().optional(),
});

const GrafanaSchema = z.looseObject({
  ...GroupFields,
  version: z.string().optional(),
  orgId: z.number().int().optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  alerts: z.array(GrafanaAlertSchema),
});

/**
 * The contact point "Test" button sends one alert labelled alertname=TestAlert, instance=Grafana and
 * annotated summary="Notification test" (Grafana's testreceivers defaults). Users can change the labels
 * of a custom test, so either the instance or the summary is enough next to the alert name.
 */
function isTestAlert(alert: AmAlert): boolean {
  return (
    alert.labels.alertname === "TestAlert" &&
    (alert.labels.instance === "Grafana" || alert.annotations?.summary === "Notification test")
  );
}

function valuesOf(values: Record<string, number> | null | undefined): Record<string, number> | null {
  if (!values) return null;
  const entries = Object.entries(values).slice(0, 20);
  return Object.fromEntries(entries.map(([key, value]) => [cleanText(key, 100), value]));
}

/** Grafana webhook contact point (version 1). */
export const parseGrafana: DeliveryParser = neverThrows((body) => {
  const parsed = parseWith(body, GrafanaSchema);
  if (!parsed.ok) return parsed.result;
  const group = parsed.value;
  if (group.alerts.length > 0 && group.alerts.every(isTestAlert)) {
    return { kind: "test", note: "Grafana contact point test (alertname TestAlert)" };
  }
  const alerts = group.alerts.map((alert) => {
    const extras: AlertExtras = {
      source: "grafana",
      orgId: alert.orgId ?? group.orgId ?? null,
      summaryKeys: ["summary", "description", "message"],
      details: {
        orgId: alert.orgId ?? group.orgId ?? null,
        ruleUID: optText(alert.ruleUID),
        values: valuesOf(alert.values),
        dashboardURL: optText(alert.dashboardURL, 2000),
        panelURL: optText(alert.panelURL, 2000),
        silenceURL: optText(alert.silenceURL, 2000),
      },
    };
    return normalizeAmAlert(group, alert, extras);
  });
  return { kind: "alerts", alerts, repaired: false };
});
