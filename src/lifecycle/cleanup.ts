import { existsSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import type { Forge } from "../forge/forge.js";
import {
  deleteRemoteBranch,
  type GitOptions,
  mirrorPath,
  pruneWorktrees,
  remoteBranchAuthors,
  removeWorktree,
} from "../forge/git.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { recordEvent } from "../incidents/transitions.js";
import {
  type BranchCandidate,
  branchCandidates,
  liveRuns,
  markWorktreeRemoved,
  purgeAlerts,
  purgeDeliveries,
  retainedWorktrees,
  worktreesDue,
} from "./cleanup.repo.js";

/** What one cleanup pass did. */
export interface CleanupReport {
  worktreesRemoved: number;
  orphansRemoved: number;
  branchesDeleted: number;
  branchesAbsent: number;
  branchesKept: number;
  alertsPurged: number;
  deliveriesPurged: number;
  /** Steps that failed (the rest still ran; the next pass tries again). */
  errors: string[];
}

const PURGE_BATCH = 5000;

/** A path made comparable with what git stores (real paths). */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Where the run of `branch` keeps its worktree (as runs/execute.ts names it). */
function worktreeOf(root: string, branch: string): string {
  return join(root, branch.replace(/^healer\//, ""));
}

/**
 * One maintenance pass (SPEC §2 `cleanup`): worktrees of finished runs past worktreeRetentionSeconds,
 * `git worktree prune`, folders under stateDir/worktrees that no run owns, remote branches of merged
 * or closed PRs (never one with commits by anyone else: that is kept and said so in the incident's
 * events), and deliveries and alerts past alertRetentionDays (never those of live incidents).
 * Idempotent; never touches what a queued or running run uses.
 */
export async function runCleanup(deps: IncidentDeps, forge: Forge): Promise<CleanupReport> {
  const report: CleanupReport = {
    worktreesRemoved: 0,
    orphansRemoved: 0,
    branchesDeleted: 0,
    branchesAbsent: 0,
    branchesKept: 0,
    alertsPurged: 0,
    deliveriesPurged: 0,
    errors: [],
  };
  const step = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      report.errors.push(`${name}: ${(err as Error).message}`);
      deps.log.warn({ err, step: name }, `cleanup: ${name} failed`);
    }
  };
  const { config } = deps;
  const git: GitOptions = {
    ...(config.repo.sshKeyFile ? { sshKeyFile: config.repo.sshKeyFile } : {}),
    ...(config.repo.knownHostsFile ? { knownHostsFile: config.repo.knownHostsFile } : {}),
  };
  const mirror = mirrorPath(config.stateDir);
  const hasMirror = existsSync(join(mirror, "HEAD"));
  const root = canonical(join(config.stateDir, "worktrees"));
  const inRoot = (p: string) => p.startsWith(root + sep);
  const livePaths = async () =>
    new Set(
      (await liveRuns(deps.db)).flatMap((r) => [
        worktreeOf(root, r.branch),
        ...(r.worktree ? [canonical(r.worktree)] : []),
      ]),
    );
  const remove = async (path: string) => {
    if (hasMirror) await removeWorktree(mirror, path, git);
    // Anything left under our worktrees folder is ours to delete (a half-made or foreign folder).
    if (inRoot(path)) rmSync(path, { recursive: true, force: true });
  };

  await step("worktrees", async () => {
    const now = deps.clock.now();
    const before = new Date(now.getTime() - config.lifecycle.worktreeRetentionSeconds * 1000);
    for (const run of await worktreesDue(deps.db, before)) {
      const path = canonical(run.worktree);
      // A worktree elsewhere belongs to another instance's state dir: not ours to judge.
      if (!inRoot(path)) continue;
      // A later run of the same branch reuses the folder: then it is that run's now.
      if (!(await livePaths()).has(path)) await remove(path);
      await markWorktreeRemoved(deps.db, run.id, now);
      report.worktreesRemoved++;
    }
  });
  if (hasMirror) await step("worktree prune", () => pruneWorktrees(mirror, git));
  await step("orphan worktrees", async () => {
    if (!existsSync(root)) return;
    const names = readdirSync(root);
    // Listed before the owners are read: a folder made after the listing is not looked at.
    const keep = new Set([...(await livePaths()), ...(await retainedWorktrees(deps.db)).map(canonical)]);
    for (const name of names) {
      const path = join(root, name);
      if (keep.has(path)) continue;
      await remove(path);
      report.orphansRemoved++;
    }
  });
  if (hasMirror && forge.type !== "none") {
    await step("branches", async () => {
      for (const c of await branchCandidates(deps.db)) await cleanBranch(deps, forge, c, mirror, git, report);
    });
  }
  await step("retention", async () => {
    const before = new Date(deps.clock.now().getTime() - config.lifecycle.alertRetentionDays * 86_400_000);
    for (let n = PURGE_BATCH; n === PURGE_BATCH; report.alertsPurged += n) {
      n = await purgeAlerts(deps.db, before, PURGE_BATCH);
    }
    for (let n = PURGE_BATCH; n === PURGE_BATCH; report.deliveriesPurged += n) {
      n = await purgeDeliveries(deps.db, before, PURGE_BATCH);
    }
  });
  return report;
}

/** Deletes one done-with branch on the remote, unless someone else committed to it. */
async function cleanBranch(
  deps: IncidentDeps,
  forge: Forge,
  c: BranchCandidate,
  mirror: string,
  git: GitOptions,
  report: CleanupReport,
): Promise<void> {
  let prState = c.current_pr === c.pr_number ? c.pr_state : null;
  if (prState === null) {
    // An earlier PR of the incident (a follow-up superseded it): ask the forge before deleting.
    prState = (await forge.getPr(c.pr_number)).state;
    if (prState === "open") return;
  }
  const base = `origin/${deps.config.repo.branch}`;
  const owner = { email: deps.config.repo.authorEmail, base };
  const result = await deleteRemoteBranch(mirror, c.branch, { onlyIfOwnedBy: owner }, git);
  const data: Record<string, unknown> = { branch: c.branch, pr: c.pr_number, result, prState };
  let message: string;
  if (result === "foreign") {
    const others = (await remoteBranchAuthors(mirror, c.branch, base, git).catch(() => [])).filter(
      (a) => a.toLowerCase() !== owner.email.toLowerCase(),
    );
    data.authors = others;
    message = `branch ${c.branch} kept after PR #${c.pr_number} was ${prState}: it has commits by ${others.join(", ") || "someone else"}`;
    report.branchesKept++;
  } else {
    message =
      result === "deleted"
        ? `branch ${c.branch} deleted after PR #${c.pr_number} was ${prState}`
        : `branch ${c.branch} already gone after PR #${c.pr_number} was ${prState}`;
    if (result === "deleted") report.branchesDeleted++;
    else report.branchesAbsent++;
  }
  await recordEvent(deps.db, deps.log, {
    incidentId: c.incident_id,
    kind: "branch_cleanup",
    message,
    data,
    now: deps.clock.now(),
  });
}
