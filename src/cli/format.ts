import type { TokenStats } from "../agent/events.js";
import type { Incident } from "../db/tables.js";
import type { HostView } from "../hosts/registry.js";
import type { incidentDetail } from "../incidents/actions.js";
import { formatCost } from "../incidents/triage.js";
import { outcomeLabel } from "../runs/outcome-label.js";
import { tokensText } from "../runs/pr-body.js";

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString().replace(/\.\d{3}Z$/, "Z") : "-");

/** A plain table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** `homelab-healer incidents`: id, state, service, title, occurrences, last seen, PR. */
export function incidentsTable(incidents: Incident[]): string {
  if (incidents.length === 0) return "no incidents\n";
  return table(
    ["ID", "STATE", "SERVICE", "TITLE", "OCC", "LAST SEEN", "PR"],
    incidents.map((i) => [
      String(i.id),
      i.state,
      i.service ?? "-",
      i.title.length > 50 ? `${i.title.slice(0, 49)}…` : i.title,
      String(i.occurrences),
      iso(i.last_seen_at),
      i.pr_url ?? (i.state === "pr_open" ? "dry run (see incident)" : "-"),
    ]),
  );
}

/** Seconds as the largest whole unit: 45s, 12m, 3h, 2d. */
function age(seconds: number | null): string {
  if (seconds === null) return "-";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** `homelab-healer hosts`: host, revision, source, age, status, behind the branch, waiting incidents. */
export function hostsTable(hosts: HostView[]): string {
  if (hosts.length === 0) return "no known hosts (none reported a deployment, none is under hosts.*)\n";
  return table(
    ["HOST", "REVISION", "SOURCE", "AGE", "STATUS", "BEHIND", "WAITING"],
    hosts.map((h) => [
      h.host,
      h.revision
        ? `${h.revision.slice(0, 12)}${h.revision.endsWith("-dirty") ? "-dirty" : ""}${h.known === false ? " (unknown)" : ""}`
        : "-",
      h.source ?? (h.configured ? "inspect" : "-"),
      age(h.ageSeconds),
      h.lastReport?.status ?? "-",
      h.behind !== null ? String(h.behind) : h.drift.kind === "not_on_branch" ? "not on branch" : "?",
      h.waiting.length > 0 ? h.waiting.map((w) => `#${w.id}`).join(",") : "-",
    ]),
  );
}

/** `homelab-healer incident ID`: the incident, triage reason, alerts, runs, PRs, events. */
export function incidentText(d: Awaited<ReturnType<typeof incidentDetail>>): string {
  const i = d.incident;
  const out = [
    `Incident ${i.id}: ${i.title}`,
    `  state        ${i.state}${i.triage_reason ? ` — ${i.triage_reason}` : ""}`,
    `  service      ${i.service ?? "-"} on ${i.host ?? "-"} (${i.source}, ${i.alert_name}, severity ${i.severity ?? "-"})`,
    `  occurrences  ${i.occurrences}, first ${iso(i.first_seen_at)}, last ${iso(i.last_seen_at)}`,
    `  fingerprint  ${i.fingerprint}${i.previous_incident_id ? `, previous incident ${i.previous_incident_id}` : ""}`,
    `  PR           ${i.pr_url ?? "-"}${i.pr_state ? ` (${i.pr_state})` : ""}${i.branch ? `, branch ${i.branch}` : ""}`,
    "",
    "Recent alerts:",
    ...d.alerts.recent.map(
      (a) =>
        `  ${iso(a.receivedAt)} ${a.status.padEnd(8)} ${a.summary ?? ""}${a.evidence[0] ? ` | ${a.evidence[0]}` : ""}`,
    ),
    "",
    "Runs:",
    ...(d.runs.length === 0
      ? ["  none"]
      : d.runs.map(
          (r) =>
            `  #${r.id} ${r.kind} ${r.state}${r.outcome ? `/${outcomeLabel(r.outcome)}` : ""} attempt ${r.attempt}/${r.max_attempts} ${r.branch}${r.pr_url ? ` ${r.pr_url}` : ""}${r.error ? ` — ${r.error}` : ""}\n` +
            `      agent: model ${r.model ?? "-"}; ${tokensText(runTokens(r))}; cost ${formatCost(Number(r.cost ?? 0))}`,
        )),
    ...(d.runs.length > 0
      ? [
          `  total: ${tokensText(sumTokens(d.runs.map(runTokens)))}; cost ${formatCost(d.runs.reduce((s, r) => s + Number(r.cost ?? 0), 0))}`,
        ]
      : []),
    "",
    "Events:",
    ...d.events.map((e) => `  ${iso(e.at)} ${e.kind.padEnd(14)} ${e.message}`),
  ];
  return `${out.join("\n")}\n`;
}

type UsageColumns = {
  tokens_input?: number | null;
  tokens_output?: number | null;
  tokens_reasoning?: number | null;
  tokens_cache_read?: number | null;
  tokens_cache_write?: number | null;
};

/** A run row's token columns (as numbers: JSON over the API keeps them so). */
function runTokens(r: UsageColumns): TokenStats {
  return {
    input: Number(r.tokens_input ?? 0),
    output: Number(r.tokens_output ?? 0),
    reasoning: Number(r.tokens_reasoning ?? 0),
    cacheRead: Number(r.tokens_cache_read ?? 0),
    cacheWrite: Number(r.tokens_cache_write ?? 0),
  };
}

function sumTokens(all: TokenStats[]): TokenStats {
  const total: TokenStats = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 };
  for (const t of all) for (const k of Object.keys(total) as (keyof TokenStats)[]) total[k] += t[k];
  return total;
}
