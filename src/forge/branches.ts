import { GitError } from "./errors.js";
import { type GitOptions, gitAt, step } from "./git-run.js";

/** `main` → `refs/remotes/origin/main`; full refs and `origin/x` are taken as given. */
function baseRef(base: string): string {
  if (base.startsWith("refs/")) return base;
  if (base.startsWith("origin/")) return `refs/remotes/${base}`;
  return `refs/remotes/origin/${base}`;
}

/** The sha of `branch` on the remote right now, or undefined when it does not exist there. */
async function remoteHead(repo: string, branch: string, opts: GitOptions): Promise<string | undefined> {
  const out = await step("ls-remote", opts, () =>
    gitAt(repo, opts).raw(["ls-remote", "origin", `refs/heads/${branch}`]),
  );
  return out.trim().split(/\s+/)[0] || undefined;
}

/**
 * Distinct author and committer emails of commits on the remote `branch` that are not on `base`
 * (fetched fresh). Anything other than our own address means a human touched the branch.
 */
export async function remoteBranchAuthors(
  repo: string,
  branch: string,
  base: string,
  opts: GitOptions = {},
): Promise<string[]> {
  const git = gitAt(repo, opts);
  const tracking = `refs/remotes/origin/${branch}`;
  if ((await remoteHead(repo, branch, opts)) === undefined) {
    await git.raw(["update-ref", "-d", tracking]).catch(() => undefined);
    return [];
  }
  return step("branch authors", opts, async () => {
    await git.raw(["fetch", "--no-tags", "--quiet", "origin", `+refs/heads/${branch}:${tracking}`]);
    const out = await git.raw(["log", "--format=%ae%x00%ce", tracking, `^${baseRef(base)}`, "--"]);
    const seen = new Map<string, string>();
    for (const email of out.split(/[\n\0]/)) {
      const e = email.trim();
      if (e !== "" && !seen.has(e.toLowerCase())) seen.set(e.toLowerCase(), e);
    }
    return [...seen.values()];
  });
}

/** Throws `git_branch_foreign` when the remote branch carries commits by anyone but `email`. */
async function assertOwned(
  repo: string,
  branch: string,
  guard: { email: string; base: string },
  opts: GitOptions,
): Promise<void> {
  const authors = await remoteBranchAuthors(repo, branch, guard.base, opts);
  const others = authors.filter((a) => a.toLowerCase() !== guard.email.toLowerCase());
  if (others.length > 0) {
    throw new GitError("git_branch_foreign", `branch ${branch} has commits by ${others.join(", ")}`);
  }
}

/** How to push: lease against what we last fetched, and refuse branches others committed to. */
export interface PushOptions {
  forceWithLease?: boolean;
  /** When set, the push is refused if the remote branch has commits by anyone but `email`. */
  onlyIfOwnedBy?: { email: string; base: string };
}

/**
 * Pushes local `branch` (from the mirror or any of its worktrees) to the same name on origin and
 * returns the pushed sha. With `forceWithLease` a re-run may replace its own earlier push, but not
 * anything pushed since we last saw the branch.
 */
export async function pushBranch(
  repo: string,
  branch: string,
  push: PushOptions = {},
  opts: GitOptions = {},
): Promise<{ sha: string }> {
  if (push.onlyIfOwnedBy) await assertOwned(repo, branch, push.onlyIfOwnedBy, opts);
  const git = gitAt(repo, opts);
  const ref = `refs/heads/${branch}`;
  const args = ["push", "--porcelain", "--no-verify"];
  if (push.forceWithLease) args.push(`--force-with-lease=${ref}`);
  args.push("origin", `${ref}:${ref}`);
  await step(`push ${branch}`, opts, () => git.raw(args));
  return { sha: (await step("rev-parse", opts, () => git.raw(["rev-parse", ref]))).trim() };
}

/**
 * Deletes `branch` on origin (and our local copy). Idempotent: a branch already gone is `absent`.
 * With `onlyIfOwnedBy`, a branch someone else committed to is left alone and reported `foreign`.
 */
export async function deleteRemoteBranch(
  repo: string,
  branch: string,
  del: { onlyIfOwnedBy?: { email: string; base: string } } = {},
  opts: GitOptions = {},
): Promise<"deleted" | "absent" | "foreign"> {
  const git = gitAt(repo, opts);
  const head = await remoteHead(repo, branch, opts);
  if (head !== undefined) {
    if (del.onlyIfOwnedBy) {
      try {
        await assertOwned(repo, branch, del.onlyIfOwnedBy, opts);
      } catch (e) {
        if (e instanceof GitError && e.code === "git_branch_foreign") return "foreign";
        throw e;
      }
    }
    // The lease is the sha just seen: a push that lands in between is not deleted with it.
    await step(`delete ${branch}`, opts, () =>
      git.raw([
        "push",
        "--porcelain",
        `--force-with-lease=refs/heads/${branch}:${head}`,
        "origin",
        `:refs/heads/${branch}`,
      ]),
    );
  }
  await git.raw(["update-ref", "-d", `refs/remotes/origin/${branch}`]).catch(() => undefined);
  // Fails while a worktree still has it checked out; the worktree's cleanup comes first.
  await git.raw(["branch", "--quiet", "-D", branch]).catch(() => undefined);
  return head === undefined ? "absent" : "deleted";
}
