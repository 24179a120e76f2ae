import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The real entry point, run as an owner runs it (through tsx: no build needed). */
export const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
// Absolute, so the child may run in any directory (the embedded default lives in the cwd).
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

export interface CliProcess {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves with the first match of `re` on stderr; rejects if the process exits first. */
  waitForErr(re: RegExp): Promise<RegExpExecArray>;
  /** SIGTERM by pid, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

/** `homelab-healer ARGS…` as a child process of the real entry point. */
export function startCli(args: string[], opts: { cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitForErr: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(err);
          if (!m) return false;
          child.stderr!.off("data", check);
          resolve(m);
          return true;
        };
        if (check()) return;
        child.stderr!.on("data", check);
        void exited.then((code) => {
          if (!check()) reject(new Error(`exited with ${code} before ${re}: ${err}`));
        });
      }),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Runs `homelab-healer ARGS…` to its end. A process still running after `timeoutMs` is killed and
 * the call throws: a command that should exit by itself but hangs is a failure, not a slow pass.
 */
export async function runCliProcess(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startCli(args, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.child.kill("SIGKILL");
  }, opts.timeoutMs ?? 60_000);
  const code = await p.exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`homelab-healer ${args.join(" ")} did not exit by itself: ${p.err()}`);
  return { code, stdout: p.out(), stderr: p.err() };
}

/** A CliIo for `runCli` in this process that keeps what the command printed. */
export function captureIo(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdout: (s: string) => void out.push(s),
      stderr: (s: string) => void err.push(s),
    },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

/** The running test service's own config file, with the port it got: what `--config` gives the CLI. */
export function cliConfigFor(h: { dir: string; url: string }): string {
  const file = join(h.dir, "cli.json");
  const service = JSON.parse(readFileSync(join(h.dir, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(
    file,
    JSON.stringify({ ...service, listen: { host: "127.0.0.1", port: Number(new URL(h.url).port) } }),
  );
  return file;
}
