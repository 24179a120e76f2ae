import { ForgeError } from "./errors.js";
import { createForgejoClient, errorMessage, type ForgejoClient } from "./forgejo-http.js";
import { createForgejoLabels } from "./forgejo-labels.js";
import {
  branchSchema,
  commentSchema,
  type ForgejoPull,
  pullListSchema,
  pullSchema,
} from "./forgejo-schemas.js";
import type { GithubForgeOptions } from "./github.js";
import type { Forge, PullRequest, PullRequestInput } from "./types.js";

/*
 * Forgejo and Gitea behind the one Forge interface. Their quirks stay in here (STYLE: Renovate's
 * platform adapters): no draft field (a WIP title prefix is the draft), 409 for a second PR of a
 * head (reuse it), labels by id, no head filter on the PR list (page through it).
 */

/** The server's default WIP prefixes, in Gitea's order (setting WORK_IN_PROGRESS_PREFIXES = "WIP:,[WIP]"). */
export const WIP_PREFIXES = ["WIP:", "[WIP]"];

/** The list's page size: the servers cap `limit` at MAX_RESPONSE_ITEMS, 50 by default. */
export const PAGE_LIMIT = 50;

/** A server that answers more pages than this is not paged further (5,000 open PRs). */
const MAX_PAGES = 100;

/** What `createForgejoForge` needs: GitHub's options and which of the two servers it is. */
export interface ForgejoForgeOptions extends GithubForgeOptions {
  type: "forgejo" | "gitea";
}

/** A title the server counts as WIP when `draft` is not reported (older servers); case-insensitive. */
function titleIsWip(title: string): boolean {
  const t = title.toUpperCase();
  return WIP_PREFIXES.some((p) => t.startsWith(p.toUpperCase()));
}

function toPullRequest(p: ForgejoPull): PullRequest {
  const merged = p.merged === true || (p.state === "closed" && typeof p.merged_at === "string");
  return {
    number: p.number,
    url: p.html_url,
    state: merged ? "merged" : p.state === "open" ? "open" : "closed",
    mergedAt: merged && p.merged_at ? new Date(p.merged_at) : null,
    headSha: p.head.sha,
    // `label` stays the branch name after the branch is deleted; `ref` becomes refs/pull/N/head.
    head: p.head.label,
    draft: p.draft ?? titleIsWip(p.title),
  };
}

