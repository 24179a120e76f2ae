import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { forwarderArgv } from "../agent/egress/forwarder.js";
import type { Refusal } from "../agent/egress/proxy.js";
import { behindAllowlist, egressEnv, type RunEgress, startRunEgress } from "../agent/egress/run-egress.js";
import { homeDirs } from "../agent/environment.js";
import { mirrorDirOf, sandboxArgv } from "../agent/sandbox.js";
import type { WorkerDeps } from "./types.js";

export interface ValidateResult {
  result: "passed" | "failed" | "skipped";
  /** The command's output (tail), for the agent's extra turn and the draft PR. */
  output: string;
  /** Destinations the validation's egress proxy refused (empty on the host's network). */
  egressRefused: Refusal[];
}

const KEEP = 16_000;

/** The validation's own egress proxy behind the allowlist (`agent.allowedHosts` only); none on the host's network. */
async function validationEgress(
  config: WorkerDeps["config"],
  runDir: string,
  note: (line: string) => void,
): Promise<RunEgress | undefined> {
  if (!behindAllowlist(config.agent)) return undefined;
  return startRunEgress({
    runDir,
    opencodeConfig: {},
    agentEnv: {},
    allowedHosts: config.agent.allowedHosts,
    note,
  });
}

/**
 * Runs `validate.command` in the worktree, in the same sandbox as the agent (the change is untrusted
 * until reviewed), with `validate.timeoutSeconds`. Output is appended to the run's validate.log.
 * Behind the allowlist it has the agent's network too: evaluating the change must not fetch what
 * the change names (a `builtins.fetchurl` of a URL carrying what the agent read), so it goes out
 * through an egress proxy of its own that passes `agent.allowedHosts` only (no model endpoint), and
 * Nix may not build while it evaluates (agent/egress/nix.ts).
 */
export async function validate(
  deps: Pick<WorkerDeps, "config" | "servicePath">,
  v: { worktree: string; runDir: string; signal: AbortSignal },
): Promise<ValidateResult> {
  const { config } = deps;
  const command = config.validate.command;
  if (!command || command.length === 0) return { result: "skipped", output: "", egressRefused: [] };
  const home = join(v.runDir, "home");
  const [cmd, ...args] = command as [string, ...string[]];
  const log = createWriteStream(join(v.runDir, "validate.log"), { flags: "a", mode: 0o600 });
  log.write(`$ ${command.join(" ")}\n`);
  const note = (line: string) => log.write(`# homelab-healer: ${line}\n`);
  const sandboxed = config.agent.sandbox !== "none";
  let egress: RunEgress | undefined;
  try {
    egress = await validationEgress(config, v.runDir, note);
  } catch (e) {
    note((e as Error).message);
    await new Promise<void>((resolve) => log.end(() => resolve()));
    throw e;
  }
  const inner = egress
    ? forwarderArgv(process.execPath, egress.socketPath, cmd, args)
    : { command: cmd, args };
  const argv = !sandboxed
    ? [cmd, ...args]
    : [
        "bwrap",
        ...sandboxArgv({
          ...inner,
          worktree: v.worktree,
          home,
          stateDir: config.stateDir,
          mirrorDir: mirrorDirOf(v.worktree),
          hidePaths: config.secretPaths,
          dbSocketDir: "/run/postgresql",
          egressSocket: egress?.socketPath,
        }),
      ];
  let output = "";
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: v.worktree,
    env: {
      PATH: deps.servicePath,
      ...homeDirs(home),
      ...(egress ? egressEnv() : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const onData = (b: Buffer) => {
    log.write(b);
    output = (output + b.toString("utf8")).slice(-KEEP);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    output += `\n[validation timed out after ${config.validate.timeoutSeconds} s]`;
    kill();
  }, config.validate.timeoutSeconds * 1000);
  v.signal.addEventListener("abort", kill, { once: true });
  const code = await new Promise<number | null>((resolve) => {
    child.once("error", (e) => {
      output += `\n[could not start ${cmd}: ${e.message}]`;
      resolve(null);
    });
    child.once("close", (c) => resolve(c));
  });
  clearTimeout(timer);
  v.signal.removeEventListener("abort", kill);
  await egress?.proxy.close();
  const egressRefused = egress?.proxy.refusals() ?? [];
  for (const x of egressRefused) note(`egress refused ${x.destination} ${x.count} time(s)`);
  log.write(`[exit ${code}]\n`);
  await new Promise<void>((resolve) => log.end(() => resolve()));
  return { result: code === 0 ? "passed" : "failed", output, egressRefused };
}
