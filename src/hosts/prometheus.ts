import { checkReport, isProblem, type Report } from "./report.js";

/** `deploy.prometheus` of the config. */
export interface PrometheusSource {
  url: string;
  query: string;
  hostLabel: string;
  revisionLabel: string;
}

/** What one query gave: the reports, the series it skipped (and why), or why it failed as a whole. */
export type PrometheusAnswer =
  | { ok: true; reports: Report[]; skipped: string[] }
  | { ok: false; error: string };

interface Sample {
  metric?: Record<string, unknown>;
}

/**
 * Runs the instant query (`GET /api/v1/query`) and reads one report per series: the host from
 * `hostLabel`, else `instance` without its port; the revision from `revisionLabel`; the status from
 * a `status` label when it is done/failed, else done. Never throws: a Prometheus that is down or
 * answers garbage is `ok: false`, and the caller keeps the revisions it knew.
 */
export async function queryPrometheus(
  source: PrometheusSource,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PrometheusAnswer> {
  const url = new URL("api/v1/query", source.url.endsWith("/") ? source.url : `${source.url}/`);
  url.searchParams.set("query", source.query);
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 10_000), ...(opts.signal ? [opts.signal] : [])];
  let body: unknown;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.any(signals),
      headers: { accept: "application/json" },
    });
    const text = await res.text();
    if (!res.ok) return { ok: false, error: `HTTP ${res.status} from ${url.origin}: ${text.slice(0, 200)}` };
    body = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${url.origin}: ${(e as Error).message}` };
  }
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (b?.status !== "success" || b.data?.resultType !== "vector" || !Array.isArray(b.data.result)) {
    return { ok: false, error: `${url.origin}: not a Prometheus vector answer` };
  }
  const reports: Report[] = [];
  const skipped: string[] = [];
  for (const sample of b.data.result as Sample[]) {
    const labels = sample?.metric ?? {};
    const label = (name: string) => (typeof labels[name] === "string" ? (labels[name] as string) : undefined);
    const host = label(source.hostLabel) ?? label("instance");
    const revision = label(source.revisionLabel);
    if (host === undefined || revision === undefined) {
      skipped.push(`a series without ${host === undefined ? source.hostLabel : source.revisionLabel}`);
      continue;
    }
    const status = label("status");
    const r = checkReport({
      host,
      revision,
      status: status === "failed" ? "failed" : "done",
      source: "prometheus",
    });
    if (isProblem(r)) skipped.push(`${JSON.stringify(host)}: ${r.field} ${r.message}`);
    else reports.push(r);
  }
  return { ok: true, reports, skipped };
}
