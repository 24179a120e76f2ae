import { html } from "hono/html";
import type { IncidentEvent, Run } from "../db/tables.js";
import type { incidentDetail } from "../incidents/actions.js";
import { outcomeLabel } from "../runs/outcome-label.js";
import { duration, type Html, isRefusalKind, money, serviceLink, state, time } from "./format.js";
import { csrfField, page } from "./layout.js";
import type { Session } from "./session.js";

export type IncidentDetail = Awaited<ReturnType<typeof incidentDetail>>;

/** What the guard said about a run's change, read from its record and its final event. */
export function guardVerdict(run: Run, events: IncidentEvent[]): string {
  const end = events.filter((e) => e.run_id === run.id && /^(run_finished|pr_opened)$/.test(e.kind)).at(-1);
  if (run.outcome === "refused") return end?.message ?? "refused";
  if (run.commit_sha !== null || run.outcome === "pr_opened") return "passed";
  return "—";
}

/** Events in the order they happened, refusals and denials marked, each run linked. */
export function timeline(events: IncidentEvent[]): Html {
  if (events.length === 0) return html`<p class="muted">None.</p>`;
  return html`<ol class="timeline">
${events.map((e) => {
  const refused = isRefusalKind(e.kind);
  return html`<li class="${refused ? "refused" : ""}" data-kind="${e.kind}">
${time(e.at)} <span class="kind">${e.kind}</span>${refused ? html` ${state("refused")}` : ""}${e.run_id !== null ? html` · <a href="/runs/${e.run_id}">run ${e.run_id}</a>` : ""}
<div class="msg">${e.message}</div>
</li>`;
})}
</ol>`;
}

function alerts(d: IncidentDetail): Html {
  const recent = d.alerts.recent;
  if (recent.length === 0) return html`<p class="muted">No alert kept.</p>`;
  return html`${recent.map(
    (a) => html`<article class="entry">
${state(a.status)} ${time(a.receivedAt)} <span class="muted">${a.service ?? ""}${a.host ? html` on ${a.host}` : ""}</span>
<div class="msg">${a.summary ?? ""}</div>
<div class="labels">${Object.entries(a.labels ?? {}).map(([k, v]) => html`<code>${k}=${String(v)}</code>`)}</div>
${a.evidence.length ? html`<details><summary>${a.evidence.length} log line(s)</summary><pre>${a.evidence.join("\n")}</pre></details>` : ""}
</article>`,
  )}`;
}

function runs(d: IncidentDetail): Html {
  if (d.runs.length === 0) return html`<p class="muted">No run.</p>`;
  return html`<table class="stack"><thead><tr><th scope="col">Run</th><th scope="col">State</th><th scope="col">Outcome</th><th scope="col">Attempts</th><th scope="col">Model</th><th scope="col">Tokens in/out</th><th scope="col">Cost</th><th scope="col">Agent time</th><th scope="col">Guard</th><th scope="col">Validation</th></tr></thead><tbody>
${d.runs.map(
  (r) => html`<tr>
<td class="lead"><a href="/runs/${r.id}">run ${r.id}</a> <span class="muted">${r.kind.replace(/_/g, " ")}</span></td>
<td data-label="State">${state(r.state)}</td>
<td data-label="Outcome">${state(r.outcome && outcomeLabel(r.outcome))}</td>
<td data-label="Attempts">${r.attempt} of ${r.max_attempts}</td>
<td data-label="Model">${r.model ?? "—"}</td>
<td data-label="Tokens in/out">${Number(r.tokens_input)} / ${Number(r.tokens_output)}</td>
<td data-label="Cost">${money(Number(r.cost))}</td>
<td data-label="Agent time">${duration(Number(r.agent_seconds))}</td>
<td data-label="Guard">${guardVerdict(r, d.events)}</td>
<td data-label="Validation">${state(r.validation)}</td>
</tr>`,
)}</tbody></table>`;
}

function actions(d: IncidentDetail, session: Session): Html {
  const i = d.incident;
  if (session.role !== "operator" || i.state === "resolved" || i.state === "dismissed") return html``;
  return html`<section aria-labelledby="h-actions"><h2 id="h-actions">Actions</h2><div class="actions">
<form method="post" action="/incidents/${i.id}/retry">${csrfField(session)}<button type="submit">Retry now</button></form>
<form method="post" action="/incidents/${i.id}/dismiss">${csrfField(session)}
<label for="d-reason">Reason<input id="d-reason" name="reason" maxlength="500"></label>
${i.pr_state === "open" ? html`<label for="d-close"><span><input id="d-close" type="checkbox" name="closePr" value="1"> close the PR</span></label>` : ""}
<button type="submit">Dismiss</button></form>
${
  i.service
    ? html`<form method="post" action="/silences">${csrfField(session)}<input type="hidden" name="service" value="${i.service}"><input type="hidden" name="incident" value="${i.id}">
<label for="s-for">Silence ${i.service} for<select id="s-for" name="for"><option>1h</option><option selected>4h</option><option>24h</option><option>7d</option></select></label>
<label for="s-reason">Reason<input id="s-reason" name="reason" maxlength="500"></label>
<button type="submit">Silence</button></form>`
    : ""
}
</div></section>`;
}

const FLASH: Record<string, string> = {
  retried: "Retry queued.",
  dismissed: "Incident dismissed.",
  silenced: "Service silenced.",
};

/** `/incidents/:id`: facts, actions, timeline, alerts, runs, PR. */
export function incidentPage(d: IncidentDetail, session: Session, done?: string): Html {
  const i = d.incident;
  const flash = done !== undefined ? FLASH[done] : undefined;
  return page({
    title: `Incident ${i.id}`,
    session,
    refresh: 30,
    body: html`${flash ? html`<p class="flash ok" role="status">${flash}</p>` : ""}
<h1>#${i.id} ${i.title}</h1>
<dl class="facts">
<dt>State</dt><dd>${state(i.state)}</dd>
<dt>Why</dt><dd class="msg">${i.triage_reason ?? "—"}</dd>
<dt>Service · host</dt><dd>${i.service ?? "—"} · ${i.host ?? "—"}</dd>
<dt>Alert</dt><dd>${i.alert_name} <span class="muted">from ${i.source}${i.severity ? html`, ${i.severity}` : ""}</span></dd>
<dt>Occurrences</dt><dd>${i.occurrences} · first ${time(i.first_seen_at)} · last ${time(i.last_seen_at)}</dd>
<dt>Pull request</dt><dd>${i.pr_url ? html`${serviceLink(i.pr_url, `#${i.pr_number ?? "PR"} ${i.branch ?? ""}`)} ${state(i.pr_state)}` : "—"}</dd>
${i.previous_incident_id !== null ? html`<dt>Previous</dt><dd><a href="/incidents/${i.previous_incident_id}">#${i.previous_incident_id}</a></dd>` : ""}
</dl>
${actions(d, session)}
<h2>Timeline</h2>
${timeline(d.events)}
<h2>Alerts</h2>
${alerts(d)}
<h2>Runs</h2>
${runs(d)}`,
  });
}
