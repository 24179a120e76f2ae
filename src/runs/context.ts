import type { Db } from "../db/database.js";
import type { Incident, Run } from "../db/tables.js";
import { gitAt } from "../forge/git-run.js";
import { createRevisions } from "../hosts/revisions.js";
import { incidentsOfFingerprint } from "../incidents/incidents.repo.js";
import { recentAlerts } from "../ingest/deliveries.repo.js";
import { type DeploymentFacts, deploymentFacts } from "./deploy-facts.js";
import { listRunsForIncident } from "./queue.repo.js";

/** Evidence lines kept for the prompt: distinct, newest first (the prompt builder caps them further). */
const MAX_EVIDENCE = 50;

export interface RunContext {
  incident: Incident;
  alerts: {
    status: string;
    summary: string | null;
    receivedAt: Date;
    details: Record<string, unknown>;
    labels: Record<string, string>;
  }[];
  evidence: string[];
  /** Earlier runs of this incident, and earlier incidents of the same fingerprint with their PRs. */
  earlier: {
    runs: Pick<Run, "id" | "kind" | "outcome" | "error" | "pr_url" | "branch">[];
    /** PRs of earlier runs of this incident (a follow-up's previous fix): commit message and stat. */
    prs: { url: string; title: string; body: string; diffSummary: string; state: string }[];
    incidents: Pick<Incident, "id" | "state" | "pr_url" | "title" | "first_seen_at" | "resolved_at">[];
  };
  /** What the incident's host runs relative to `repo.branch`, and what was observed of an earlier fix. */
  deployment: DeploymentFacts;
}

/** Everything the agent is told about an incident, read once at the start of a run. */
export async function gatherContext(
  db: Db,
  incident: Incident,
  currentRunId: number,
  mirror: string,
  branch = "main",
): Promise<RunContext> {
  const alerts = await recentAlerts(db, incident.id, 20);
  const evidence: string[] = [];
  for (const a of alerts) {
    const lines = (a.details as { evidence?: unknown }).evidence;
    const all = [a.summary, ...(Array.isArray(lines) ? lines : [])];
    for (const l of all) if (typeof l === "string" && l !== "" && !evidence.includes(l)) evidence.push(l);
  }
  const runs = (await listRunsForIncident(db, incident.id)).filter((r) => r.id !== currentRunId);
  const history = (await incidentsOfFingerprint(db, incident.fingerprint, 6)).filter(
    (i) => i.id !== incident.id,
  );
  const prs: RunContext["earlier"]["prs"] = [];
  for (const r of runs) {
    if (!r.pr_url || prs.some((p) => p.url === r.pr_url)) continue;
    const shown = r.commit_sha ? await commitSummary(mirror, r.commit_sha) : { message: "", stat: "" };
    prs.push({
      url: r.pr_url,
      title: shown.message.split("\n")[0] ?? "",
      body: shown.message.split("\n").slice(1).join("\n").trim(),
      diffSummary: shown.stat,
      state: r.pr_url === incident.pr_url ? (incident.pr_state ?? "unknown") : "unknown",
    });
  }
  for (const i of history) {
    if (i.pr_url && !prs.some((p) => p.url === i.pr_url)) {
      prs.push({
        url: i.pr_url,
        title: `incident ${i.id}: ${i.title}`,
        body: "",
        diffSummary: "",
        state: i.pr_state ?? i.state,
      });
    }
  }
  // The run fetched the mirror just now: drift is read without another fetch.
  const deployment = await deploymentFacts(db, incident, createRevisions({ mirror, url: undefined }), branch);
  return {
    incident,
    deployment,
    alerts: alerts.map((a) => ({
      status: a.status,
      summary: a.summary,
      receivedAt: a.received_at,
      details: a.details,
      labels: a.labels,
    })),
    evidence: evidence.slice(0, MAX_EVIDENCE),
    earlier: {
      runs: runs.map(({ id, kind, outcome, error, pr_url, branch }) => ({
        id,
        kind,
        outcome,
        error,
        pr_url,
        branch,
      })),
      prs,
      incidents: history.map(({ id, state, pr_url, title, first_seen_at, resolved_at }) => ({
        id,
        state,
        pr_url,
        title,
        first_seen_at,
        resolved_at,
      })),
    },
  };
}

/** The commit message and file stat of an earlier run's commit (best effort: "" when it is gone). */
async function commitSummary(mirror: string, sha: string): Promise<{ message: string; stat: string }> {
  try {
    const git = gitAt(mirror, {});
    const message = (await git.raw(["show", "-s", "--format=%B", sha])).trim();
    const stat = (await git.raw(["show", "--stat", "--format=", sha])).trim();
    return { message, stat };
  } catch {
    return { message: "", stat: "" };
  }
}
