import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import type { ConfigFile } from "../config/schema.js";
import {
  type InspectBroker,
  type InspectedCommand,
  inspectSocketPath,
  startInspectBroker,
} from "../hosts/broker.js";
import { writeInspectClient } from "../hosts/client.js";
import type { Inspector } from "../hosts/inspect.js";
import { agentArgs, runFiles } from "./args.js";
import { forwarderArgv } from "./egress/forwarder.js";
import { NIX_OVERRIDE_DENIED } from "./egress/nix.js";
import type { Refusal } from "./egress/proxy.js";
import { behindAllowlist, type RunEgress, startRunEgress } from "./egress/run-egress.js";
import { buildAgentEnv, prepareAgentHome } from "./environment.js";
import { type AgentStats, EventCollector } from "./events.js";
import { buildOpencodeConfig } from "./opencode-config.js";
import { mirrorDirOf, type SandboxOptions, sandboxArgv } from "./sandbox.js";

/** The `agent` config section plus what the sandbox needs from the rest of the config. */
export type AgentConfig = ConfigFile["agent"] & {
  stateDir: string;
  /** Every secret file or dir the config names (Config.secretPaths): hidden in the sandbox. */
  secretPaths: string[];
  /** The bare mirror; default: read from the worktree's `.git` file. */
  mirrorDir?: string | undefined;
  credentialsDir?: string | undefined;
  /** Default `/run/postgresql`. */
  dbSocketDir?: string | undefined;
};

/** The inspection channel of a run (`hosts.*`): `inspect` on the agent's PATH, through a broker. */
export interface AgentInspect {
  inspector: Inspector;
  /** `inspect.commands`: the patterns the lane allows after `inspect <host>`. */
  commands: string[];
  /** Records one command (an `inspected` incident event). */
  onInspected: (c: InspectedCommand) => Promise<void>;
}

/** One agent attempt. */
export interface AgentSpec {
  runId: string | number;
  incidentId: string | number;
  worktree: string;
  /** `stateDir/runs/<id>`: agent.log, home/, prompt.md, context.json, pr-body.md, opencode.json. */
  runDir: string;
  prompt: string;
  context: unknown;
  /** Written to pr-body.md unless that file already exists (an extra turn keeps the agent's text). */
  prBodyTemplate: string;
  config: AgentConfig;
  /** From `agent.environmentFile`. */
  agentEnv: Record<string, string>;
  /** The service's PATH: the agent's PATH, and where `bwrap` and the agent command are found. */
  servicePath: string;
  signal: AbortSignal;
  /** Called on every chunk of output (a heartbeat). */
  onActivity?: () => void;
  /** Appended to the args (before the prompt with the default args). */
  extraArgs?: string[];
  /** Between SIGTERM and SIGKILL; default 5000. */
  killGraceMs?: number;
  /** Told when the run is not sandboxed; default: a process warning. */
  onWarning?: (message: string) => void;
  /** Other hosts the agent may inspect; unset or without hosts: no `inspect`. */
  inspect?: AgentInspect | undefined;
}

/** How an attempt ended and what it did. */
export interface AgentResult {
  exitCode: number | null;
  signal: string | null;
  ended: "exited" | "timeout" | "idle_timeout" | "aborted";
  stats: AgentStats;
  logPath: string;
  /** Destinations the run's egress proxy refused, with counts (empty on the host's network). */
  egressRefused: Refusal[];
}

/** Errors that keep the agent from starting at all. */
export class AgentError extends Error {
  constructor(
    readonly code: "agent_spawn_failed",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AgentError";
  }
}

type Ended = AgentResult["ended"];

/** What `prepare` decided: the agent's command line and environment, and its sandbox unless configured off. */
interface Plan {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The effective per-run OpenCode config: the egress allowlist reads the model's endpoints from it. */
  opencode: Record<string, unknown>;
  /** The agent goes out through its run's egress proxy. */
  proxied: boolean;
  /** The inspection broker's socket to start, when the run has hosts to inspect. */
  inspectSocket?: string | undefined;
  sandbox?: Omit<SandboxOptions, "command" | "args" | "egressSocket">;
}

