import { createHash, createHmac } from "node:crypto";
import { type FakeGithub, type FakePull, fakeHeadSha, openFakePull, settleFakePull } from "./fake-github.js";
import { type Answer, type FakeHttp, type FakeRequest, startFakeHttp } from "./fake-http.js";
import { git } from "./git-remote.js";

/*
 * A fake Forgejo/Gitea (API v1) on 127.0.0.1. Each behaviour cites the source it reproduces, read in
 * go-gitea/gitea (Forgejo is a fork that keeps these routes and answers) and Renovate's
 * lib/modules/platform/gitea/index.ts. Same inspection surface as the fake GitHub (FakeForge), so
 * one test can run against both.
 */

/** Scopes of a fine-grained token ("write:x" implies "read:x"): models/auth/access_token_scope.go. */
export type Scope = `${"read" | "write"}:${"repository" | "issue" | "user" | "organization"}`;

export interface FakeForgejoOptions {
  token?: string;
  owner?: string;
  repo?: string;
  /** When set, heads are read from and branch DELETE deletes in this bare repository. */
  bareRepo?: string;
  /** The token's scopes; default write:repository and write:issue. */
  scopes?: Scope[];
  /** `[repository.pull-request] WORK_IN_PROGRESS_PREFIXES`; default "WIP:,[WIP]" (modules/setting/repository.go). */
  wipPrefixes?: string[];
  /** Labels the repository already has. */
  repoLabels?: string[];
  /** An archived repository: writes answer 423 (routers/api/v1/api.go mustNotBeArchived). */
  archived?: boolean;
  /** What `GET /repos/{o}/{r}` reports as the user's role. */
  permissions?: { admin: boolean; push: boolean; pull: boolean };
  /** Whether the pull JSON carries `draft` (newer servers); default true. */
  reportsDraft?: boolean;
  /** `X-Forgejo-Signature` (default) or only Gitea's `X-Gitea-Signature` in `webhookHeaders`. */
  flavour?: "forgejo" | "gitea";
}

/** The fake Forgejo: the same inspection surface as FakeGithub (its webhook headers are Forgejo's),
 * plus its own knobs. */
export interface FakeForgejo
  extends FakeHttp,
    Pick<
      FakeGithub,
      | "token"
      | "owner"
      | "repo"
      | "prs"
      | "comments"
      | "deletedRefs"
      | "merge"
      | "close"
      | "labels"
      | "webhookHeaders"
    > {
  kind: "forgejo";
  /** Repository labels by id (`POST /pulls` takes ids). */
  labelIds: Map<number, string>;
  /** Opens a PR directly (another user's, or a filler for paging tests). */
  seedPr(head: string, title?: string): FakePull;
}

type Json = Record<string, unknown>;

