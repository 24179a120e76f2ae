import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import type { Logger } from "pino";
import { ForgeError } from "./errors.js";
import type { Forge, PullRequest, PullRequestInput } from "./types.js";

const HealerOctokit = Octokit.plugin(retry, throttling);

/** How patient the client is before a ForgeError reaches the caller. */
export interface RetryPolicy {
  /** Retries per request for 5xx/network failures and for rate limits. Default 3. */
  retries?: number;
  /** Milliseconds per backoff unit and per second of `Retry-After`. Default 1000; tests use 1. */
  baseDelayMs?: number;
  /** A rate limit that asks for a longer wait is not waited for in-process. Default 60 s. */
  maxWaitSeconds?: number;
  /** Space writes one second apart as GitHub asks of integrations. Default true. */
  paceWrites?: boolean;
}

/** What `createGithubForge` needs; the token is a secret and goes nowhere but the Authorization header. */
export interface GithubForgeOptions {
  apiUrl: string;
  token: string;
  owner: string;
  repo: string;
  labels: string[];
  logger?: Logger;
  retry?: RetryPolicy;
}

/** Maps whatever Octokit threw to a ForgeError; an abort is passed through untouched. */
export function toForgeError(error: unknown, what: string): unknown {
  if (error instanceof ForgeError) return error;
  if (typeof error !== "object" || error === null) return error;
  if (error instanceof Error && error.name === "AbortError") return error;
  const e = error as {
    status?: number;
    message?: string;
    response?: { headers?: Record<string, string | undefined> };
  };
  // Only Octokit's errors carry a status (a network failure is status 500 without a response);
  // anything else is a bug of ours and must surface as itself, not as a retryable forge outage.
  if (typeof e.status !== "number") return error;
  const status = e.status;
  const message = `${what}: ${e.response ? status : "network"} ${e.message ?? String(error)}`;
  const headers = e.response?.headers ?? {};
  const opts = { cause: error, status: e.response ? status : undefined };
  if (e.response === undefined || status >= 500) {
    return new ForgeError("forge_unavailable", message, opts);
  }
  if (
    status === 429 ||
    (status === 403 && (headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(e.message ?? "")))
  ) {
    return new ForgeError("forge_rate_limited", message, opts);
  }
  if (status === 401 || status === 403) return new ForgeError("forge_auth", message, opts);
  return new ForgeError("forge_rejected", message, opts);
}

/** A limiter stand-in that runs jobs at once: used when write pacing is off (tests). */
const unpaced = {
  key: () => ({
    schedule: (_options: unknown, job: (...args: unknown[]) => unknown, ...args: unknown[]) =>
      Promise.resolve().then(() => job(...args)),
  }),
};

interface GithubPull {
  number: number;
  html_url: string;
  state: string;
  merged_at: string | null;
  draft?: boolean;
  head: { sha: string; ref: string };
}

function toPullRequest(p: GithubPull): PullRequest {
  const state = p.merged_at ? "merged" : p.state === "open" ? "open" : "closed";
  return {
    number: p.number,
    url: p.html_url,
    state,
    mergedAt: p.merged_at ? new Date(p.merged_at) : null,
    headSha: p.head.sha,
    head: p.head.ref,
    draft: p.draft ?? false,
  };
}