/** Writes the run's files and returns the command line to start, sandboxed unless configured off. */
function prepare(spec: AgentSpec): Plan {
  const files = runFiles(spec.runDir);
  const cfg = spec.config;
  mkdirSync(spec.runDir, { recursive: true, mode: 0o700 });
  prepareAgentHome(files.home);
  writeFileSync(files.prompt, spec.prompt);
  writeFileSync(files.context, `${JSON.stringify(spec.context, null, 2)}\n`);
  if (!existsSync(files.prBody)) writeFileSync(files.prBody, spec.prBodyTemplate);
  const sandboxed = cfg.sandbox !== "none";
  const proxied = behindAllowlist(cfg);
  const hosts = spec.inspect?.inspector.hosts() ?? [];
  const inspectSocket = hosts.length > 0 ? inspectSocketPath(spec.runDir) : undefined;
  // The client runs with the service's own node (see hosts/client.ts), visible in the sandbox.
  const client =
    inspectSocket === undefined ? undefined : writeInspectClient(files.bin, inspectSocket, process.execPath);
  const opencode = buildOpencodeConfig({
    allowedCommands: cfg.allowedCommands,
    deniedCommands: proxied ? NIX_OVERRIDE_DENIED : [],
    userConfig: cfg.opencodeConfig,
    model: cfg.model,
    worktree: spec.worktree,
    // The PR body file lives in the run dir, outside the worktree.
    externalDirs: [spec.runDir],
    inspectCommands: hosts.flatMap((h) => (spec.inspect?.commands ?? []).map((c) => `inspect ${h} ${c}`)),
  });
  writeFileSync(files.opencodeConfig, `${JSON.stringify(opencode, null, 2)}\n`);

  const incidentId = String(spec.incidentId);
  const runId = String(spec.runId);
  const args = agentArgs(
    cfg.args,
    {
      worktree: spec.worktree,
      prompt: spec.prompt,
      promptFile: files.prompt,
      title: `incident ${incidentId}`,
      model: cfg.model,
      runId,
      incidentId,
    },
    spec.extraArgs,
  );
  const env = buildAgentEnv({
    servicePath: client ? `${client.binDir}:${spec.servicePath}` : spec.servicePath,
    home: files.home,
    worktree: spec.worktree,
    runId,
    incidentId,
    promptFile: files.prompt,
    contextFile: files.context,
    prBodyFile: files.prBody,
    opencodeConfigFile: files.opencodeConfig,
    agentEnv: spec.agentEnv,
    proxied,
  });
  if (!sandboxed) {
    const warn = spec.onWarning ?? ((m: string) => process.emitWarning(m, { code: "HEALER_NO_SANDBOX" }));
    warn(
      `agent.sandbox is "none": run ${spec.runId} runs unsandboxed; it can read every secret the service can, reach every address the host can, and processes it detaches survive a kill`,
    );
    return { command: cfg.command, args, env, opencode, proxied, inspectSocket };
  }
  return {
    command: cfg.command,
    args,
    env,
    opencode,
    proxied,
    inspectSocket,
    sandbox: {
      worktree: spec.worktree,
      home: files.home,
      stateDir: cfg.stateDir,
      mirrorDir: cfg.mirrorDir ?? mirrorDirOf(spec.worktree),
      hidePaths: cfg.secretPaths,
      credentialsDir: cfg.credentialsDir,
      dbSocketDir: cfg.dbSocketDir ?? "/run/postgresql",
      readOnlyFiles: [files.prompt, files.context, files.opencodeConfig, ...(client?.files ?? [])],
      writableFiles: [files.prBody],
      sockets: inspectSocket === undefined ? [] : [inspectSocket],
    },
  };
}

/**
 * The command line to spawn: bwrap around the agent, and with an egress proxy also the forwarder
 * (started first, by the service's own node) that gives the agent its proxy on the sandbox's loopback.
 */
function launch(plan: Plan, egress: RunEgress | undefined): { command: string; args: string[] } {
  if (plan.sandbox === undefined) return { command: plan.command, args: plan.args };
  const inner = egress
    ? forwarderArgv(process.execPath, egress.socketPath, plan.command, plan.args)
    : { command: plan.command, args: plan.args };
  return {
    command: "bwrap",
    args: sandboxArgv({ ...plan.sandbox, ...inner, egressSocket: egress?.socketPath }),
  };
}

/** Seconds as a timer delay; Node fires longer delays than 2^31-1 ms at once. */
const ms = (seconds: number) => Math.min(seconds * 1000, 2 ** 31 - 1);

/** Signals the agent's whole process group; gone already is fine. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

/**
 * Runs the agent once: cwd the worktree, stdin closed, its own process group (and, sandboxed, its own
 * PID namespace). Output goes to agent.log and is parsed for stats. A wall-clock timeout, an idle
 * timeout (no output at all) and the abort signal each end it: SIGTERM, then SIGKILL after a grace.
 */
