import { createHash, createHmac } from "node:crypto";
import {
  type FakeRequest,
  type Fault,
  fakeForgeBlock,
  type LoggedRequest,
  startFakeHttp,
} from "./fake-http.js";
import { git } from "./git-remote.js";

export type { Fault, LoggedRequest } from "./fake-http.js";

/** A pull request as the fake keeps it (a subset of GitHub's shape, snake_case as on the wire). */
export interface FakePull {
  number: number;
  /** The PR's web address, as the control plane records it in `incidents.pr_url`. */
  html_url: string;
  title: string;
  body: string;
  draft: boolean;
  state: "open" | "closed";
  merged: boolean;
  merged_at: string | null;
  closed_at: string | null;
  head: string;
  headSha: string;
  base: string;
  labels: string[];
}

/** A new open PR as both fakes keep it. */
export function openFakePull(
  f: Pick<FakePull, "number" | "html_url" | "title" | "body" | "draft" | "head" | "headSha" | "base">,
): FakePull {
  return { ...f, state: "open", merged: false, merged_at: null, closed_at: null, labels: [] };
}

/** Marks a fake PR merged (closed + merged, as both forges report it) or closed unmerged. */
export function settleFakePull(pr: FakePull, merged: boolean): void {
  const now = new Date().toISOString();
  Object.assign(pr, { state: "closed", closed_at: now }, merged ? { merged: true, merged_at: now } : {});
}

/**
 * A branch's head as a fake forge reports it: from the bare repo when there is one, else made up
 * from the name (undefined once in `deleted`).
 */
