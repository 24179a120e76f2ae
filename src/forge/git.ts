import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { GitError } from "./errors.js";
import { type GitOptions, gitAt, step } from "./git-run.js";

export { deleteRemoteBranch, pushBranch, remoteBranchAuthors } from "./branches.js";
export { type ChangedFile, changedFiles, diffText } from "./changes.js";
export type { GitIdentity, GitOptions } from "./git-run.js";

/** Where the mirror lives in the state dir (SPEC §7). */
export function mirrorPath(stateDir: string): string {
  return join(resolve(stateDir), "mirror.git");
}

/**
 * Creates the bare mirror of `url` once, then fetches. Branches land in `refs/remotes/origin/*` so our
 * own `healer/*` branches in `refs/heads` survive `--prune`.
 */
export async function ensureMirror(
  opts: GitOptions & { mirror: string; url: string },
): Promise<{ mirror: string }> {
  const mirror = resolve(opts.mirror);
  if (!existsSync(join(mirror, "HEAD"))) await step("init mirror", opts, () => initBare(mirror, opts));
  const git = gitAt(mirror, opts);
  const fetchSpec = "+refs/heads/*:refs/remotes/origin/*";
  await withLockRetry(opts, () =>
    step("configure mirror", opts, async () => {
      // The config is written only when it differs (a changed repo.url takes effect on the next
      // run), so concurrent runs rarely contend for it.
      const current = await git.raw(["config", "--get-regexp", "^remote\\.origin\\."]).catch(() => "");
      if (!current.includes(`remote.origin.url ${opts.url}\n`)) {
        await git.raw(["config", "remote.origin.url", opts.url]);
      }
      if (!current.includes(`remote.origin.fetch ${fetchSpec}\n`)) {
        await git.raw(["config", "--replace-all", "remote.origin.fetch", fetchSpec]);
      }
    }),
  );
  await withLockRetry(opts, () =>
    step("fetch origin", opts, () => git.raw(["fetch", "--prune", "--no-tags", "--quiet", "origin"])),
  );
  return { mirror };
}

/**
 * Creates a bare repository at `path` all at once: `git init` in a sibling directory, then a rename.
 * Two runs that both find no mirror each build one; the first rename wins, the other is discarded
 * (two `git init`s in one directory collide copying the hook templates).
 */
async function initBare(path: string, opts: GitOptions): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const scratch = mkdtempSync(join(dirname(path), `.${basename(path)}.init-`));
  try {
    await gitAt(scratch, opts).raw(["init", "--bare", "--quiet"]);
    // rename(2) replaces an empty directory, and fails on one that holds the winner's repository.
    renameSync(scratch, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// The last alternative: `git worktree add` reads every registered worktree's files (to refuse a
// branch checked out twice) and dies on one that another worker's `worktree add` has registered but
// not yet written (seen under load: "failed to read worktrees/c2/commondir: Success").
const LOCKED =
  /could not lock|cannot lock ref|unable to create '[^']*\.lock'|\.lock': file exists|failed to read worktrees\/[^/\s]+\/(commondir|gitdir)/i;

/**
 * Retries a step that lost a race for one of git's lock files, or for a half-registered worktree:
 * runs of several workers share the mirror, and a fetch, config write or worktree add of one makes
 * the other's fail fast instead of waiting.
 */
async function withLockRetry<T>(opts: GitOptions, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof GitError && e.code === "git_failed" && LOCKED.test(e.message)) || attempt >= 6)
        throw e;
      const ms = 25 * 2 ** attempt + Math.random() * 50;
      await new Promise((r) => setTimeout(r, ms));
      if (opts.signal?.aborted) throw e;
    }
  }
}

/** One entry of `git worktree list`, the bare mirror itself left out. */
export interface WorktreeInfo {
  path: string;
  head: string | undefined;
  /** Short branch name, or undefined when detached. */
  branch: string | undefined;
  /** Registered, but its directory is gone. */
  prunable: boolean;
}

/** Lists the worktrees registered in the mirror. */
export async function listWorktrees(mirror: string, opts: GitOptions = {}): Promise<WorktreeInfo[]> {
  const out = await withLockRetry(opts, () =>
    step("list worktrees", opts, () => gitAt(mirror, opts).raw(["worktree", "list", "--porcelain"])),
  );
  const result: WorktreeInfo[] = [];
  for (const block of out.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l !== "");
    const path = lines.find((l) => l.startsWith("worktree "))?.slice("worktree ".length);
    if (path === undefined || lines.includes("bare")) continue;
    const branch = lines.find((l) => l.startsWith("branch "))?.slice("branch refs/heads/".length);
    result.push({
      path,
      head: lines.find((l) => l.startsWith("HEAD "))?.slice("HEAD ".length),
      branch,
      prunable: lines.some((l) => l.startsWith("prunable")),
    });
  }
  return result;
}

/** A path made comparable with what git prints (git stores real paths). */
function canonical(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return join(realpathSync(dirname(abs)), basename(abs));
    } catch {
      return abs;
    }
  }
}

/** The worktree checked out for `branch`: where it is and which commit it started from. */
export interface Worktree {
  path: string;
  branch: string;
  baseSha: string;
}

