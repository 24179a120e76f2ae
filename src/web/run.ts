import { html } from "hono/html";
import type { Incident, IncidentEvent, Run } from "../db/tables.js";
import { outcomeLabel } from "../runs/outcome-label.js";
import type { RunRecord } from "../runs/run-files.js";
import { duration, type Html, money, serviceLink, state, time } from "./format.js";
import { timeline } from "./incident.js";
import { page } from "./layout.js";
import type { Session } from "./session.js";
import { type Entry, parseTranscript } from "./transcript.js";

export interface RunData {
  session: Session;
  run: Run;
  incident: Incident | undefined;
  /** The incident's events that name this run (egress refusals, inspections, its end). */
  events: IncidentEvent[];
  record: RunRecord;
}

function entry(e: Entry): Html {
  switch (e.kind) {
    case "tool": {
      const marked = e.denied || e.status === "error";
      return html`<article class="entry tool${e.denied ? " refused" : ""}" data-tool="${e.tool}">
<strong class="kind">${e.tool}</strong> ${state(e.denied ? "denied" : e.status)} ${e.title ? html`<span class="muted">${e.title}</span>` : ""}
<details><summary>input</summary><pre>${e.input}</pre></details>
<details${marked ? html` open` : ""}><summary>${e.denied ? "refusal" : "output"}</summary><pre>${e.output}</pre></details>
</article>`;
    }
    case "text":
      return html`<article class="entry"><strong>agent</strong><div class="msg">${e.text}</div></article>`;
    case "step":
      return html`<p class="muted">step finished (${e.reason || "?"}) · ${e.tokens} tokens${e.cost ? ` · ${money(e.cost)}` : ""}</p>`;
    case "error":
      return html`<article class="entry refused">${state("error")} <span class="msg">${e.text}</span></article>`;
    case "note":
      return html`<p class="${e.refused ? "entry refused" : "muted"}">${e.refused ? html`${state("refused")} ` : ""}<span class="kind">homelab-healer:</span> ${e.text}</p>`;
    case "event":
      return html`<details class="entry"><summary><span class="kind">${e.type}</span> event</summary><pre>${e.text}</pre></details>`;
    case "output":
      return html`<details class="entry"><summary>agent output (${e.text.split("\n").length} lines)</summary><pre>${e.text}</pre></details>`;
    default: {
      const never: never = e;
      return never;
    }
  }
}

function file(title: string, text: string | undefined, open = false): Html {
  if (text === undefined) return html``;
  return html`<details${open ? html` open` : ""}><summary>${title}</summary><pre>${text}</pre></details>`;
}

/** `/runs/:id`: the run's facts, the refusals recorded for it, and its transcript. */
export function runPage(d: RunData): Html {
  const r = d.run;
  const entries = d.record.agentLog === undefined ? undefined : parseTranscript(d.record.agentLog);
  return page({
    title: `Run ${r.id}`,
    session: d.session,
    refresh: r.state === "finished" ? 0 : 15,
    body: html`<h1>Run ${r.id} ${d.incident ? html`· <a href="/incidents/${d.incident.id}">#${d.incident.id} ${d.incident.title}</a>` : ""}</h1>
<dl class="facts">
<dt>State · outcome</dt><dd>${state(r.state)} ${state(r.outcome && outcomeLabel(r.outcome))}</dd>
<dt>Kind · attempts</dt><dd>${r.kind.replace(/_/g, " ")} · ${r.attempt} of ${r.max_attempts}</dd>
<dt>Model</dt><dd>${r.model ?? "—"}</dd>
<dt>Tokens</dt><dd>${Number(r.tokens_input)} in · ${Number(r.tokens_output)} out · ${Number(r.tokens_reasoning)} reasoning · ${Number(r.tokens_cache_read)} cache read</dd>
<dt>Cost · agent time</dt><dd>${money(Number(r.cost))} · ${duration(Number(r.agent_seconds))}</dd>
<dt>Started · finished</dt><dd>${time(r.started_at)} · ${time(r.finished_at)}</dd>
<dt>Validation</dt><dd>${state(r.validation)}</dd>
<dt>Branch · commit</dt><dd><code>${r.branch}</code> ${r.commit_sha ? html`<code>${r.commit_sha.slice(0, 12)}</code>` : ""}</dd>
<dt>Pull request</dt><dd>${serviceLink(r.pr_url, r.pr_url ? `#${r.pr_number ?? "PR"}` : "")}</dd>
${r.error ? html`<dt>Error</dt><dd class="msg">${r.error}</dd>` : ""}
</dl>
<h2>Events of this run</h2>
${timeline(d.events)}
<h2>Transcript</h2>
${entries === undefined ? html`<p class="muted">No agent log for this run (yet).</p>` : entries.map(entry)}
<h2>Files</h2>
${file("Validation output", d.record.validateLog)}
${file("Prompt", d.record.prompt)}
${d.record.prBodySent !== undefined ? file("PR body as sent", d.record.prBodySent) : file("PR body as the agent wrote it", d.record.prBodyWritten)}`,
  });
}
