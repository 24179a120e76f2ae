/* What a forge is, apart from any implementation (github.ts, forgejo.ts, the dry run in forge.ts). */

/** A pull request as the control plane tracks it. */
export interface PullRequest {
  number: number;
  url: string;
  state: "open" | "merged" | "closed";
  mergedAt: Date | null;
  headSha: string;
  head: string;
  draft: boolean;
}

/** What a run asks the forge to open. */
export interface PullRequestInput {
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

/** Cancellation for one forge call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Cancellation, and the commit the branch must still point at to be deleted. */
export interface DeleteBranchOptions extends CallOptions {
  expectedHead?: string;
}

/**
 * The forge operations the runs and the lifecycle need; every one is idempotent, keyed by the branch
 * or the PR number. Failures are ForgeErrors whose `retryable` tells the worker not to spend an attempt.
 */
export interface Forge {
  /** `github`, `forgejo` and `gitea` push and open PRs; `none` is the dry run: commits stay local. */
  readonly type: "github" | "forgejo" | "gitea" | "none";
  /** The open PR whose head is `head`, if any. */
  findOpenPr(head: string, opts?: CallOptions): Promise<PullRequest | null>;
  /** Find-or-create: an open PR of the same head is reused (and labelled), never duplicated. */
  createPr(input: PullRequestInput, opts?: CallOptions): Promise<(PullRequest & { created: boolean }) | null>;
  /** The PR's current state. */
  getPr(number: number, opts?: CallOptions): Promise<PullRequest>;
  /** Adds a comment to the PR's conversation. */
  comment(number: number, body: string, opts?: CallOptions): Promise<{ id: number; url: string } | null>;
  /** Closes the PR without merging (operator dismissal); an already closed PR stays as it is. */
  closePr(number: number, opts?: CallOptions): Promise<PullRequest>;
  /**
   * Deletes a branch on the forge; a branch already gone is `absent`, not an error. With
   * `expectedHead`, a branch whose head is another commit (someone pushed to it) is kept: `foreign`.
   */
  deleteBranch(branch: string, opts?: DeleteBranchOptions): Promise<"deleted" | "absent" | "foreign">;
}
