import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runFiles } from "../agent/args.js";
import type { AgentResult } from "../agent/spawn.js";
import type { Incident, Run } from "../db/tables.js";
import { isDbUnavailable } from "../db/unavailable.js";
import { isRetryableForgeFailure } from "../forge/errors.js";
import {
  changedFiles,
  commitAll,
  createWorktree,
  ensureMirror,
  type GitOptions,
  mirrorPath,
} from "../forge/git.js";
import { checkChange } from "../forge/guard.js";
import { getIncident } from "../incidents/incidents.repo.js";
import { agentTurn } from "./agent-turn.js";
import { gatherContext } from "./context.js";
import { RefusalTally, recordEgressRefusals } from "./egress-events.js";
import type { Finish } from "./finish.js";
import type { Heartbeat } from "./lease.js";
import { readPrBody } from "./pr-body.js";
import { localBranchSha, type Prepared, publish } from "./publish.js";
import { runDirOf } from "./run-files.js";
import { recordRunProgress } from "./runs.repo.js";
import type { StepResult, WorkerDeps } from "./types.js";
import { validate } from "./validate.js";

interface Paths {
  git: GitOptions;
  mirror: string;
  runDir: string;
  worktree: string;
}

const finish = (f: Finish): StepResult => ({ kind: "finish", finish: f });

/**
 * One attempt of a run: mirror → worktree → agent → guard → validate (one more agent turn on failure)
 * → commit → push → find-or-create PR. Every step is keyed by the run's branch; an attempt that
 * finds this run's commit already on the branch (a forge outage after the commit) only publishes it,
 * so the agent never runs twice for one change.
 */