/** Starts the fake Forgejo on 127.0.0.1, port 0. */
export async function createFakeForgejo(options: FakeForgejoOptions = {}): Promise<FakeForgejo> {
  const token = options.token ?? "test-forgejo-token";
  const owner = options.owner ?? "homelab";
  const repo = options.repo ?? "nixos-config";
  const scopes = options.scopes ?? ["write:repository", "write:issue"];
  const wip = options.wipPrefixes ?? ["WIP:", "[WIP]"];
  const prs: FakePull[] = [];
  const mergeSha = new Map<number, string>();
  const comments: FakeForgejo["comments"] = [];
  const deletedRefs: string[] = [];
  const labelIds = new Map<number, string>();
  let nextLabel = 1;
  for (const name of options.repoLabels ?? []) labelIds.set(nextLabel++, name);
  let commentId = 2000;
  let base = "";
  const full = `${owner}/${repo}`;

  // models/issues/pull.go IsWorkInProgress: a case-insensitive title prefix from the configured list.
  const isWip = (title: string) => wip.some((p) => title.toUpperCase().startsWith(p.toUpperCase()));

  const headSha = (branch: string) => fakeHeadSha(options.bareRepo, branch, deletedRefs);

  // services/convert/pull.go ToAPIPullRequest: head.label is the branch; head.ref is
  // refs/pull/N/head unless the branch still exists; merged/merged_at/merge_commit_sha once merged.
  const pullJson = async (p: FakePull): Promise<Json> => {
    const sha = await headSha(p.head);
    if (sha) p.headSha = sha;
    return {
      id: p.number * 11,
      number: p.number,
      html_url: p.html_url,
      url: p.html_url,
      title: p.title,
      body: p.body,
      state: p.state,
      ...(options.reportsDraft === false ? {} : { draft: isWip(p.title) }),
      merged: p.merged,
      merged_at: p.merged_at,
      merge_commit_sha: mergeSha.get(p.number) ?? null,
      closed_at: p.closed_at,
      user: { login: "healer", username: "healer" },
      head: {
        label: p.head,
        ref: sha ? p.head : `refs/pull/${p.number}/head`,
        sha: p.headSha,
        repo_id: 1,
        repo: { full_name: full },
      },
      base: { label: p.base, ref: p.base, sha: "0".repeat(40), repo_id: 1, repo: { full_name: full } },
      labels: p.labels.map((name) => ({ id: idOf(name), name, color: "ededed" })),
    };
  };
  const idOf = (name: string) => [...labelIds].find(([, n]) => n === name)?.[0] ?? 0;

  // routers/api/v1/api.go tokenRequiresScopes: POST/PUT/PATCH/DELETE need write:<category>, others read;
  // checked in the route group's middleware, before the body is bound; the 403 names the scope.
  const lacks = (method: string, category: "repository" | "issue"): Answer | undefined => {
    const level = method === "GET" ? "read" : "write";
    const ok =
      scopes.includes(`write:${category}`) || (level === "read" && scopes.includes(`read:${category}`));
    if (ok) return undefined;
    return {
      status: 403,
      body: {
        message: `token does not have at least one of required scope(s): [${level}:${category}]`,
        url: `${base}/api/swagger`,
      },
    };
  };
  const notFound: Answer = { status: 404, body: { message: "The target couldn't be found.", errors: [] } };
  // modules/web binding errors answer 422 with the field names.
  const invalid = (field: string): Answer => ({ status: 422, body: { message: `[${field}]: Required` } });
  const find = (n: number) => prs.find((p) => p.number === n);
  const mustFind = (n: number) => {
    const pr = find(n);
    if (!pr) throw new Error(`fake forgejo: no PR #${n}`);
    return pr;
  };
  const newPr = (head: string, title: string, b: Json, sha: string): FakePull => {
    const number = prs.length + 1;
    const pr = openFakePull({
      number,
      html_url: `https://forgejo.example/${owner}/${repo}/pulls/${number}`,
      title,
      body: String(b.body ?? ""),
      draft: isWip(title),
      head,
      headSha: sha,
      base: String(b.base ?? "main"),
    });
    prs.push(pr);
    return pr;
  };

  const route = async ({ method, path, query, body, headers }: FakeRequest): Promise<Answer> => {
    // services/auth: "Authorization: token <t>" (also accepted as Bearer).
    const auth = headers.authorization ?? "";
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) {
      return { status: 401, body: { message: "token is required", url: `${base}/api/swagger` } };
    }
    if (path === "/api/v1/version") return { status: 200, body: { version: "11.0.1+gitea-1.22.0" } };
    const b = (body ?? {}) as Json;
    const orgLabels = `/api/v1/orgs/${owner}/labels`;
    // routers/api/v1/org/label.go behind orgAssignment: a user (not an org) is 404.
    if (path === orgLabels) return notFound;
    const prefix = `/api/v1/repos/${owner}/${repo}`;
    if (!path.startsWith(prefix)) return notFound;
    const rest = path.slice(prefix.length);
    const issueRoute = rest === "/labels" || rest.startsWith("/issues");
    const denied = lacks(method, issueRoute ? "issue" : "repository");
    if (denied) return denied;

    if (rest === "" && method === "GET") {
      const permissions = options.permissions ?? { admin: false, push: true, pull: true };
      return { status: 200, body: { full_name: full, default_branch: "main", permissions } };
    }
    if (rest === "/labels" && method === "GET") {
      // routers/api/v1/repo/label.go ListLabels (paged like every list).
      const all = [...labelIds].map(([id, name]) => ({ id, name, color: "ededed" }));
      return page(all, query);
    }
    if (rest === "/labels" && method === "POST") {
      // api.CreateLabelOption: name and color are `binding:"Required"`.
      if (typeof b.name !== "string" || b.name === "") return invalid("Name");
      if (typeof b.color !== "string" || b.color === "") return invalid("Color");
      const id = nextLabel++;
      labelIds.set(id, b.name);
      return { status: 201, body: { id, name: b.name, color: b.color } };
    }
    if (rest === "/pulls" && method === "GET") {
      const state = query.state ?? "open";
      const list = prs.filter((p) => state === "all" || p.state === state);
      return page(await Promise.all(list.map(pullJson)), query);
    }
    if (rest === "/pulls" && method === "POST") {
      if (options.archived) return { status: 423, body: { message: "repo is archived" } };
      // routers/api/v1/repo/pull.go CreatePullRequest.
      if (typeof b.head !== "string" || b.head === "") return invalid("Head");
      if (typeof b.base !== "string" || b.base === "") return invalid("Base");
      const head = b.head;
      const existing = prs.find((p) => p.state === "open" && p.head === head && p.base === b.base);
      if (existing) {
        // models/issues/pull.go ErrPullRequestAlreadyExists; issue_id is the PR's index.
        const message = `pull request already exists for these targets [id: ${existing.number * 11}, issue_id: ${existing.number}, head_repo_id: 1, base_repo_id: 1, head_branch: ${head}, base_branch: ${String(b.base)}]`;
        return { status: 409, body: { message, url: `${base}/api/swagger` } };
      }
      const sha = await headSha(head);
      if (sha === undefined) return { status: 404, body: { message: "The target couldn't be found." } };
      const pr = newPr(head, String(b.title ?? ""), b, sha);
      // GetLabelsInRepoByIDs: ids the repository does not have are dropped without an error.
      for (const id of (b.labels as number[] | undefined) ?? []) {
        const name = labelIds.get(id);
        if (name !== undefined && !pr.labels.includes(name)) pr.labels.push(name);
      }
      return { status: 201, body: await pullJson(pr) };
    }
    let m = /^\/pulls\/(\d+)$/.exec(rest);
    if (m) {
      const pr = find(Number(m[1]));
      if (!pr) return notFound;
      if (method === "GET") return { status: 200, body: await pullJson(pr) };
      if (method === "PATCH") {
        if (typeof b.title === "string") {
          pr.title = b.title;
          pr.draft = isWip(pr.title);
        }
        if (b.state === "closed" && pr.state === "open") closePr(pr);
        return { status: 201, body: await pullJson(pr) };
      }
    }
    m = /^\/issues\/(\d+)\/(labels|comments)$/.exec(rest);
    if (m && method === "POST") {
      const n = Number(m[1]);
      const pr = find(n);
      if (!pr) return notFound;
      if (m[2] === "labels") {
        for (const id of (b.labels as number[] | undefined) ?? []) {
          const name = labelIds.get(id);
          if (name !== undefined && !pr.labels.includes(name)) pr.labels.push(name);
        }
        return { status: 200, body: pr.labels.map((name) => ({ id: idOf(name), name })) };
      }
      if (typeof b.body !== "string" || b.body === "") return invalid("Body");
      const c = { issue: n, id: ++commentId, body: b.body };
      comments.push(c);
      return {
        status: 201,
        body: { id: c.id, body: c.body, html_url: `${pr.html_url}#issuecomment-${c.id}` },
      };
    }
    if (rest.startsWith("/branches/")) {
      // routers/api/v1/repo/branch.go GetBranch / DeleteBranch: 404 gone, 403 default, 204 deleted.
      const branch = rest.slice("/branches/".length);
      const sha = await headSha(branch);
      if (sha === undefined) return notFound;
      if (method === "GET")
        return { status: 200, body: { name: branch, commit: { id: sha }, protected: false } };
      if (method === "DELETE") {
        if (branch === "main") return { status: 403, body: { message: "can not delete default branch" } };
        if (options.bareRepo !== undefined) {
          await git(options.bareRepo, ["update-ref", "-d", `refs/heads/${branch}`]);
        }
        deletedRefs.push(branch);
        return { status: 204, body: undefined };
      }
    }
    return notFound;
  };

  // routers/api/v1/utils/page.go GetListOptions: `limit` capped at MAX_RESPONSE_ITEMS (50), default
  // page size 30; context/api.go SetTotalCountHeader + SetLinkHeader.
  const page = (all: unknown[], query: Record<string, string>): Answer => {
    const limit = Math.min(Number(query.limit ?? 30) || 30, 50);
    const n = Math.max(Number(query.page ?? 1) || 1, 1);
    const items = all.slice((n - 1) * limit, n * limit);
    const last = Math.max(Math.ceil(all.length / limit), 1);
    const links = n < last ? [`<${base}?page=${n + 1}&limit=${limit}>; rel="next"`] : [];
    return {
      status: 200,
      body: items,
      headers: { "x-total-count": String(all.length), ...(links.length ? { link: links.join(",") } : {}) },
    };
  };

  const mergePr = (pr: FakePull) => {
    settleFakePull(pr, true);
    mergeSha.set(pr.number, createHash("sha1").update(`merge-${pr.number}`).digest("hex"));
  };
  const closePr = (pr: FakePull) => settleFakePull(pr, false);

  const http = await startFakeHttp(route, (e) => ({ status: 400, body: { message: String(e) } }));
  base = http.url;
  return {
    ...http,
    kind: "forgejo",
    token,
    owner,
    repo,
    prs,
    comments,
    deletedRefs,
    labelIds,
    merge: (n) => mergePr(mustFind(n)),
    close: (n) => closePr(mustFind(n)),
    labels: (n) => find(n)?.labels ?? [],
    seedPr: (head, title = `other ${head}`) => newPr(head, title, { base: "main" }, "f".repeat(40)),
    webhookHeaders: (event, body, secret) => {
      // Forgejo services/webhook/shared/payloader.go (saschazepter/forgejo mirror) AddDefaultHeaders:
      // the bare hex HMAC-SHA256 of the body in X-Forgejo-Signature and X-Gitea-Signature; Gitea's
      // services/webhook/deliver.go sends the X-Gitea-* ones only.
      const sig = secret === null ? undefined : createHmac("sha256", secret).update(body).digest("hex");
      const flavour = options.flavour ?? "forgejo";
      const h: Record<string, string> = { "content-type": "application/json" };
      h["x-gitea-event"] = event;
      h["x-gitea-delivery"] = "00000000-0000-0000-0000-000000000001";
      if (sig) h["x-gitea-signature"] = sig;
      if (flavour === "forgejo") {
        h["x-forgejo-event"] = event;
        if (sig) h["x-forgejo-signature"] = sig;
      }
      return h;
    },
  };
}
