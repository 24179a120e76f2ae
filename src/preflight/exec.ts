import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** How a program run ended: its output, or why it could not start. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started or was killed by the timeout (ENOENT, EACCES, …). */
  error?: string;
}

/** Runs a program with exactly `env` (no inherited environment), a timeout and no stdin. */
export function runProgram(
  command: string,
  args: string[],
  opts: { env: Record<string, string>; timeoutMs?: number; cwd?: string; signal?: AbortSignal | undefined },
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        env: opts.env,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: "SIGKILL",
        maxBuffer: 4 * 1024 * 1024,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
        if (!e) return resolve({ code: 0, stdout, stderr });
        if (typeof e.code === "number") return resolve({ code: e.code, stdout, stderr });
        const why = e.killed
          ? `timed out after ${(opts.timeoutMs ?? 30_000) / 1000} s`
          : (e.code ?? e.message);
        resolve({ code: null, stdout, stderr, error: String(why) });
      },
    );
    child.stdin?.end();
  });
}

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `name` is found on `path` (or itself when it has a slash), undefined when nowhere. */
export function findOnPath(name: string, path: string): string | undefined {
  if (name.includes("/")) return isAbsolute(name) && executable(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** The first line of a program's output, trimmed and bounded (for `found`). */
export function firstLine(text: string, max = 200): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