/** The PR index in a 409 "pull request already exists for these targets [id: …, issue_id: N, …]". */
export function existingPrIndex(message: string): number | undefined {
  const m = /issue_id:\s*(\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** A Forge speaking the Forgejo/Gitea REST API v1 (a real server, or the fake test server). */
export function createForgejoForge(options: ForgejoForgeOptions): Forge {
  const { owner, repo, logger } = options;
  const client: ForgejoClient = createForgejoClient(options);
  const repoPath = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
  const fullName = `${owner}/${repo}`.toLowerCase();
  const labels = createForgejoLabels(client, { owner, repoPath, names: options.labels });

  const getPr = async (number: number, signal?: AbortSignal) => {
    const { data } = await client.call({
      method: "GET",
      path: `${repoPath}/pulls/${number}`,
      schema: pullSchema,
      signal,
      what: `read PR #${number}`,
    });
    return data;
  };

  const ours = (p: ForgejoPull, head: string) =>
    p.head.label === head && (p.head.repo == null || p.head.repo.full_name.toLowerCase() === fullName);

  const findOpenPr: Forge["findOpenPr"] = async (head, o = {}) => {
    // No head filter exists on this list: page through the open PRs (X-Total-Count says when to stop).
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { data, headers } = await client.call({
        method: "GET",
        path: `${repoPath}/pulls`,
        query: { state: "open", limit: PAGE_LIMIT, page },
        schema: pullListSchema,
        signal: o.signal,
        what: `find PR for ${head}`,
      });
      const pr = data.find((p) => ours(p, head));
      if (pr) return toPullRequest(pr);
      const total = Number(headers.get("x-total-count") ?? Number.NaN);
      const more = Number.isFinite(total)
        ? page * PAGE_LIMIT < total
        : /rel="next"/.test(headers.get("link") ?? "");
      if (!more || data.length === 0) return null;
    }
    logger?.warn({ head }, `more than ${MAX_PAGES * PAGE_LIMIT} open PRs: stopped looking`);
    return null;
  };

  /** Retitles with the next WIP prefix until the server reads the PR as a draft (its list is configurable). */
  const ensureDraft = async (pr: ForgejoPull, title: string, signal?: AbortSignal): Promise<ForgejoPull> => {
    let current = pr;
    for (const prefix of WIP_PREFIXES.slice(1)) {
      if (toPullRequest(current).draft) return current;
      const { data } = await client.call({
        method: "PATCH",
        path: `${repoPath}/pulls/${pr.number}`,
        body: { title: `${prefix} ${title}` },
        schema: pullSchema,
        signal,
        what: `mark PR #${pr.number} draft`,
      });
      current = await getPr(data.number, signal);
    }
    if (!toPullRequest(current).draft) {
      logger?.warn(
        { pr: pr.number },
        `the server takes neither ${WIP_PREFIXES.join(" nor ")} as a draft prefix`,
      );
    }
    return current;
  };

  const createPr: Forge["createPr"] = async (input: PullRequestInput, o = {}) => {
    const existing = await findOpenPr(input.head, o);
    if (existing) {
      await labels.addTo(existing.number, o.signal);
      return { ...existing, created: false };
    }
    const ids = await labels.ids(o.signal);
    const title = input.draft ? `${WIP_PREFIXES[0]} ${input.title}` : input.title;
    const res = await client.call({
      method: "POST",
      path: `${repoPath}/pulls`,
      body: { head: input.head, base: input.base, title, body: input.body, labels: ids },
      schema: pullSchema,
      accept: [409],
      signal: o.signal,
      what: `create PR for ${input.head}`,
    });
    if (res.status === 409) {
      // Opened since we looked (another instance, a retried step): reuse that one.
      const message = errorMessage(409, res.data);
      const index = existingPrIndex(message);
      const hinted = index === undefined ? undefined : await getPr(index, o.signal);
      const pr = hinted && ours(hinted, input.head) ? toPullRequest(hinted) : await findOpenPr(input.head, o);
      if (pr === null) throw new ForgeError("forge_rejected", `create PR for ${input.head}: 409 ${message}`);
      await labels.addTo(pr.number, o.signal);
      return { ...pr, created: false };
    }
    // Label ids the server did not know are dropped silently; the ones we resolved are all real.
    let pr = res.data;
    if (input.draft) pr = await ensureDraft(await getPr(pr.number, o.signal), input.title, o.signal);
    return { ...toPullRequest(pr), created: true };
  };

  return {
    type: options.type,
    findOpenPr,
    createPr,
    getPr: async (number, o = {}) => toPullRequest(await getPr(number, o.signal)),
    comment: async (number, body, o = {}) => {
      const { data } = await client.call({
        method: "POST",
        path: `${repoPath}/issues/${number}/comments`,
        body: { body },
        schema: commentSchema,
        signal: o.signal,
        what: `comment on PR #${number}`,
      });
      return { id: data.id, url: data.html_url };
    },
    closePr: async (number, o = {}) => {
      const now = toPullRequest(await getPr(number, o.signal));
      if (now.state !== "open") return now;
      const { data } = await client.call({
        method: "PATCH",
        path: `${repoPath}/pulls/${number}`,
        body: { state: "closed" },
        schema: pullSchema,
        signal: o.signal,
        what: `close PR #${number}`,
      });
      return toPullRequest(data);
    },
    deleteBranch: async (branch, o = {}) => {
      const path = `${repoPath}/branches/${branch.split("/").map(encodeURIComponent).join("/")}`;
      if (o.expectedHead !== undefined) {
        const got = await client.call({
          method: "GET",
          path,
          schema: branchSchema,
          accept: [404],
          signal: o.signal,
          what: `read branch ${branch}`,
        });
        if (got.status === 404) return "absent";
        if (got.data.commit.id !== o.expectedHead) return "foreign";
      }
      // 204 deleted; 404 already gone; 403 the default or a protected branch (a ForgeError).
      const del = await client.call({
        method: "DELETE",
        path,
        accept: [404],
        signal: o.signal,
        what: `delete branch ${branch}`,
      });
      return del.status === 404 ? "absent" : "deleted";
    },
  };
}
