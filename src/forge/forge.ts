import type { Logger } from "pino";
import type { Config, Secrets } from "../config/load.js";
import { ForgeError } from "./errors.js";
import { createGithubForge, type RetryPolicy } from "./github.js";

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

/**
 * The forge operations the runs and the lifecycle need; every one is idempotent, keyed by the branch
 * or the PR number. Failures are ForgeErrors whose `retryable` tells the worker not to spend an attempt.
 */
export interface Forge {
  /** `github` pushes and opens PRs; `none` is the dry run: commits stay local. */
  readonly type: "github" | "none";
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
  /** Deletes a branch on the forge; a branch already gone is `absent`, not an error. */
  deleteBranch(branch: string, opts?: CallOptions): Promise<"deleted" | "absent">;
}

/** `forge.type = "none"`: nothing leaves the machine; createPr answers null. */
export const noneForge: Forge = {
  type: "none",
  findOpenPr: async () => null,
  createPr: async () => null,
  getPr: async (number) => {
    throw new ForgeError("forge_rejected", `forge.type is "none": there is no PR #${number} to read`);
  },
  comment: async () => null,
  closePr: async (number) => {
    throw new ForgeError("forge_rejected", `forge.type is "none": there is no PR #${number} to close`);
  },
  deleteBranch: async () => "absent",
};

/** The forge the config asks for: GitHub with the token from `forge.tokenFile`, or the dry run. */
export function createForge(
  config: Pick<Config, "forge">,
  secrets: Pick<Secrets, "forgeToken">,
  options: { logger?: Logger; retry?: RetryPolicy } = {},
): Forge {
  const f = config.forge;
  if (f.type === "none") return noneForge;
  if (f.owner === undefined || f.repo === undefined || secrets.forgeToken === undefined) {
    throw new ForgeError("forge_auth", "forge.owner, forge.repo and forge.tokenFile are needed for GitHub");
  }
  return createGithubForge({
    apiUrl: f.apiUrl,
    token: secrets.forgeToken,
    owner: f.owner,
    repo: f.repo,
    labels: f.labels,
    ...options,
  });
}
