import type { Logger } from "pino";
import type { z } from "zod";
import { ForgeError } from "./errors.js";
import type { RetryPolicy } from "./github.js";

/*
 * A thin `fetch` client for the Forgejo/Gitea REST API v1 (the two share it): token auth, zod-checked
 * answers, and the retry rules the GitHub client has (5xx, 429 and network failures are retried with
 * backoff, `Retry-After` honoured; what is still failing becomes a retryable ForgeError, so the
 * worker does not spend an agent attempt on it). Renovate's `lib/modules/platform/gitea/` and
 * `forgejo/` use a client of the same size instead of a generated SDK.
 */

/** What one call returns: the status, the checked body and the headers (paging reads them). */
export interface ForgejoAnswer<T> {
  status: number;
  data: T;
  headers: Headers;
}

/** One request: method, path under `/api/v1`, and what the answer must look like. */
export interface ForgejoRequest<T> {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number>;
  body?: unknown;
  /** The shape of a successful answer's body; omitted: the body is not read (204). */
  schema?: z.ZodType<T>;
  /** Non-2xx statuses the caller handles itself (409, 404): answered, not thrown. */
  accept?: number[];
  signal?: AbortSignal | undefined;
  /** Names the call in error messages: `create PR for healer/incident-7`. */
  what: string;
}

/** A client bound to one server and token. */
export interface ForgejoClient {
  /** `https://git.example.org/api/v1`. */
  readonly apiBase: string;
  call<T>(req: ForgejoRequest<T>): Promise<ForgejoAnswer<T>>;
}

/** `forge.apiUrl` is the server's base URL; a trailing `/api/v1` is accepted too (as Renovate does). */
export function forgejoApiBase(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, "").replace(/\/api\/v1$/, "")}/api/v1`;
}

/** The `message` of a Forgejo error body (`{"message": "...", "url": "..."}`), or the status. */
export function errorMessage(status: number, body: unknown): string {
  const m = (body as { message?: unknown } | null)?.message;
  return typeof m === "string" && m !== "" ? m : `HTTP ${status}`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/** Maps a final non-2xx answer to a ForgeError (same codes as GitHub's, so retry decisions agree). */
function toError(what: string, status: number, body: unknown): ForgeError {
  const message = `${what}: ${status} ${errorMessage(status, body)}`;
  if (status >= 500) return new ForgeError("forge_unavailable", message, { status });
  if (status === 429) return new ForgeError("forge_rate_limited", message, { status });
  // 403 is both "your role may not" and "your token lacks a scope": neither heals by waiting.
  if (status === 401 || status === 403) return new ForgeError("forge_auth", message, { status });
  return new ForgeError("forge_rejected", message, { status });
}

/** Builds the client; the token goes nowhere but the Authorization header. */
export function createForgejoClient(options: {
  apiUrl: string;
  token: string;
  logger?: Logger | undefined;
  retry?: RetryPolicy | undefined;
}): ForgejoClient {
  const apiBase = forgejoApiBase(options.apiUrl);
  const policy = { retries: 3, baseDelayMs: 1000, maxWaitSeconds: 60, ...options.retry };
  const log = options.logger;

  const call = async <T>(req: ForgejoRequest<T>): Promise<ForgejoAnswer<T>> => {
    const url = new URL(`${apiBase}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, String(v));
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: req.method,
          headers: {
            authorization: `token ${options.token}`,
            accept: "application/json",
            "user-agent": "homelab-healer",
            ...(req.body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
          ...(req.signal ? { signal: req.signal } : {}),
        });
      } catch (e) {
        if ((e as Error).name === "AbortError" || req.signal?.aborted) throw e;
        if (attempt < policy.retries) {
          log?.warn({ err: e, attempt: attempt + 1, what: req.what }, "forgejo unreachable; retrying");
          await sleep(policy.baseDelayMs * 2 ** attempt, req.signal ?? undefined);
          continue;
        }
        const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
        throw new ForgeError("forge_unavailable", `${req.what}: network ${cause}`, { cause: e });
      }
      const ok = res.ok || (req.accept ?? []).includes(res.status);
      if (ok) {
        if (req.schema === undefined || res.status === 204 || !res.ok) {
          const body = res.ok ? undefined : await readJson(res);
          if (res.ok) await res.body?.cancel();
          return { status: res.status, data: body as T, headers: res.headers };
        }
        const parsed = req.schema.safeParse(await readJson(res));
        if (!parsed.success) {
          // The server answered something we do not understand: not a blip, so not retried.
          throw new ForgeError(
            "forge_rejected",
            `${req.what}: unexpected answer (${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`,
            { status: res.status },
          );
        }
        return { status: res.status, data: parsed.data, headers: res.headers };
      }
      const body = await readJson(res);
      const transient = res.status >= 500 || res.status === 429;
      const retryAfter = Number(res.headers.get("retry-after") ?? Number.NaN);
      const waitS = Number.isFinite(retryAfter) ? retryAfter : undefined;
      if (transient && attempt < policy.retries && (waitS === undefined || waitS <= policy.maxWaitSeconds)) {
        log?.warn({ status: res.status, attempt: attempt + 1, what: req.what }, "forgejo answered; retrying");
        const ms = waitS !== undefined ? waitS * policy.baseDelayMs : policy.baseDelayMs * 2 ** attempt;
        await sleep(ms, req.signal ?? undefined);
        continue;
      }
      throw toError(req.what, res.status, body);
    }
  };
  return { apiBase, call };
}
