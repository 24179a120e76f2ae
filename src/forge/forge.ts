import type { Logger } from "pino";
import type { Config, Secrets } from "../config/load.js";
import { ForgeError } from "./errors.js";
import { createForgejoForge } from "./forgejo.js";
import { createGithubForge, type RetryPolicy } from "./github.js";
import type { Forge } from "./types.js";

// The interfaces live in types.ts (github.ts implements them; importing them from here made a cycle).
export type { CallOptions, DeleteBranchOptions, Forge, PullRequest, PullRequestInput } from "./types.js";

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

/** The forge the config asks for: GitHub, Forgejo or Gitea with the token from `forge.tokenFile`, or the dry run. */
export function createForge(
  config: Pick<Config, "forge">,
  secrets: Pick<Secrets, "forgeToken">,
  options: { logger?: Logger; retry?: RetryPolicy } = {},
): Forge {
  const f = config.forge;
  if (f.type === "none") return noneForge;
  if (f.owner === undefined || f.repo === undefined || secrets.forgeToken === undefined) {
    throw new ForgeError(
      "forge_auth",
      `forge.owner, forge.repo and forge.tokenFile are needed for ${f.type}`,
    );
  }
  const common = {
    apiUrl: f.apiUrl,
    token: secrets.forgeToken,
    owner: f.owner,
    repo: f.repo,
    labels: f.labels,
    ...options,
  };
  return f.type === "github" ? createGithubForge(common) : createForgejoForge({ ...common, type: f.type });
}
