import { z } from "zod";

/*
 * The parts of Forgejo/Gitea API v1 answers the adapter reads (modules/structs in go-gitea/gitea;
 * Forgejo keeps the same JSON). Unknown fields pass: servers add fields between releases.
 */

/** `PRBranchInfo`: `label` is the bare branch name; `ref` turns into `refs/pull/N/head` once the
 * branch is deleted (services/convert/pull.go), so the branch is read from `label`. */
export const prBranchSchema = z.object({
  label: z.string(),
  ref: z.string(),
  sha: z.string(),
  repo: z.object({ full_name: z.string() }).nullish(),
});

/** `PullRequest` (modules/structs/pull.go): merged is `state: closed` plus `merged: true`. */
export const pullSchema = z.object({
  number: z.number().int(),
  html_url: z.string(),
  title: z.string(),
  state: z.enum(["open", "closed"]),
  merged: z.boolean().nullish(),
  merged_at: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  // Newer servers report it (computed from the WIP title prefixes); older ones do not.
  draft: z.boolean().optional(),
  head: prBranchSchema,
  base: z.object({ ref: z.string() }),
});
export type ForgejoPull = z.infer<typeof pullSchema>;

export const pullListSchema = z.array(pullSchema);

/** `Label`: ids are what `POST /pulls` and `POST /issues/{n}/labels` take. */
export const labelSchema = z.object({ id: z.number().int(), name: z.string() });
export const labelListSchema = z.array(labelSchema);

/** `Comment`. */
export const commentSchema = z.object({ id: z.number().int(), html_url: z.string() });

/** `Branch`: the human-push check compares `commit.id`. */
export const branchSchema = z.object({
  name: z.string(),
  commit: z.object({ id: z.string() }),
  protected: z.boolean().optional(),
});

/** `GET /version`. */
export const versionSchema = z.object({ version: z.string() });

/** `GET /repos/{o}/{r}`: `permissions` is the user's role on the repo, not the token's scopes. */
export const repoSchema = z.object({
  full_name: z.string(),
  default_branch: z.string().optional(),
  archived: z.boolean().optional(),
  permissions: z.object({ admin: z.boolean(), push: z.boolean(), pull: z.boolean() }).partial().nullish(),
});
