import { html } from "hono/html";
import { INCIDENT_STATES, type Incident, type IncidentState } from "../db/tables.js";
import type { CheckResult } from "../preflight/types.js";
import { type Html, money, serviceLink, state, time } from "./format.js";
import { page } from "./layout.js";
import type { Session } from "./session.js";

/** A host and the revision it runs: filled by the deployments part once it lands (see `hostsPanel`). */
export interface HostRow {
  host: string;
  revision: string | null;
  at: Date | null;
  status?: string | null;
}

export interface HomeData {
  session: Session;
  counts: { state: IncidentState; n: number }[];
  incidents: Incident[];
  filter: { state?: IncidentState | undefined; q?: string | undefined };
  page: number;
  hasNext: boolean;
  budget: { runs: number; maxRuns: number; cost: number; maxCost?: number | undefined };
  preflight: CheckResult[] | undefined;
  /** Undefined until deployed revisions are known to the service: the panel is then left out. */
  hosts?: HostRow[] | undefined;
}

/** The one line on top: all quiet, or what needs the owner, what is being fixed, what waits. */
export function bannerLine(counts: HomeData["counts"]): { text: string; tone: "quiet" | "busy" | "alarm" } {
  const n = (...states: IncidentState[]) =>
    counts.filter((c) => states.includes(c.state)).reduce((a, c) => a + c.n, 0);
  const need = n("needs_human");
  const fixing = n("fixing");
  const waiting = n("pr_open", "verifying");
  if (need + fixing + waiting === 0) return { text: "All quiet", tone: "quiet" };
  const parts = [
    need ? `${need} incident${need === 1 ? "" : "s"} need${need === 1 ? "s" : ""} you` : "",
    fixing ? `${fixing} fixing` : "",
    waiting ? `${waiting} waiting for merge or deploy` : "",
  ].filter(Boolean);
  return { text: parts.join(" · "), tone: need ? "alarm" : "busy" };
}

function query(f: HomeData["filter"], pageNo: number): string {
  const p = new URLSearchParams();
  if (f.state) p.set("state", f.state);
  if (f.q) p.set("q", f.q);
  if (pageNo > 1) p.set("page", String(pageNo));
  const s = p.toString();
  return s ? `/?${s}` : "/";
}

function incidentRows(incidents: Incident[]): Html {
  if (incidents.length === 0) return html`<tr><td colspan="7" class="muted">No incident matches.</td></tr>`;
  return html`${incidents.map(
    (i) => html`<tr>
<td>${state(i.state)}</td>
<td>${i.service ?? "—"}</td>
<td>${i.host ?? "—"}</td>
<td class="lead"><a href="/incidents/${i.id}">#${i.id} ${i.title}</a></td>
<td data-label="×">${i.occurrences}</td>
<td data-label="last">${time(i.last_seen_at)}</td>
<td data-label="PR">${i.pr_url ? html`${serviceLink(i.pr_url, `#${i.pr_number ?? "PR"}`)} ${state(i.pr_state)}` : html`<span class="muted">—</span>`}</td>
</tr>`,
  )}`;
}

function filters(f: HomeData["filter"]): Html {
  return html`<form class="filters" method="get" action="/" role="search">
<label for="f-state">State
<select id="f-state" name="state">
<option value="">any</option>
${INCIDENT_STATES.map((s) => html`<option value="${s}"${f.state === s ? html` selected` : ""}>${s.replace(/_/g, " ")}</option>`)}
</select></label>
<label for="f-q">Search
<input id="f-q" name="q" type="search" value="${f.q ?? ""}" placeholder="title, service, host"></label>
<button type="submit">Filter</button>
${f.state || f.q ? html`<a href="/">clear</a>` : ""}
</form>`;
}

function budgetCard(b: HomeData["budget"]): Html {
  return html`<section class="card" aria-labelledby="h-budget"><h2 id="h-budget">Runs in the last 24 h</h2>
<dl class="facts">
<dt>Runs</dt><dd>${b.runs} of ${b.maxRuns} (<code>agent.maxRunsPerDay</code>)</dd>
<dt>Cost</dt><dd>${money(b.cost)}${b.maxCost !== undefined ? html` of ${money(b.maxCost)} (<code>agent.maxCostPerDay</code>)` : html` <span class="muted">(no <code>agent.maxCostPerDay</code>)</span>`}</dd>
</dl></section>`;
}

function preflightCard(results: CheckResult[] | undefined): Html {
  const body =
    results === undefined
      ? html`<p class="muted">No preflight pass yet.</p>`
      : html`<table><thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Found · fix</th></tr></thead><tbody>
${results.map((r) => html`<tr><td>${r.name}</td><td>${state(r.status)}</td><td>${r.found}${r.fix ? html`<br><span class="muted">fix: ${r.fix}</span>` : ""}</td></tr>`)}
</tbody></table>`;
  return html`<section class="card" aria-labelledby="h-preflight"><h2 id="h-preflight">Preflight checks</h2>${body}</section>`;
}

/** The hosts and the revision each runs. The slot the deployments part fills: absent list, no panel. */
export function hostsPanel(hosts: HostRow[] | undefined): Html {
  if (hosts === undefined) return html``;
  return html`<section class="card" aria-labelledby="h-hosts"><h2 id="h-hosts">Hosts</h2>
${
  hosts.length === 0
    ? html`<p class="muted">No deployment reported yet.</p>`
    : html`<table><thead><tr><th scope="col">Host</th><th scope="col">Revision</th><th scope="col">Since</th></tr></thead><tbody>
${hosts.map((h) => html`<tr><td>${h.host}</td><td><code>${h.revision ? h.revision.slice(0, 12) : "—"}</code>${h.status ? html` ${state(h.status)}` : ""}</td><td>${time(h.at)}</td></tr>`)}
</tbody></table>`
}</section>`;
}

/** `/`: banner, incidents with filter and pages, the run budget, preflight, hosts. */
export function homePage(d: HomeData): Html {
  const banner = bannerLine(d.counts);
  return page({
    title: "Incidents",
    session: d.session,
    refresh: 30,
    body: html`<p class="banner ${banner.tone}" role="status">${banner.text}</p>
<h1>Incidents</h1>
${filters(d.filter)}
<table class="stack"><thead><tr><th scope="col">State</th><th scope="col">Service</th><th scope="col">Host</th><th scope="col">Title</th><th scope="col">Occurrences</th><th scope="col">Last seen</th><th scope="col">PR</th></tr></thead>
<tbody>${incidentRows(d.incidents)}</tbody></table>
<nav class="pager" aria-label="pages">
${d.page > 1 ? html`<a href="${query(d.filter, d.page - 1)}">← newer</a>` : ""}
<span class="muted">page ${d.page}</span>
${d.hasNext ? html`<a href="${query(d.filter, d.page + 1)}">older →</a>` : ""}
</nav>
<div class="grid">
${budgetCard(d.budget)}
${hostsPanel(d.hosts)}
</div>
${preflightCard(d.preflight)}`,
  });
}