export async function executeRun(
  deps: WorkerDeps,
  run: Run,
  signal: AbortSignal,
  lease: Pick<Heartbeat, "confirm">,
): Promise<StepResult> {
  const { config } = deps;
  const incident = await getIncident(deps.db, run.incident_id);
  if (incident?.state !== "fixing") {
    return finish({ outcome: "cancelled", message: `incident is ${incident?.state ?? "gone"}` });
  }
  if (config.repo.url === undefined) {
    return finish({ outcome: "failed", message: "repo.url is not set: no repair can run" });
  }
  const p: Paths = {
    git: {
      signal,
      ...(config.repo.sshKeyFile ? { sshKeyFile: config.repo.sshKeyFile } : {}),
      ...(config.repo.knownHostsFile ? { knownHostsFile: config.repo.knownHostsFile } : {}),
    },
    mirror: mirrorPath(config.stateDir),
    runDir: runDirOf(config.stateDir, run.id),
    worktree: join(config.stateDir, "worktrees", run.branch.replace(/^healer\//, "")),
  };
  mkdirSync(join(p.runDir, "home"), { recursive: true });
  try {
    await ensureMirror({ ...p.git, mirror: p.mirror, url: config.repo.url });
    const resumable =
      run.commit_sha !== null && (await localBranchSha(p.mirror, run.branch, p.git)) === run.commit_sha;
    const prepared = resumable ? resume(run, p) : await prepare(deps, run, incident, p, signal);
    if (signal.aborted) return { kind: "aborted" };
    if ("kind" in prepared) return prepared;
    return await publish(deps, run, incident, prepared, p, signal, lease);
  } catch (e) {
    if (signal.aborted) return { kind: "aborted" };
    const message = (e as Error).message;
    if (isRetryableForgeFailure(e)) return { kind: "defer", error: message, cause: "forge" };
    if (isDbUnavailable(e)) return { kind: "defer", error: message, cause: "database" };
    return finish({ outcome: "failed", message: `run failed: ${message}`, error: message });
  }
}

/** An earlier attempt committed; its record holds what publishing needs. */
function resume(run: Run, p: Paths): Prepared {
  const stats = run.agent_stats as Record<string, unknown>;
  let validationLog = "";
  try {
    validationLog = readFileSync(join(p.runDir, "validate.log"), "utf8").slice(-16_000);
  } catch {
    // no validation ran
  }
  const { title, body } = readPrBody(readFileSync(runFiles(p.runDir).prBody, "utf8"), {
    id: run.incident_id,
    title: run.branch,
  });
  return {
    worktree: p.worktree,
    commitSha: run.commit_sha!,
    title,
    body,
    validation: run.validation ?? "skipped",
    validationLog,
    stats,
    exitCode: run.exit_code ?? 0,
  };
}

function agentFailed(r: AgentResult, stats: Record<string, unknown>): StepResult {
  const how = r.ended === "exited" ? `exited with ${r.exitCode ?? r.signal}` : r.ended.replace("_", " ");
  return {
    kind: "retry",
    error: `agent ${how}`,
    finalOutcome: r.ended === "timeout" || r.ended === "idle_timeout" ? "timed_out" : "failed",
    stats,
  };
}

/** Worktree, agent, guard, validation (with one more turn), commit; then the run's egress refusals. */
async function prepare(
  deps: WorkerDeps,
  run: Run,
  incident: Incident,
  p: Paths,
  signal: AbortSignal,
): Promise<Prepared | StepResult> {
  const refused = new RefusalTally();
  try {
    return await prepareChange(deps, run, incident, p, signal, refused);
  } finally {
    await recordEgressRefusals(deps, run, refused);
  }
}

async function prepareChange(
  deps: WorkerDeps,
  run: Run,
  incident: Incident,
  p: Paths,
  signal: AbortSignal,
  refused: RefusalTally,
): Promise<Prepared | StepResult> {
  const { config } = deps;
  const wt = await createWorktree(
    p.mirror,
    { branch: run.branch, base: `origin/${config.repo.branch}`, path: p.worktree },
    p.git,
  );
  await recordRunProgress(deps.db, run.id, { worktree: wt.path });
  const context = await gatherContext(deps.db, incident, run.id, p.mirror);
  const prBodyFile = runFiles(p.runDir).prBody;
  const turn = { worktree: wt.path, runDir: p.runDir, prBodyFile, signal };
  let result = await agentTurn(deps, run, context, turn);
  refused.add(result.egressRefused);
  if (signal.aborted) return { kind: "aborted" };
  const stats: Record<string, unknown> = { ...result.stats };
  if (result.exitCode !== 0) return agentFailed(result, stats);

  const guard = async () => {
    const files = await changedFiles(wt.path, { base: wt.baseSha }, p.git);
    return { files, verdict: checkChange(files, config.repo) };
  };
  const common = { worktree: wt.path, exitCode: result.exitCode, agentStats: stats };
  let { files, verdict } = await guard();
  if (files.length === 0) {
    return finish({
      ...common,
      outcome: "no_change",
      message: "the agent finished without changing the repo",
    });
  }
  if (!verdict.ok)
    return finish({ ...common, outcome: "refused", message: `guard refused the change: ${verdict.reason}` });

  let check = await validate(deps, { worktree: wt.path, runDir: p.runDir, signal });
  refused.add(check.egressRefused);
  if (check.result === "failed" && !signal.aborted) {
    // One more turn with the validation output, then judge again.
    result = await agentTurn(deps, run, context, { ...turn, validationOutput: check.output });
    refused.add(result.egressRefused);
    if (signal.aborted) return { kind: "aborted" };
    stats.secondTurn = result.stats;
    if (result.exitCode !== 0) return agentFailed(result, stats);
    ({ files, verdict } = await guard());
    if (!verdict.ok) {
      return finish({
        ...common,
        outcome: "refused",
        message: `guard refused the change: ${verdict.reason}`,
      });
    }
    check = await validate(deps, { worktree: wt.path, runDir: p.runDir, signal });
    refused.add(check.egressRefused);
  }
  if (signal.aborted) return { kind: "aborted" };
  if (check.result === "failed" && !config.forge.draftOnValidationFailure) {
    return finish({
      ...common,
      validation: "failed",
      outcome: "validation_failed",
      message:
        "validation failed after the agent's second turn (no draft PR: forge.draftOnValidationFailure is off)",
    });
  }

  const { title, body } = readPrBody(readFileSync(prBodyFile, "utf8"), incident);
  stats.changedFiles = files.length;
  const commit = await commitAll(
    wt.path,
    {
      message: `${title}\n\n${body.slice(0, 4000)}`,
      authorName: config.repo.authorName,
      authorEmail: config.repo.authorEmail,
      incidentId: incident.id,
    },
    p.git,
  );
  await recordRunProgress(deps.db, run.id, {
    commitSha: commit.sha,
    validation: check.result,
    agentStats: stats,
  });
  return {
    worktree: wt.path,
    commitSha: commit.sha,
    title,
    body,
    validation: check.result,
    validationLog: check.output,
    stats,
    exitCode: result.exitCode ?? 0,
  };
}