/**
 * Checks out `branch` at `base` (e.g. `origin/main`) in a worktree at `path`. Idempotent: a worktree
 * or branch left by an earlier attempt is reset to `base`, untracked files and all.
 */
export async function createWorktree(
  mirror: string,
  spec: { branch: string; base: string; path: string },
  opts: GitOptions = {},
): Promise<Worktree> {
  const path = canonical(spec.path);
  const git = gitAt(mirror, opts);
  const baseSha = (
    await step(`resolve ${spec.base}`, opts, () =>
      git.raw(["rev-parse", "--verify", `${spec.base}^{commit}`]),
    )
  ).trim();
  await withLockRetry(opts, () => step("prune worktrees", opts, () => git.raw(["worktree", "prune"])));
  const existing = await listWorktrees(mirror, opts);
  for (const w of existing) {
    // A branch can be checked out in one worktree only: an earlier attempt elsewhere gives way.
    if (w.branch === spec.branch && canonical(w.path) !== path) {
      await step("remove old worktree", opts, () =>
        git.raw(["worktree", "remove", "--force", "--force", w.path]),
      );
    }
  }
  const here = existing.find((w) => canonical(w.path) === path);
  if (here && existsSync(path)) {
    const wt = gitAt(path, opts);
    await step("reset worktree", opts, async () => {
      await wt.raw(["checkout", "--force", "--no-track", "-B", spec.branch, baseSha]);
      await wt.raw(["clean", "-ffdx", "--quiet"]);
    });
  } else {
    if (existsSync(path)) rmSync(path, { recursive: true, force: true });
    mkdirSync(dirname(path), { recursive: true });
    await withLockRetry(opts, () =>
      step("add worktree", opts, () =>
        git.raw(["worktree", "add", "--force", "--quiet", "--no-track", "-B", spec.branch, path, baseSha]),
      ),
    );
  }
  return { path, branch: spec.branch, baseSha };
}

/** True when `path` is a worktree directory whose `.git` file points into `mirror`. */
function belongsTo(path: string, mirror: string): boolean {
  try {
    const text = readFileSync(join(path, ".git"), "utf8");
    const gitdir = /^gitdir: (.*)$/m.exec(text)?.[1]?.trim();
    return gitdir !== undefined && canonical(gitdir).startsWith(`${canonical(mirror)}/worktrees/`);
  } catch {
    return false;
  }
}

/** Removes a worktree (registered or left over) and forgets it; idempotent. */
export async function removeWorktree(mirror: string, path: string, opts: GitOptions = {}): Promise<void> {
  const target = canonical(path);
  const git = gitAt(mirror, opts);
  const registered = (await listWorktrees(mirror, opts)).some((w) => canonical(w.path) === target);
  // Only directories that are ours are deleted from disk: never a path that merely was passed in.
  if (registered || belongsTo(target, mirror)) {
    if (registered && existsSync(target)) {
      await step("remove worktree", opts, () =>
        git.raw(["worktree", "remove", "--force", "--force", target]),
      );
    }
    rmSync(target, { recursive: true, force: true });
  }
  await pruneWorktrees(mirror, opts);
}

/** Forgets worktrees whose directories are gone. */
export async function pruneWorktrees(mirror: string, opts: GitOptions = {}): Promise<void> {
  await step("prune worktrees", opts, () => gitAt(mirror, opts).raw(["worktree", "prune"]));
}

export const INCIDENT_TRAILER = "Healer-Incident";

/** What commitAll did: the branch head, and whether a new commit was made for it. */
export interface CommitResult {
  sha: string;
  committed: boolean;
}

/**
 * Stages everything (untracked included) and commits with the `Healer-Incident` trailer.
 * Idempotent: with nothing staged it makes no commit and returns the current head.
 */
export async function commitAll(
  worktree: string,
  commit: { message: string; authorName: string; authorEmail: string; incidentId: number | string },
  opts: GitOptions = {},
): Promise<CommitResult> {
  const identity = { name: commit.authorName, email: commit.authorEmail };
  const git = gitAt(worktree, opts, identity);
  return step("commit", opts, async () => {
    await git.raw(["add", "--all"]);
    const staged = await git.raw(["diff", "--cached", "--name-only", "-z"]);
    if (staged === "") {
      return { sha: (await git.raw(["rev-parse", "HEAD"])).trim(), committed: false };
    }
    const trailer = `${INCIDENT_TRAILER}: ${commit.incidentId}`;
    const body = commit.message.trim();
    if (body === "") throw new GitError("git_failed", "commit: empty message");
    const message = body.includes(trailer) ? body : `${body}\n\n${trailer}`;
    // --cleanup=whitespace: a "# Title" line from the PR template is text, not a comment to strip.
    await git.raw([
      "commit",
      "--quiet",
      "--no-verify",
      "--cleanup=whitespace",
      `--author=${commit.authorName} <${commit.authorEmail}>`,
      "--message",
      message,
    ]);
    return { sha: (await git.raw(["rev-parse", "HEAD"])).trim(), committed: true };
  });
}
