import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the service runs from its sources with tsx, as `npx tsx src/main.ts` does. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface ServiceProcess {
  pid: number;
  /** Base URL, read from the "listening on" line. */
  url: string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** SIGTERM (ordered shutdown), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL, no shutdown at all. */
  kill(): Promise<number | string>;
  /** Everything the process wrote to stderr so far (a crash's stack trace lands there). */
  stderrText(): string;
}

/**
 * The Node options the NixOS module's unit runs `serve` with (module/default.nix, NODE_OPTIONS): the
 * bench measures the service as it runs there. test/structure/node-options.test.ts keeps them equal.
 */
export const SERVICE_NODE_OPTIONS = ["--max-old-space-size=256"];

export class ServiceStartError extends Error {
  readonly code = "service_start_failed";
}

/** Compiles the service as `npm run build` does, into `bench/.build/dist` (a built, not a loader, RSS). */
export function buildService(): string {
  const outDir = join(ROOT, "bench", ".build", "dist");
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json", "--outDir", outDir],
    {
      cwd: ROOT,
      stdio: "inherit",
    },
  );
  return join(outDir, "main.js");
}

/**
 * Starts `homelab-healer serve --config FILE` as a child process, its JSON log appended to
 * `logFile`; resolves once listening. `main` is a built `main.js`; without it the sources run with
 * the tsx loader in the same process (so the pid is the service's either way).
 */
export async function startService(
  configPath: string,
  opts: {
    logFile: string;
    main?: string;
    timeoutMs?: number;
    /** Node options before the entry point (the profiling probe's `--import`). */
    nodeArgs?: string[];
    env?: Record<string, string>;
  },
): Promise<ServiceProcess> {
  const out = openSync(opts.logFile, "a");
  const entry = opts.main ? [opts.main] : ["--import", "tsx", "src/main.ts"];
  const child: ChildProcess = spawn(
    process.execPath,
    [...SERVICE_NODE_OPTIONS, ...(opts.nodeArgs ?? []), ...entry, "serve", "--config", configPath],
    {
      cwd: ROOT,
      stdio: ["ignore", out, "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env },
    },
  );
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new ServiceStartError(`service did not listen within ${opts.timeoutMs ?? 30_000} ms: ${stderr}`),
      );
    }, opts.timeoutMs ?? 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new ServiceStartError(`service exited (${code}) before listening: ${stderr}`));
    });
  });
  const pid = child.pid!;
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  return {
    pid,
    url,
    exited,
    async stop(graceMs = 20_000) {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      signal("SIGKILL");
      return exited;
    },
    stderrText: () => stderr,
  };
}