/** A Forge speaking the GitHub REST API (github.com, Enterprise, or the fake test server). */
export function createGithubForge(options: GithubForgeOptions): Forge {
  const { owner, repo, labels, logger } = options;
  const policy = { retries: 3, baseDelayMs: 1000, maxWaitSeconds: 60, paceWrites: true, ...options.retry };
  const onLimit =
    (kind: string) =>
    (retryAfter: number, req: { method: string; url: string }, _o: unknown, count: number) => {
      const again = count < policy.retries && retryAfter <= policy.maxWaitSeconds;
      logger?.warn(
        { retryAfter, attempt: count + 1, again, method: req.method, url: req.url },
        `github ${kind}`,
      );
      return again;
    };
  const octokit = new HealerOctokit({
    auth: options.token,
    baseUrl: options.apiUrl.replace(/\/+$/, ""),
    userAgent: "homelab-healer",
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (msg: string) => logger?.warn(msg),
      error: (msg: string) => logger?.error(msg),
    },
    // 429 and 403 rate limits are the throttling plugin's, which honours Retry-After and the reset time.
    retry: {
      retries: policy.retries,
      retryAfterBaseValue: policy.baseDelayMs,
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
    throttle: {
      id: `${owner}/${repo}`,
      retryAfterBaseValue: policy.baseDelayMs,
      onRateLimit: onLimit("rate limit"),
      onSecondaryRateLimit: onLimit("secondary rate limit"),
      ...(policy.paceWrites ? {} : { write: unpaced as never, notifications: unpaced as never }),
    },
  });

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw toForgeError(e, what);
    }
  };
  const req = (signal?: AbortSignal) => (signal ? { request: { signal } } : {});

  const findOpenPr: Forge["findOpenPr"] = (head, o = {}) =>
    call(`find PR for ${head}`, async () => {
      const { data } = await octokit.rest.pulls.list({
        owner,
        repo,
        state: "open",
        head: `${owner}:${head}`,
        per_page: 10,
        ...req(o.signal),
      });
      const pr = data.find((p) => p.head.ref === head);
      return pr ? toPullRequest(pr) : null;
    });

  const addLabels = async (number: number, signal?: AbortSignal) => {
    if (labels.length === 0) return;
    await call(`label PR #${number}`, () =>
      octokit.rest.issues.addLabels({ owner, repo, issue_number: number, labels, ...req(signal) }),
    );
  };

  const createPr: Forge["createPr"] = async (input: PullRequestInput, o = {}) => {
    let pr = await findOpenPr(input.head, o);
    let created = false;
    if (pr === null) {
      try {
        pr = await call(`create PR for ${input.head}`, async () => {
          const { data } = await octokit.rest.pulls.create({
            owner,
            repo,
            head: input.head,
            base: input.base,
            title: input.title,
            body: input.body,
            draft: input.draft,
            maintainer_can_modify: false,
            ...req(o.signal),
          });
          return toPullRequest(data);
        });
        created = true;
      } catch (e) {
        // Another instance may have opened it between our look and our create: reuse that one.
        if (!(e instanceof ForgeError && e.code === "forge_rejected")) throw e;
        pr = await findOpenPr(input.head, o);
        if (pr === null) throw e;
      }
    }
    await addLabels(pr.number, o.signal);
    return { ...pr, created };
  };

  return {
    type: "github",
    findOpenPr,
    createPr,
    getPr: (number, o = {}) =>
      call(`read PR #${number}`, async () => {
        const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number, ...req(o.signal) });
        return toPullRequest(data);
      }),
    comment: (number, body, o = {}) =>
      call(`comment on PR #${number}`, async () => {
        const { data } = await octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: number,
          body,
          ...req(o.signal),
        });
        return { id: data.id, url: data.html_url };
      }),
    closePr: (number, o = {}) =>
      call(`close PR #${number}`, async () => {
        const { data } = await octokit.rest.pulls.update({
          owner,
          repo,
          pull_number: number,
          state: "closed",
          ...req(o.signal),
        });
        return toPullRequest(data);
      }),
    deleteBranch: async (branch, o = {}) => {
      try {
        if (o.expectedHead !== undefined) {
          // GitHub has no conditional delete: read the head first (a push in between is the small gap left).
          const { data } = await octokit.rest.git.getRef({
            owner,
            repo,
            ref: `heads/${branch}`,
            ...req(o.signal),
          });
          if (data.object.sha !== o.expectedHead) return "foreign";
        }
        await octokit.rest.git.deleteRef({ owner, repo, ref: `heads/${branch}`, ...req(o.signal) });
        return "deleted";
      } catch (e) {
        const status = (e as { status?: number }).status;
        // GitHub answers 422 "Reference does not exist" (sometimes 404) for a branch already gone.
        if (status === 404 || status === 422) return "absent";
        throw toForgeError(e, `delete branch ${branch}`);
      }
    },
  };
}
