import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runFiles } from "../agent/args.js";
import { buildContext, buildPrompt, prBodyTemplate } from "../agent/prompt.js";
import { type AgentResult, runAgent } from "../agent/spawn.js";
import type { Run } from "../db/tables.js";
import { isRetryableForgeFailure } from "../forge/errors.js";
import {
  changedFiles,
  commitAll,
  createWorktree,
  diffText,
  ensureMirror,
  type GitOptions,
  mirrorPath,
  pushBranch,
  removeWorktree,
} from "../forge/git.js";
import { checkChange } from "../forge/guard.js";
import { getIncident } from "../incidents/incidents.repo.js";
import { gatherContext, type RunContext } from "./context.js";
import type { Finish } from "./finish.js";
import { prFooter, readPrBody } from "./pr-body.js";
import { validate } from "./validate.js";
import type { WorkerDeps } from "./worker.js";

/** How one attempt of a run ended, for the worker to record. */
export type StepResult =
  | { kind: "finish"; finish: Finish }
  /** A failed attempt: retried with backoff while attempts remain. */
  | { kind: "retry"; error: string; finalOutcome: "failed" | "timed_out"; stats?: Record<string, unknown> }
  /** A passing forge or git fault: queued again without spending an attempt. */
  | { kind: "defer"; error: string }
  | { kind: "aborted" };

const agentOutcome = (r: AgentResult) =>
  r.ended === "timeout" || r.ended === "idle_timeout" ? "timed_out" : "failed";

/**
 * One attempt of a run: mirror → worktree → agent → guard → validate (one more agent turn on failure)
 * → commit → push → find-or-create PR. Every step is idempotent and keyed by the run's branch, so an
 * attempt after a crash, a retry or a forge outage redoes only what is not done.
 */
