import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { homeDirs } from "../agent/environment.js";
import { mirrorDirOf, sandboxArgv } from "../agent/sandbox.js";
import type { WorkerDeps } from "./types.js";

export interface ValidateResult {
  result: "passed" | "failed" | "skipped";
  /** The command's output (tail), for the agent's extra turn and the draft PR. */
  output: string;
}

const KEEP = 16_000;

/**
 * Runs `validate.command` in the worktree, in the same sandbox as the agent (the change is untrusted
 * until reviewed), with `validate.timeoutSeconds`. Output is appended to the run's validate.log.
 */
export async function validate(
  deps: Pick<WorkerDeps, "config" | "servicePath">,
  v: { worktree: string; runDir: string; signal: AbortSignal },
): Promise<ValidateResult> {
  const { config } = deps;
  const command = config.validate.command;
  if (!command || command.length === 0) return { result: "skipped", output: "" };
  const home = join(v.runDir, "home");
  const [cmd, ...args] = command as [string, ...string[]];
  const argv =
    config.agent.sandbox === "none"
      ? [cmd, ...args]
      : [
          "bwrap",
          ...sandboxArgv({
            command: cmd,
            args,
            worktree: v.worktree,
            home,
            stateDir: config.stateDir,
            mirrorDir: mirrorDirOf(v.worktree),
            hidePaths: config.secretPaths,
            dbSocketDir: "/run/postgresql",
          }),
        ];
  const log = createWriteStream(join(v.runDir, "validate.log"), { flags: "a", mode: 0o600 });
  log.write(`$ ${command.join(" ")}\n`);
  let output = "";
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: v.worktree,
    env: { PATH: deps.servicePath, ...homeDirs(home) },
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
  log.write(`[exit ${code}]\n`);
  await new Promise<void>((resolve) => log.end(() => resolve()));
  return { result: code === 0 ? "passed" : "failed", output };
}
