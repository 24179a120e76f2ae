import { hostname } from "node:os";
import { buildContext, buildPrompt, type PromptInput, prBodyTemplate } from "../agent/prompt.js";
import { type AgentInspect, type AgentResult, runAgent } from "../agent/spawn.js";
import type { Config } from "../config/load.js";
import type { Run } from "../db/tables.js";
import type { RunContext } from "./context.js";
import { recordInspected } from "./inspected.js";
import type { WorkerDeps } from "./types.js";
import { addRunUsage } from "./usage.repo.js";

/** One agent turn in the run's worktree: the prompt and context from the incident, the lane from the config. */
export async function agentTurn(
  deps: WorkerDeps,
  run: Run,
  context: RunContext,
  t: { worktree: string; runDir: string; prBodyFile: string; signal: AbortSignal; validationOutput?: string },
): Promise<AgentResult> {
  const { config } = deps;
  const i = context.incident;
  const inspect: AgentInspect | undefined =
    deps.inspector && deps.inspector.hosts().length > 0
      ? {
          inspector: deps.inspector,
          commands: config.inspect.commands,
          onInspected: (c) => recordInspected(deps, run, c),
        }
      : undefined;
  const input = promptInput(config, run, context, t, inspect);
  const started = Date.now();
  const result = await runAgent({
    runId: run.id,
    incidentId: i.id,
    worktree: t.worktree,
    runDir: t.runDir,
    prompt: buildPrompt(input),
    context: buildContext(input),
    prBodyTemplate: prBodyTemplate(input),
    config: { ...config.agent, stateDir: config.stateDir, secretPaths: config.secretPaths },
    agentEnv: deps.secrets.agentEnv,
    servicePath: deps.servicePath,
    signal: t.signal,
    inspect,
  });
  // Every turn was paid for, also one whose attempt fails: its usage goes on the run at once.
  await addRunUsage(deps.db, run.id, {
    model: config.agent.model,
    tokens: result.stats.tokens,
    cost: result.stats.cost,
    seconds: (Date.now() - started) / 1000,
  }).catch((err: unknown) => deps.log.warn({ err, run: run.id }, "recording the agent's token usage failed"));
  return result;
}

/** What a turn's prompt and context file are built from (tests build a run's prompt with it too). */
export function promptInput(
  config: Config,
  run: Pick<Run, "kind">,
  context: RunContext,
  t: { worktree: string; prBodyFile: string; validationOutput?: string },
  inspect?: Pick<AgentInspect, "inspector" | "commands">,
): PromptInput {
  const i = context.incident;
  return {
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
    earlier: { runs: context.earlier.runs, prs: context.earlier.prs },
    deployment: { hostRevision: context.deployment.hostRevision, earlierFix: context.deployment.earlierFix },
    ...(run.kind === "follow_up" ? { followUp: i.follow_ups } : {}),
    ...(t.validationOutput !== undefined ? { validationOutput: t.validationOutput } : {}),
    ...(inspect
      ? { inspect: { hosts: inspect.inspector.hosts(), commands: inspect.commands, localHost: hostname() } }
      : {}),
  };
}
