import { writeFileSync } from "node:fs";
import type { Incident, Run } from "../db/tables.js";
import { type GitOptions, pushBranch, removeWorktree } from "../forge/git.js";
import { gitAt } from "../forge/git-run.js";
import type { Heartbeat } from "./lease.js";
import { prFooter } from "./pr-body.js";
import { sentPrBodyPath } from "./run-files.js";
import type { StepResult, WorkerDeps } from "./types.js";
import { runUsage } from "./usage.repo.js";

/** A committed change, ready to push: what publishing needs (also rebuilt from the run's record). */
export interface Prepared {
  worktree: string;
  commitSha: string;
  title: string;
  body: string;
  validation: "passed" | "failed" | "skipped";
  validationLog: string;
  stats: Record<string, unknown>;
  exitCode: number;
}

/** The sha a local branch of the mirror points to, or undefined. */
export async function localBranchSha(
  mirror: string,
  branch: string,
  opts: GitOptions,
): Promise<string | undefined> {
  try {
    return (
      (await gitAt(mirror, opts).raw(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`])).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/** `3 file(s) changed, ` when the agent's stats say, else nothing. */
function changedText(c: Prepared): string {
  return typeof c.stats.changedFiles === "number" ? `${c.stats.changedFiles} file(s) changed, ` : "";
}

/** Where a dry run's commit is, how to look at it, and what `retry` does to it. */
export function dryRunMessage(run: Pick<Run, "branch" | "incident_id">, c: Prepared, mirror: string): string {
  const files = changedText(c);
  return (
    `dry run (forge.type "none"): committed ${c.commitSha.slice(0, 12)} on ${run.branch} (${files}validation ${c.validation}); nothing pushed, no PR. ` +
    `See it: git --git-dir ${mirror} show ${run.branch}. ` +
    `\`homelab-healer retry ${run.incident_id}\` replaces this commit with a new run's`
  );
}

/**
 * Push (force-with-lease, never onto a branch someone else committed to) and find-or-create the PR,
 * a draft when validation failed; then the worktree goes (the run's logs stay). With forge.type
 * "none" nothing leaves the machine.
 */
export async function publish(
  deps: WorkerDeps,
  run: Run,
  incident: Incident,
  c: Prepared,
  p: { git: GitOptions; mirror: string; runDir: string },
  signal: AbortSignal,
  lease: Pick<Heartbeat, "confirm">,
): Promise<StepResult> {
  const { config } = deps;
  // Cancelled (dismissed) since the last heartbeat: nothing leaves the machine.
  if (!(await lease.confirm())) return { kind: "aborted" };
  const common = {
    worktree: c.worktree,
    exitCode: c.exitCode,
    agentStats: c.stats,
    commitSha: c.commitSha,
    validation: c.validation,
  };
  if (deps.forge.type === "none") {
    return {
      kind: "finish",
      finish: { ...common, outcome: "committed", message: dryRunMessage(run, c, p.mirror) },
    };
  }
  await pushBranch(
    p.mirror,
    run.branch,
    {
      forceWithLease: true,
      onlyIfOwnedBy: { email: config.repo.authorEmail, base: `origin/${config.repo.branch}` },
    },
    p.git,
  );
  if (!(await lease.confirm())) return { kind: "aborted" };
  const draft = c.validation === "failed";
  const usage = await runUsage(deps.db, run.id);
  const runSeconds = usage?.startedAt
    ? (deps.clock.now().getTime() - usage.startedAt.getTime()) / 1000
    : undefined;
  const body = `${c.body}\n${prFooter({ incident, runId: run.id, validation: c.validation, validationLog: c.validationLog, usage, runSeconds })}`;
  // Kept for the run page: the body as sent, which the agent's pr-body.md is only the start of.
  writeFileSync(sentPrBodyPath(p.runDir), `${c.title}\n\n${body}`, { mode: 0o600 });
  const pr = await deps.forge.createPr(
    { head: run.branch, base: config.repo.branch, title: c.title, draft, body },
    { signal },
  );
  await removeWorktree(p.mirror, c.worktree, p.git);
  const files = changedText(c);
  return {
    kind: "finish",
    finish: {
      ...common,
      prUrl: pr?.url ?? null,
      prNumber: pr?.number ?? null,
      outcome: "pr_opened",
      message: `${pr?.created === false ? "updated" : "opened"} ${draft ? "draft " : ""}PR ${pr?.url ?? "?"} (${files}validation ${c.validation})`,
    },
  };
}