export async function executeRun(deps: WorkerDeps, run: Run, signal: AbortSignal): Promise<StepResult> {
  const { config } = deps;
  const incident = await getIncident(deps.db, run.incident_id);
  if (!incident || incident.state !== "fixing") {
    return {
      kind: "finish",
      finish: { outcome: "cancelled", message: `incident is ${incident?.state ?? "gone"}` },
    };
  }
  const repoUrl = config.repo.url;
  if (repoUrl === undefined) {
    return {
      kind: "finish",
      finish: { outcome: "failed", message: "repo.url is not set: no repair can run" },
    };
  }
  const git: GitOptions = {
    signal,
    ...(config.repo.sshKeyFile ? { sshKeyFile: config.repo.sshKeyFile } : {}),
    ...(config.repo.knownHostsFile ? { knownHostsFile: config.repo.knownHostsFile } : {}),
  };
  const runDir = join(config.stateDir, "runs", String(run.id));
  mkdirSync(join(runDir, "home"), { recursive: true });
  const worktreePath = join(config.stateDir, "worktrees", run.branch.replace(/^healer\//, ""));
  const mirror = mirrorPath(config.stateDir);
  try {
    await ensureMirror({ ...git, mirror, url: repoUrl });
    const wt = await createWorktree(
      mirror,
      { branch: run.branch, base: `origin/${config.repo.branch}`, path: worktreePath },
      git,
    );
    await deps.db.updateTable("runs").set({ worktree: wt.path }).where("id", "=", run.id).execute();

    const context = await gatherContext(deps.db, incident, run.id, mirror);
    const prBodyFile = runFiles(runDir).prBody;
    let result = await agentTurn(deps, run, context, { worktree: wt.path, runDir, prBodyFile, signal });
    if (signal.aborted) return { kind: "aborted" };
    const stats: Record<string, unknown> = { ...result.stats };
    if (result.exitCode !== 0) {
      return {
        kind: "retry",
        error: `agent ${result.ended === "exited" ? `exited with ${result.exitCode ?? result.signal}` : result.ended.replace("_", " ")}`,
        finalOutcome: agentOutcome(result),
        stats,
      };
    }

    const guardOf = async () => {
      const files = await changedFiles(wt.path, { base: wt.baseSha }, git);
      return { files, verdict: checkChange(files, config.repo) };
    };
    let { files, verdict } = await guardOf();
    const common = { worktree: wt.path, exitCode: result.exitCode, agentStats: stats };
    if (files.length === 0) {
      return {
        kind: "finish",
        finish: { ...common, outcome: "no_change", message: "the agent finished without changing the repo" },
      };
    }
    if (!verdict.ok) {
      return {
        kind: "finish",
        finish: { ...common, outcome: "refused", message: `guard refused the change: ${verdict.reason}` },
      };
    }

    let check = await validate(deps, { worktree: wt.path, runDir, signal });
    if (check.result === "failed" && !signal.aborted) {
      // One more turn with the validation output, then judge again.
      result = await agentTurn(deps, run, context, {
        worktree: wt.path,
        runDir,
        prBodyFile,
        signal,
        validationOutput: check.output,
      });
      if (signal.aborted) return { kind: "aborted" };
      ({ files, verdict } = await guardOf());
      if (!verdict.ok) {
        return {
          kind: "finish",
          finish: { ...common, outcome: "refused", message: `guard refused the change: ${verdict.reason}` },
        };
      }
      check = await validate(deps, { worktree: wt.path, runDir, signal });
    }
    if (signal.aborted) return { kind: "aborted" };
    const draft = check.result === "failed";
    if (draft && !config.forge.draftOnValidationFailure) {
      return {
        kind: "finish",
        finish: {
          ...common,
          validation: "failed",
          outcome: "validation_failed",
          message:
            "validation failed after the agent's second turn (no draft PR: forge.draftOnValidationFailure is off)",
        },
      };
    }

    const { title, body } = readPrBody(readFileSync(prBodyFile, "utf8"), incident);
    const commit = await commitAll(
      wt.path,
      {
        message: `${title}\n\n${body.slice(0, 4000)}`,
        authorName: config.repo.authorName,
        authorEmail: config.repo.authorEmail,
        incidentId: incident.id,
      },
      git,
    );
    await deps.db.updateTable("runs").set({ commit_sha: commit.sha }).where("id", "=", run.id).execute();
    if (deps.forge.type === "none") {
      return {
        kind: "finish",
        finish: {
          ...common,
          commitSha: commit.sha,
          validation: check.result,
          outcome: "refused",
          message: `dry run (forge.type "none"): commit ${commit.sha.slice(0, 12)} kept on ${run.branch} in ${mirror}; nothing pushed`,
        },
      };
    }
    await pushBranch(
      mirror,
      run.branch,
      {
        forceWithLease: true,
        onlyIfOwnedBy: { email: config.repo.authorEmail, base: `origin/${config.repo.branch}` },
      },
      git,
    );
    const diff = await diffText(wt.path, 20_000, { base: wt.baseSha }, git);
    const pr = await deps.forge.createPr(
      {
        head: run.branch,
        base: config.repo.branch,
        title,
        draft,
        body: `${body}\n${prFooter({ incident, runId: run.id, validation: check.result, validationLog: check.output })}`,
      },
      { signal },
    );
    await removeWorktree(mirror, wt.path, git);
    return {
      kind: "finish",
      finish: {
        worktree: wt.path,
        exitCode: result.exitCode,
        agentStats: { ...stats, diffBytes: diff.bytes, changedFiles: files.length },
        commitSha: commit.sha,
        validation: check.result,
        prUrl: pr?.url ?? null,
        prNumber: pr?.number ?? null,
        outcome: "pr_opened",
        message: `${pr?.created === false ? "updated" : "opened"} ${draft ? "draft " : ""}PR ${pr?.url ?? "?"} (${files.length} file(s) changed, validation ${check.result})`,
      },
    };
  } catch (e) {
    if (signal.aborted) return { kind: "aborted" };
    if (isRetryableForgeFailure(e)) return { kind: "defer", error: (e as Error).message };
    return {
      kind: "finish",
      finish: {
        outcome: "failed",
        message: `run failed: ${(e as Error).message}`,
        error: (e as Error).message,
      },
    };
  }
}

async function agentTurn(
  deps: WorkerDeps,
  run: Run,
  context: RunContext,
  t: { worktree: string; runDir: string; prBodyFile: string; signal: AbortSignal; validationOutput?: string },
): Promise<AgentResult> {
  const { config } = deps;
  const i = context.incident;
  const input = {
    incident: {
      id: i.id,
      title: i.title,
      service: i.service,
      host: i.host,
      alertName: i.alert_name,
      severity: i.severity,
      occurrences: i.occurrences,
      firstSeenAt: i.first_seen_at,
      lastSeenAt: i.last_seen_at,
      source: i.source,
    },
    alerts: context.alerts.map((a) => ({ ...a, summary: a.summary ?? "" })),
    evidence: context.evidence,
    worktree: t.worktree,
    prBodyFile: t.prBodyFile,
    protectedPaths: config.repo.protectedPaths,
    allowedCommands: config.agent.allowedCommands,
    earlier: {
      runs: context.earlier.runs,
      prs: context.earlier.prs,
    },
    ...(run.kind === "follow_up" ? { followUp: i.follow_ups } : {}),
    ...(t.validationOutput !== undefined ? { validationOutput: t.validationOutput } : {}),
  };
  const prompt = buildPrompt(input);
  return runAgent({
    runId: run.id,
    incidentId: i.id,
    worktree: t.worktree,
    runDir: t.runDir,
    prompt,
    context: buildContext(input),
    prBodyTemplate: prBodyTemplate(input),
    config: { ...config.agent, stateDir: config.stateDir, secretPaths: config.secretPaths },
    agentEnv: deps.secrets.agentEnv,
    servicePath: deps.servicePath,
    signal: t.signal,
    onActivity: () => {},
  });
}