export async function runAgent(spec: AgentSpec): Promise<AgentResult> {
  const files = runFiles(spec.runDir);
  const plan = prepare(spec);
  const log = createWriteStream(files.log, { flags: "a", mode: 0o600 });
  const note = (line: string) => log.write(`# homelab-healer: ${line}\n`);
  const collector = new EventCollector();
  note(`agent start ${new Date().toISOString()} run ${spec.runId}`);
  let egress: RunEgress | undefined;
  let broker: InspectBroker | undefined;
  const finish = async (
    r: Omit<AgentResult, "stats" | "logPath" | "egressRefused">,
  ): Promise<AgentResult> => {
    await egress?.proxy.close();
    await broker?.close();
    const egressRefused = egress?.proxy.refusals() ?? [];
    if (egressRefused.length > 0) log.write("\n");
    for (const x of egressRefused) note(`egress refused ${x.destination} ${x.count} time(s)`);
    log.write(`\n# homelab-healer: agent ${r.ended} exit=${r.exitCode} signal=${r.signal}\n`);
    log.end();
    await once(log, "close");
    return { ...r, stats: collector.end(), logPath: files.log, egressRefused };
  };
  if (spec.signal.aborted) return finish({ exitCode: null, signal: null, ended: "aborted" });
  let command: string;
  let args: string[];
  try {
    if (plan.proxied) {
      egress = await startRunEgress({
        runDir: spec.runDir,
        opencodeConfig: plan.opencode,
        agentEnv: spec.agentEnv,
        allowedHosts: spec.config.allowedHosts,
        note,
      });
      note(`egress: own network namespace; allowed ${egress.allowlist.join(", ") || "nothing"}`);
    }
    if (plan.inspectSocket !== undefined && spec.inspect !== undefined) {
      broker = await startInspectBroker({
        socketPath: plan.inspectSocket,
        inspector: spec.inspect.inspector,
        onInspected: spec.inspect.onInspected,
        note,
      });
      note(`inspect: hosts ${spec.inspect.inspector.hosts().join(", ")} through ${broker.socketPath}`);
    }
    ({ command, args } = launch(plan, egress));
  } catch (e) {
    // Nothing started: the proxy (if any) closes and the log says so before the error goes up.
    await finish({ exitCode: null, signal: null, ended: "exited" });
    throw e;
  }
  const env = plan.env;

  const child = spawn(command, args, {
    cwd: spec.worktree,
    env,
    // An open stdin makes `opencode run` wait for EOF forever.
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let ended: Ended | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = (why: Ended) => {
    if (ended !== undefined) return;
    ended = why;
    killGroup(child, "SIGTERM");
    killTimer = setTimeout(() => killGroup(child, "SIGKILL"), spec.killGraceMs ?? 5000);
  };
  const wall = setTimeout(() => terminate("timeout"), ms(spec.config.timeoutSeconds));
  const idle = setTimeout(() => terminate("idle_timeout"), ms(spec.config.idleTimeoutSeconds));
  const onAbort = () => terminate("aborted");
  spec.signal.addEventListener("abort", onAbort, { once: true });
  const activity = () => {
    idle.refresh();
    spec.onActivity?.();
  };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    log.write(chunk);
    collector.push(chunk);
    activity();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    log.write(chunk);
    activity();
  });

  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((ok, fail) => {
      child.once("error", fail);
      child.once("exit", (c, s) => ok([c, s]));
    });
    // Unsandboxed, whatever stayed in the group goes now; sandboxed, the PID namespace is gone already.
    killGroup(child, "SIGKILL");
    await drain(child);
    return await finish({ exitCode: code, signal, ended: ended ?? "exited" });
  } catch (e) {
    await finish({ exitCode: null, signal: null, ended: "exited" });
    throw new AgentError("agent_spawn_failed", `cannot start ${command}: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    clearTimeout(wall);
    clearTimeout(idle);
    clearTimeout(killTimer);
    spec.signal.removeEventListener("abort", onAbort);
  }
}

/** Waits for the output pipes to close; a process that escaped the kill may hold them, so not forever. */
async function drain(child: ChildProcess): Promise<void> {
  const closed = once(child, "close").then(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((ok) => {
    timer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      ok();
    }, 2000);
  });
  await Promise.race([closed, late]);
  clearTimeout(timer);
}