export async function fakeHeadSha(
  bareRepo: string | undefined,
  branch: string,
  deleted: string[],
): Promise<string | undefined> {
  if (bareRepo === undefined) {
    return deleted.includes(branch) ? undefined : createHash("sha1").update(branch).digest("hex");
  }
  try {
    return (await git(bareRepo, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`])).trim();
  } catch {
    return undefined;
  }
}

/** Ready-made faults shaped like GitHub's. */
export const faults = {
  serverError: (): Fault => ({ status: 500, body: { message: "Server Error" } }),
  unavailable: (): Fault => ({ status: 503, body: { message: "Service Unavailable" } }),
  /** Secondary rate limit: 429 with Retry-After, the message Octokit's throttling recognises. */
  secondaryRateLimit: (retryAfter = 1): Fault => ({
    status: 429,
    headers: { "retry-after": String(retryAfter) },
    body: {
      message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    },
  }),
  /** Primary rate limit: 403 with x-ratelimit-remaining 0 and a reset time of now. */
  primaryRateLimit: (): Fault => ({
    status: 403,
    headers: {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000)),
    },
    body: { message: "API rate limit exceeded for installation." },
  }),
};

/** The fake GitHub: a real HTTP server on 127.0.0.1 with inspectable state. */
export interface FakeGithub {
  kind: "github";
  /** Base URL: what `forge.apiUrl` is set to. */
  url: string;
  token: string;
  owner: string;
  repo: string;
  prs: FakePull[];
  comments: { issue: number; id: number; body: string }[];
  deletedRefs: string[];
  requests: LoggedRequest[];
  /** The next `count` requests get `fault` instead of their answer. */
  failNext(count: number, fault: Fault): void;
  /** Drops the faults not yet served. */
  clearFaults(): void;
  /** Marks PR `n` merged, as a human clicking Merge would. */
  merge(n: number): void;
  /** Closes PR `n` without merging. */
  close(n: number): void;
  /** Labels on PR `n`. */
  labels(n: number): string[];
  /** Stops the server. */
  stop(): Promise<void>;
  /** The headers GitHub sends with a webhook body: event, `sha256=` HMAC (none when `secret` is null). */
  webhookHeaders(event: string, body: string, secret: string | null): Record<string, string>;
}

export interface FakeGithubOptions {
  token?: string;
  owner?: string;
  repo?: string;
  /** When set, heads are read from and DELETE ref deletes in this bare repository. */
  bareRepo?: string;
  /** What `GET /repos/{o}/{r}` reports for the token (default: pull, triage, push). */
  permissions?: Record<string, boolean>;
  /** False: a fine-grained token without `pull_requests: write` (POST /pulls answers 403). */
  pullRequestsWrite?: boolean;
  /** Labels the repository has (`GET /repos/{o}/{r}/labels/{name}`). */
  repoLabels?: string[];
}

/**
 * The `forge` config block that points the service at `github`; writes the token to `tokenFile`
 * (the service reads secrets from files).
 */
export function forgeConfig(github: FakeGithub, tokenFile: string) {
  return fakeForgeBlock(github, tokenFile);
}

type Json = Record<string, unknown>;

/** Starts the fake GitHub on 127.0.0.1, port 0. */
export async function createFakeGithub(options: FakeGithubOptions = {}): Promise<FakeGithub> {
  const token = options.token ?? "test-forge-token";
  const owner = options.owner ?? "homelab";
  const repo = options.repo ?? "nixos-config";
  const prs: FakePull[] = [];
  const comments: FakeGithub["comments"] = [];
  const deletedRefs: string[] = [];
  let commentId = 1000;
  let base = "";

  const headSha = (branch: string) => fakeHeadSha(options.bareRepo, branch, []);

  const pullJson = (p: FakePull): Json => ({
    id: p.number * 7,
    number: p.number,
    html_url: p.html_url,
    url: `${base}/repos/${owner}/${repo}/pulls/${p.number}`,
    state: p.state,
    title: p.title,
    body: p.body,
    draft: p.draft,
    merged: p.merged,
    merged_at: p.merged_at,
    closed_at: p.closed_at,
    user: { login: "homelab-healer[bot]" },
    head: { ref: p.head, sha: p.headSha, label: `${owner}:${p.head}` },
    base: { ref: p.base, label: `${owner}:${p.base}` },
    labels: p.labels.map((name, i) => ({ id: i + 1, name })),
  });

  const find = (n: number) => prs.find((p) => p.number === n);
  const mustFind = (n: number) => {
    const pr = find(n);
    if (!pr) throw new Error(`fake github: no PR #${n}`);
    return pr;
  };
  const notFound = { status: 404, body: { message: "Not Found" } };
  const invalid = (error: Json) => ({ status: 422, body: { message: "Validation Failed", errors: [error] } });
  const mergePr = (pr: FakePull) => settleFakePull(pr, true);
  const closePr = (pr: FakePull) => settleFakePull(pr, false);

  const route = async ({ method, path, query, body, headers }: FakeRequest) => {
    const auth = headers.authorization ?? "";
    if (auth !== `token ${token}` && auth !== `Bearer ${token}` && auth !== `bearer ${token}`) {
      return { status: 401, body: { message: "Bad credentials" } };
    }
    const prefix = `/repos/${owner}/${repo}`;
    if (!path.startsWith(prefix)) return notFound;
    const rest = path.slice(prefix.length);
    const b = (body ?? {}) as Json;
    if (rest === "" && method === "GET") {
      const permissions = options.permissions ?? {
        admin: false,
        maintain: false,
        push: true,
        triage: true,
        pull: true,
      };
      return {
        status: 200,
        body: { name: repo, full_name: `${owner}/${repo}`, default_branch: "main", permissions },
      };
    }
    const label = /^\/labels\/([^/]+)$/.exec(rest);
    if (label && method === "GET") {
      const name = label[1]!;
      return (options.repoLabels ?? []).includes(name)
        ? { status: 200, body: { name, color: "ededed" } }
        : notFound;
    }
    if (rest === "/pulls" && method === "GET") {
      const state = query.state ?? "open";
      const list = prs.filter(
        (p) => (state === "all" || p.state === state) && (!query.head || `${owner}:${p.head}` === query.head),
      );
      return { status: 200, body: list.map(pullJson) };
    }
    if (rest === "/pulls" && method === "POST") {
      // GitHub checks the token's right before the fields.
      if (options.pullRequestsWrite === false || options.permissions?.push === false) {
        return {
          status: 403,
          headers: { "x-accepted-github-permissions": "pull_requests=write" },
          body: { message: "Resource not accessible by personal access token" },
        };
      }
      const missing = ["head", "base", "title"].filter((f) => typeof b[f] !== "string");
      if (missing.length > 0) {
        return invalid({ resource: "PullRequest", code: "missing_field", field: missing[0] });
      }
      const head = String(b.head ?? "");
      if (prs.some((p) => p.state === "open" && p.head === head)) {
        const message = `A pull request already exists for ${owner}:${head}.`;
        return invalid({ resource: "PullRequest", code: "custom", message });
      }
      const sha = await headSha(head);
      if (sha === undefined) {
        return invalid({ resource: "PullRequest", field: "head", code: "invalid" });
      }
      const number = prs.length + 1;
      const pr = openFakePull({
        number,
        html_url: `https://github.example/${owner}/${repo}/pull/${number}`,
        title: String(b.title ?? ""),
        body: String(b.body ?? ""),
        draft: b.draft === true,
        head,
        headSha: sha,
        base: String(b.base ?? "main"),
      });
      prs.push(pr);
      return { status: 201, body: pullJson(pr) };
    }
    let m = /^\/pulls\/(\d+)(\/merge)?$/.exec(rest);
    if (m) {
      const pr = find(Number(m[1]));
      if (!pr) return notFound;
      if (m[2] && method === "PUT") {
        mergePr(pr);
        return { status: 200, body: { merged: true, sha: pr.headSha } };
      }
      if (!m[2] && method === "GET") {
        const sha = pr.state === "open" ? await headSha(pr.head) : undefined;
        if (sha) pr.headSha = sha;
        return { status: 200, body: pullJson(pr) };
      }
      if (!m[2] && method === "PATCH") {
        if (typeof b.title === "string") pr.title = b.title;
        if (typeof b.body === "string") pr.body = b.body;
        if (b.state === "closed") closePr(pr);
        return { status: 200, body: pullJson(pr) };
      }
    }
    m = /^\/issues\/(\d+)\/(labels|comments)$/.exec(rest);
    if (m) {
      const n = Number(m[1]);
      const pr = find(n);
      if (!pr) return notFound;
      if (m[2] === "labels" && method === "POST") {
        for (const l of (b.labels as string[] | undefined) ?? [])
          if (!pr.labels.includes(l)) pr.labels.push(l);
        return { status: 200, body: pr.labels.map((name, i) => ({ id: i + 1, name })) };
      }
      if (m[2] === "comments" && method === "POST") {
        const c = { issue: n, id: ++commentId, body: String(b.body ?? "") };
        comments.push(c);
        return {
          status: 201,
          body: { id: c.id, body: c.body, html_url: `${pullJson(pr).html_url}#issuecomment-${c.id}` },
        };
      }
      if (m[2] === "comments" && method === "GET") {
        return {
          status: 200,
          body: comments.filter((c) => c.issue === n).map((c) => ({ id: c.id, body: c.body })),
        };
      }
    }
    if (rest.startsWith("/git/ref/heads/") && method === "GET") {
      // GET /repos/{o}/{r}/git/ref/{ref}: the branch's head as GitHub reports it.
      const branch = rest.slice("/git/ref/heads/".length);
      const sha = deletedRefs.includes(branch) ? undefined : await headSha(branch);
      if (sha === undefined) return notFound;
      return { status: 200, body: { ref: `refs/heads/${branch}`, object: { sha, type: "commit" } } };
    }
    if (rest.startsWith("/git/refs/heads/") && method === "DELETE") {
      const branch = rest.slice("/git/refs/heads/".length);
      const gone = { status: 422, body: { message: "Reference does not exist" } };
      if (options.bareRepo !== undefined) {
        if ((await headSha(branch)) === undefined) return gone;
        await git(options.bareRepo, ["update-ref", "-d", `refs/heads/${branch}`]);
      } else if (deletedRefs.includes(branch)) {
        return gone;
      }
      deletedRefs.push(branch);
      return { status: 204, body: undefined };
    }
    return notFound;
  };

  const http = await startFakeHttp(route, (e) => ({
    status: 400,
    body: { message: `Problems parsing JSON: ${String(e)}` },
  }));
  base = http.url;

  const fake: FakeGithub = {
    kind: "github",
    webhookHeaders: (event, body, secret) => ({
      "content-type": "application/json",
      "x-github-event": event,
      ...(secret === null
        ? {}
        : { "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}` }),
    }),
    url: base,
    token,
    owner,
    repo,
    prs,
    comments,
    deletedRefs,
    requests: http.requests,
    clearFaults: http.clearFaults,
    failNext: http.failNext,
    merge: (n) => mergePr(mustFind(n)),
    close: (n) => closePr(mustFind(n)),
    labels: (n) => find(n)?.labels ?? [],
    stop: http.stop,
  };
  return fake;
}
