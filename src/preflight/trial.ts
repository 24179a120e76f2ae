import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfig, AgentResult } from "../agent/spawn.js";
import { runAgent } from "../agent/spawn.js";
import type { PreflightContext } from "./types.js";

/** What a trial in the lane returned: the agent's result and its log, or why it could not start. */
export type Trial =
  | { started: true; result: AgentResult; log: string; ms: number }
  | { started: false; error: string };

/**
 * Runs a command once exactly as a run's agent turn does (runAgent: same environment, same sandbox,
 * same lane), in a throwaway worktree under the state dir. `over` replaces agent settings (the
 * command, its args, short timeouts).
 */
export async function trialInLane(
  ctx: PreflightContext,
  over: Partial<AgentConfig>,
  prompt = "preflight",
): Promise<Trial> {
  let lab: string;
  try {
    mkdirSync(ctx.config.stateDir, { recursive: true, mode: 0o700 });
    lab = mkdtempSync(join(ctx.config.stateDir, "preflight-"));
  } catch {
    lab = mkdtempSync(join(tmpdir(), "healer-preflight-"));
  }
  const worktree = join(lab, "worktree");
  const runDir = join(lab, "run");
  mkdirSync(worktree, { recursive: true });
  const config: AgentConfig = {
    ...ctx.config.agent,
    stateDir: ctx.config.stateDir,
    secretPaths: ctx.config.secretPaths,
    timeoutSeconds: 120,
    idleTimeoutSeconds: 120,
    ...over,
  };
  const started = Date.now();
  try {
    const result = await runAgent({
      runId: "preflight",
      incidentId: "preflight",
      worktree,
      runDir,
      prompt,
      context: { preflight: true },
      prBodyTemplate: "# preflight\n",
      config,
      agentEnv: ctx.secrets.agentEnv ?? {},
      servicePath: ctx.path,
      signal: ctx.signal ?? new AbortController().signal,
      killGraceMs: 1000,
      onWarning: () => {},
    });
    const log = readFileSync(result.logPath, "utf8");
    return { started: true, result, log, ms: Date.now() - started };
  } catch (e) {
    return { started: false, error: (e as Error).message };
  } finally {
    rmSync(lab, { recursive: true, force: true });
  }
}

/** The agent's own output in a run log (the lines the service wrote around it left out). */
export function agentOutput(log: string): string {
  return log
    .split("\n")
    .filter((l) => !l.startsWith("# homelab-healer:") && l.trim() !== "")
    .join("\n");
}
