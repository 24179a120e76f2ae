import { spawn } from "node:child_process";

/** What one ssh child gave. */
export interface SshRun {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
  truncated: boolean;
  ended: "exited" | "timeout" | "aborted";
  spawnError?: string;
}

/**
 * Runs ssh in its own process group with stdin closed; past the byte cap it stops reading and kills the
 * group (what came so far is kept), past the time cap or on abort it kills the group too.
 */
export function runSsh(
  ssh: string,
  args: string[],
  o: {
    path?: string | undefined;
    timeoutMs: number;
    maxBytes: number;
    killGraceMs: number;
    signal?: AbortSignal | undefined;
  },
): Promise<SshRun> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    let ended: SshRun["ended"] = "exited";
    let killTimer: NodeJS.Timeout | undefined;
    // A clean environment: no SSH_AUTH_SOCK, no user config; C messages, which channelError reads.
    const env: Record<string, string> = { LC_ALL: "C" };
    if (o.path !== undefined) env.PATH = o.path;
    if (o.signal?.aborted)
      return resolve({
        code: null,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        truncated,
        ended: "aborted",
      });
    const child = spawn(ssh, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, env });
    const kill = () => {
      if (child.pid === undefined || killTimer !== undefined) return;
      const group = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          // ESRCH: the group is gone already.
        }
      };
      group("SIGTERM");
      killTimer = setTimeout(() => group("SIGKILL"), o.killGraceMs);
    };
    const take = (into: Buffer[]) => (chunk: Buffer) => {
      if (truncated) return;
      const room = o.maxBytes - bytes;
      if (chunk.length > room) {
        into.push(chunk.subarray(0, room));
        bytes += room;
        truncated = true;
        child.stdout?.destroy();
        child.stderr?.destroy();
        kill();
        return;
      }
      into.push(chunk);
      bytes += chunk.length;
    };
    child.stdout?.on("data", take(out));
    child.stderr?.on("data", take(err));
    const timer = setTimeout(() => {
      ended = "timeout";
      kill();
    }, o.timeoutMs);
    const onAbort = () => {
      ended = "aborted";
      kill();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const done = (code: number | null, spawnError?: string) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      o.signal?.removeEventListener("abort", onAbort);
      const r: SshRun = { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err), truncated, ended };
      resolve(spawnError === undefined ? r : { ...r, spawnError });
    };
    child.once("error", (e) => done(null, e.message));
    // "close", not "exit": the output is all read (or dropped on purpose) by then.
    child.once("close", (code) => done(code));
  });
}
