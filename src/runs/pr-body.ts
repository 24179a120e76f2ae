import type { TokenStats } from "../agent/events.js";
import type { Incident } from "../db/tables.js";
import { formatCost } from "../incidents/triage.js";

const MAX_TITLE = 120;
const MAX_BODY = 60_000;

/**
 * The PR title and body from the file the agent filled: its first `# ` line is the title. A body the
 * agent left as the template (or empty) still gets a title from the incident.
 */
export function readPrBody(
  text: string,
  incident: Pick<Incident, "id" | "title">,
): { title: string; body: string } {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^# \S/.test(l));
  let title = at === -1 ? "" : lines[at]!.slice(2).trim();
  if (title === "" || /^<.*>$/.test(title) || /TITLE/i.test(title)) title = `Fix ${incident.title}`;
  if (title.length > MAX_TITLE) title = `${title.slice(0, MAX_TITLE - 1)}…`;
  const body = (at === -1 ? lines : lines.slice(at + 1)).join("\n").trim();
  return { title: `healer: ${title.replace(/^healer:\s*/i, "")}`, body: body.slice(0, MAX_BODY) };
}

export interface FooterFacts {
  incident: Pick<Incident, "id" | "occurrences" | "first_seen_at" | "last_seen_at" | "fingerprint">;
  runId: number;
  validation: "passed" | "failed" | "skipped";
  validationLog?: string | undefined;
  /** The run's agent usage over every turn, and how long the run took so far. */
  usage?: { model: string | undefined; tokens: TokenStats; cost: number; seconds: number } | undefined;
  runSeconds?: number | undefined;
}

/** `1m 05s`, `42 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

/** `12,345 tokens (input …, output …, reasoning …, cache read …, cache write …)`. */
export function tokensText(t: TokenStats): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const total = t.input + t.output + t.reasoning + t.cacheRead + t.cacheWrite;
  return `${n(total)} tokens (input ${n(t.input)}, output ${n(t.output)}, reasoning ${n(t.reasoning)}, cache read ${n(t.cacheRead)}, cache write ${n(t.cacheWrite)})`;
}

/** What the control plane adds under the agent's body: facts the owner can trust. */
export function prFooter(f: FooterFacts): string {
  const v =
    f.validation === "passed"
      ? "passed"
      : f.validation === "skipped"
        ? "skipped (no validate.command configured)"
        : "**FAILED** — this PR is a draft; the output is below";
  const lines = [
    "",
    "---",
    `Opened by homelab-healer for incident ${f.incident.id} (fingerprint \`${f.incident.fingerprint}\`), run ${f.runId}.`,
    `Occurrences: ${f.incident.occurrences}; first seen ${f.incident.first_seen_at.toISOString()}, last seen ${f.incident.last_seen_at.toISOString()}.`,
    `Validation: ${v}.`,
    ...(f.usage
      ? [
          `Agent: model ${f.usage.model ?? "(the agent's default)"}; ${tokensText(f.usage.tokens)}; cost ${formatCost(f.usage.cost)}; agent time ${formatDuration(f.usage.seconds)}${f.runSeconds !== undefined ? `, run time ${formatDuration(f.runSeconds)}` : ""}.`,
        ]
      : []),
    "Nothing was deployed: review, merge, and deploy as you usually do.",
  ];
  if (f.validation === "failed" && f.validationLog) {
    lines.push(
      "",
      "<details><summary>Validation output</summary>",
      "",
      "```",
      f.validationLog.slice(-8000),
      "```",
      "</details>",
    );
  }
  return lines.join("\n");
}
