/** Why a forge (GitHub API) call failed: a closed set, so retry decisions are exhaustive. */
export type ForgeErrorCode = "forge_unavailable" | "forge_rate_limited" | "forge_rejected" | "forge_auth";

/** Why a git operation against the mirror or the remote failed. */
export type GitErrorCode =
  | "git_failed"
  | "git_remote_unavailable"
  | "git_push_rejected"
  | "git_branch_foreign"
  | "git_aborted";

/** True when trying again later may succeed; a retryable error never spends an agent attempt. */
export function forgeCodeRetryable(code: ForgeErrorCode): boolean {
  switch (code) {
    case "forge_unavailable":
    case "forge_rate_limited":
      return true;
    case "forge_auth":
    case "forge_rejected":
      return false;
  }
}

/** True when trying again later may succeed (a network hiccup, a cancelled step). */
export function gitCodeRetryable(code: GitErrorCode): boolean {
  switch (code) {
    case "git_remote_unavailable":
    case "git_aborted":
      return true;
    case "git_failed":
    case "git_push_rejected":
    case "git_branch_foreign":
      return false;
  }
}

/** A GitHub API failure after the client's own retries. */
export class ForgeError extends Error {
  override readonly name = "ForgeError";
  readonly retryable: boolean;
  /** The HTTP status when GitHub answered at all. */
  readonly status: number | undefined;
  constructor(
    readonly code: ForgeErrorCode,
    message: string,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryable = forgeCodeRetryable(code);
    this.status = options.status;
  }
}

/** A git failure; `message` never holds a credential (git prints none with our environment). */
export class GitError extends Error {
  override readonly name = "GitError";
  readonly retryable: boolean;
  constructor(
    readonly code: GitErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryable = gitCodeRetryable(code);
  }
}

/** Whether an error from this folder may be retried later without spending an agent attempt. */
export function isRetryableForgeFailure(error: unknown): boolean {
  return (error instanceof ForgeError || error instanceof GitError) && error.retryable;
}
