import { FORGEJO_TOKEN_FIX, forgejoChecks } from "./forge-forgejo.js";
import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

const TOKEN_FIX =
  "give forge.tokenFile a token for this repository: fine-grained with Contents: write and Pull requests: write (Metadata: read), or classic with the repo scope";

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/**
 * The GitHub token is valid and can read the repo, push and open pull requests (`GET /repos/{o}/{r}`
 * and its `permissions`; an empty `POST /pulls` that GitHub refuses with 422 when the token may open
 * pull requests and 403 when it may not: nothing is created), and the labels exist or can be.
 */
export const forgeChecks: CheckGroup = async (ctx) => {
  const { forge, repo } = ctx.config;
  if (forge.type === "none") {
    return [
      warn(
        "forge",
        'forge.type is "none": a dry run; changes are committed in the state dir\'s mirror, nothing is pushed',
        'set forge.type "github", "forgejo" or "gitea" with forge.owner, forge.repo and forge.tokenFile to get pull requests',
      ),
    ];
  }
  const fix = forge.type === "github" ? TOKEN_FIX : FORGEJO_TOKEN_FIX;
  const problem = ctx.secretProblems["forge.tokenFile"];
  if (problem !== undefined) return [fail("forge", `forge.tokenFile: ${problem}`, fix)];
  if (forge.owner === undefined || forge.repo === undefined || ctx.secrets.forgeToken === undefined) {
    const missing = (["owner", "repo", "tokenFile"] as const).filter((k) =>
      k === "tokenFile" ? ctx.secrets.forgeToken === undefined : forge[k] === undefined,
    );
    const r = missing.map((k) => `forge.${k}`).join(", ");
    return repo.url === undefined
      ? [
          warn(
            "forge",
            `not configured (${r} unset)`,
            "set forge.owner, forge.repo and forge.tokenFile with repo.url",
          ),
        ]
      : [fail("forge", `${r} not set`, "set forge.owner, forge.repo and forge.tokenFile")];
  }
  if (forge.type === "forgejo" || forge.type === "gitea") return forgejoChecks(ctx, ctx.secrets.forgeToken);
  const full = `${forge.owner}/${forge.repo}`;
  const base = `${forge.apiUrl.replace(/\/+$/, "")}/repos/${encodeURIComponent(forge.owner)}/${encodeURIComponent(forge.repo)}`;
  const call = async (method: string, path: string, body?: unknown): Promise<Answer | string> => {
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ctx.secrets.forgeToken}`,
          accept: "application/vnd.github+json",
          "x-github-api-version": "2022-11-28",
          "user-agent": "homelab-healer-doctor",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      let parsed: unknown = {};
      try {
        parsed = text === "" ? {} : JSON.parse(text);
      } catch {
        // not JSON: keep the status
      }
      const obj = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
      return { status: res.status, body: obj, headers: res.headers };
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (e as Error).message;
    }
  };
  const message = (a: Answer) => (typeof a.body.message === "string" ? a.body.message : `HTTP ${a.status}`);

  const repoAnswer = await call("GET", "");
  if (typeof repoAnswer === "string") {
    return [
      fail(
        "forge",
        `cannot reach forge.apiUrl ${forge.apiUrl}: ${repoAnswer}`,
        "check forge.apiUrl and the network",
      ),
    ];
  }
  if (repoAnswer.status === 401) {
    return [
      fail("forge", `GitHub rejected the token of forge.tokenFile (401 ${message(repoAnswer)})`, TOKEN_FIX),
    ];
  }
  if (repoAnswer.status === 403 || repoAnswer.status === 404) {
    return [
      fail("forge", `the token cannot see ${full} (${repoAnswer.status} ${message(repoAnswer)})`, TOKEN_FIX),
    ];
  }
  if (repoAnswer.status !== 200) {
    return [
      warn("forge", `GET /repos/${full} answered ${repoAnswer.status} ${message(repoAnswer)}`, "retry later"),
    ];
  }
  const perms = repoAnswer.body.permissions as Record<string, boolean> | undefined;
  const granted = perms ? Object.keys(perms).filter((k) => perms[k] === true) : [];
  const canPush =
    perms === undefined ? undefined : perms.push === true || perms.maintain === true || perms.admin === true;
  if (canPush === false) {
    return [
      fail(
        "forge",
        `the token can read ${full} but not push to it or open pull requests (permissions: ${granted.join(", ") || "none"})`,
        TOKEN_FIX,
      ),
    ];
  }
  const results: CheckResult[] = [];
  // An empty pull request: GitHub checks the token's right before the fields, so 422 means "allowed".
  const pr = await call("POST", "/pulls", {});
  if (typeof pr === "string" || pr.status === 401) {
    results.push(warn("forge", `could not try opening a pull request on ${full}`, "run doctor again"));
  } else if (pr.status === 403 || pr.status === 404) {
    const wanted = pr.headers.get("x-accepted-github-permissions");
    results.push(
      fail(
        "forge",
        `the token can read ${full} but may not open pull requests: it lacks pull_requests: write (${pr.status} ${message(pr)}${wanted ? `; GitHub wants ${wanted}` : ""})`,
        TOKEN_FIX,
      ),
    );
  } else {
    results.push(
      ok(
        "forge",
        `${full} on ${forge.apiUrl}: the token can read, push${perms === undefined ? " (not reported)" : ""} and open pull requests`,
      ),
    );
  }
  results.push(await labels(call, forge.labels, canPush));
  return results;
};

async function labels(
  call: (method: string, path: string) => Promise<Answer | string>,
  wanted: string[],
  canPush: boolean | undefined,
): Promise<CheckResult> {
  if (wanted.length === 0) return ok("forge-labels", "forge.labels is empty");
  const missing: string[] = [];
  for (const label of wanted) {
    const a = await call("GET", `/labels/${encodeURIComponent(label)}`);
    if (typeof a === "string") return warn("forge-labels", `cannot read labels: ${a}`, "run doctor again");
    if (a.status === 404) missing.push(label);
    else if (a.status !== 200)
      return warn("forge-labels", `GET labels answered ${a.status}`, "run doctor again");
  }
  if (missing.length === 0) return ok("forge-labels", `labels exist: ${wanted.join(", ")}`);
  if (canPush === true)
    return ok("forge-labels", `${missing.join(", ")} will be created with the first pull request`);
  return warn(
    "forge-labels",
    `labels missing: ${missing.join(", ")}, and the token's right to create them is unknown`,
    "create them in the repository, or give the token write access",
  );
}
