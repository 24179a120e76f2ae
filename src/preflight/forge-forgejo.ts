import { createForgejoClient, errorMessage, type ForgejoAnswer } from "../forge/forgejo-http.js";
import { repoSchema, versionSchema } from "../forge/forgejo-schemas.js";
import { type CheckResult, fail, ok, type PreflightContext, warn } from "./types.js";

export const FORGEJO_TOKEN_FIX =
  "give forge.tokenFile an access token (Settings → Applications) of a user who may push to the repository, with the scopes write:repository and write:issue";

/** Every status the checks read themselves instead of failing on. */
const ANY = [400, 401, 403, 404, 405, 409, 422, 423, 429, 500, 502, 503, 504];

/** The scopes a 403 names: "token does not have at least one of required scope(s): [write:issue]". */
export function missingScopes(message: string): string[] | undefined {
  const m = /required scope\(s\):\s*\[([^\]]*)\]/.exec(message);
  return m ? (m[1] ?? "").split(/[\s,]+/).filter((s) => s !== "") : undefined;
}

/**
 * The Forgejo/Gitea token: the server answers (`GET /version`), the token sees the repository and its
 * user may push (`permissions`, the user's role), and the token carries the two write scopes.
 *
 * Scopes cannot be read from the API for the token in hand, and `permissions` says nothing about
 * them, so each write scope is probed with a request that cannot change anything: an empty
 * `POST /repos/{o}/{r}/pulls` (write:repository) and an empty `POST /repos/{o}/{r}/labels`
 * (write:issue). The servers check the token's scope in a middleware of the route group
 * (`tokenRequiresScopes` in routers/api/v1/api.go, category "repository" for /pulls, "issue" for
 * /labels and /issues) before the body is even bound, so a missing scope answers 403 naming it,
 * and a present one gets as far as the body's validation, which refuses `{}` with 422: nothing is
 * created either way. A 403 without the scope text is the user's role (reqRepoWriter), not the token.
 */
export async function forgejoChecks(ctx: PreflightContext, token: string): Promise<CheckResult[]> {
  const { forge } = ctx.config;
  const owner = forge.owner as string;
  const repo = forge.repo as string;
  const full = `${owner}/${repo}`;
  const client = createForgejoClient({ apiUrl: forge.apiUrl, token, retry: { retries: 0 } });
  const path = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
  const call = async <T>(
    method: "GET" | "POST",
    p: string,
    schema?: Parameters<typeof client.call<T>>[0]["schema"],
  ): Promise<ForgejoAnswer<T> | string> => {
    try {
      return await client.call<T>({
        method,
        path: p,
        ...(method === "POST" ? { body: {} } : {}),
        ...(schema ? { schema } : {}),
        accept: ANY,
        signal: ctx.signal ?? AbortSignal.timeout(15_000),
        what: `${method} ${p}`,
      });
    } catch (e) {
      return (e as Error).message;
    }
  };
  const results: CheckResult[] = [];

  const version = await call("GET", "/version", versionSchema);
  if (typeof version === "string") {
    return [
      fail("forge", `cannot reach ${client.apiBase}: ${version}`, "check forge.apiUrl and the network"),
    ];
  }
  const rejected = (a: ForgejoAnswer<unknown>) =>
    fail(
      "forge",
      `the server rejected the token of forge.tokenFile (401 ${errorMessage(401, a.data)})`,
      FORGEJO_TOKEN_FIX,
    );
  // A token the server does not know is refused on every route, /version included.
  if (version.status === 401) return [rejected(version)];
  if (version.status !== 200) {
    return [
      fail(
        "forge",
        `${client.apiBase}/version answered ${version.status}: is forge.apiUrl a ${forge.type} server?`,
        "set forge.apiUrl to the server's base URL, e.g. https://git.example.org",
      ),
    ];
  }
  results.push(ok("forge-version", `${forge.type} ${version.data.version} at ${forge.apiUrl}`));

  const r = await call("GET", path, repoSchema);
  if (typeof r === "string") return [...results, warn("forge", `GET ${path}: ${r}`, "run doctor again")];
  const why = `${r.status} ${errorMessage(r.status, r.data)}`;
  const scopes = r.status === 403 ? missingScopes(errorMessage(403, r.data)) : undefined;
  if (r.status === 401) return [...results, rejected(r)];
  if (scopes) {
    return [
      ...results,
      fail("forge", `the token lacks the scope ${scopes.join(" or ")} (${why})`, FORGEJO_TOKEN_FIX),
    ];
  }
  if (r.status === 403 || r.status === 404) {
    return [...results, fail("forge", `the token cannot see ${full} (${why})`, FORGEJO_TOKEN_FIX)];
  }
  if (r.status !== 200) return [...results, warn("forge", `GET ${path} answered ${why}`, "retry later")];
  if (r.data.permissions?.push === false) {
    return [
      ...results,
      fail(
        "forge",
        `the token's user can read ${full} but not push to it (permissions: ${Object.entries(
          r.data.permissions,
        )
          .filter(([, v]) => v)
          .map(([k]) => k)
          .join(", ")})`,
        "make the token's user a collaborator with write access, or use a token of one who is",
      ),
    ];
  }

  // The two side-effect-free write probes (see the doc comment above).
  const lacking: string[] = [];
  const problems: string[] = [];
  for (const [scope, probe, what] of [
    ["write:repository", `${path}/pulls`, "open pull requests and delete branches"],
    ["write:issue", `${path}/labels`, "label pull requests and comment on them"],
  ] as const) {
    const a = await call("POST", probe);
    if (typeof a === "string") {
      problems.push(`${probe}: ${a}`);
      continue;
    }
    const message = errorMessage(a.status, a.data);
    const named = a.status === 403 ? missingScopes(message) : undefined;
    if (named) lacking.push(`${named.join(" or ") || scope} (to ${what})`);
    else if (a.status === 403)
      problems.push(`POST ${probe} refused (403 ${message}): the user may not ${what}`);
    else if (a.status === 401) problems.push(`POST ${probe} answered 401 ${message}`);
    else if (a.status === 423)
      problems.push(`${full} is archived (423 ${message}): nothing can be pushed to it`);
  }
  if (lacking.length > 0) {
    results.push(fail("forge", `the token lacks the scope ${lacking.join(" and ")}`, FORGEJO_TOKEN_FIX));
  } else if (problems.length > 0) {
    results.push(fail("forge", problems.join("; "), FORGEJO_TOKEN_FIX));
  } else {
    results.push(
      ok(
        "forge",
        `${full} on ${forge.apiUrl}: the token can read, push, open, label and comment on pull requests`,
      ),
    );
  }
  return results;
}
