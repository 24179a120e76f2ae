import { type SimpleGit, simpleGit } from "simple-git";
import { GitError, type GitErrorCode } from "./errors.js";

/** What every git call may carry: cancellation, and the deploy key for remote operations. */
export interface GitOptions {
  signal?: AbortSignal;
  /** `repo.sshKeyFile`, already resolved to an absolute path. */
  sshKeyFile?: string;
  /** `repo.knownHostsFile`: the only host keys ssh trusts when set. */
  knownHostsFile?: string;
}

/** Author/committer identity given per call, never read from any global git config. */
export interface GitIdentity {
  name: string;
  email: string;
}

const ALLOWED_ENV = ["GIT_SSH_COMMAND", "GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL"];

/** Quotes a word for the shell git runs GIT_SSH_COMMAND with. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The ssh command line for a deploy key: only that key, only known hosts, never a prompt. */
export function sshCommand(sshKeyFile: string, knownHostsFile?: string): string {
  const parts = ["ssh", "-i", shellQuote(sshKeyFile), "-o", "IdentitiesOnly=yes"];
  if (knownHostsFile !== undefined) parts.push("-o", `UserKnownHostsFile=${shellQuote(knownHostsFile)}`);
  parts.push("-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes");
  return parts.join(" ");
}

/**
 * The whole environment git runs with. Built from scratch so no credential helper, askpass, global
 * or system config of the service user can leak into (or answer for) our pushes.
 */
export function gitEnv(opts: GitOptions): Record<string, string> {
  const env: Record<string, string> = {
    // PATH is the one thing taken from the process: git must find itself and ssh.
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  if (opts.sshKeyFile !== undefined) env.GIT_SSH_COMMAND = sshCommand(opts.sshKeyFile, opts.knownHostsFile);
  return env;
}

/** A simple-git instance rooted at `dir` with our environment and per-call config. */
export function gitAt(dir: string, opts: GitOptions, identity?: GitIdentity): SimpleGit {
  const config = ["commit.gpgSign=false", "core.quotePath=false", "advice.detachedHead=false"];
  if (identity) config.push(`user.name=${identity.name}`, `user.email=${identity.email}`);
  const git = simpleGit({
    baseDir: dir,
    config,
    allowEnvironment: ALLOWED_ENV,
    trimmed: false,
    // simple-git guards these variables against injection; here they are ours, built from scratch
    // above, and exist precisely to shut out the user's config and to pin the deploy key.
    unsafe: { allowUnsafeConfigPaths: true, allowUnsafeSshCommand: true },
    ...(opts.signal ? { abort: opts.signal } : {}),
  });
  return git.env(gitEnv(opts));
}

const UNAVAILABLE =
  /could not read from remote|unable to access|connection (refused|reset|timed out)|could not resolve host|network is unreachable|operation timed out|early eof|the remote end hung up/i;
const REJECTED = /\[rejected\]|stale info|non-fast-forward|fetch first|\[remote rejected\]/i;

/** Maps a simple-git failure to a GitError with a closed code. */
export function toGitError(error: unknown, what: string, signal?: AbortSignal): GitError {
  if (error instanceof GitError) return error;
  const text = error instanceof Error ? error.message : String(error);
  let code: GitErrorCode = "git_failed";
  const plugin = (error as { plugin?: unknown } | null)?.plugin;
  if (signal?.aborted || plugin === "abort") code = "git_aborted";
  else if (REJECTED.test(text)) code = "git_push_rejected";
  else if (UNAVAILABLE.test(text)) code = "git_remote_unavailable";
  const firstLines = text.trim().split("\n").slice(0, 6).join("\n");
  return new GitError(code, `${what}: ${firstLines}`, { cause: error });
}

/** Runs one git step, turning any failure into a GitError naming the step. */
export async function step<T>(what: string, opts: GitOptions, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toGitError(e, what, opts.signal);
  }
}
