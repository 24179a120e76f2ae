import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Secrets } from "../config/load.js";
import type { TokenSource } from "../config/schema.js";
import { ApiError } from "./errors.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

// The expected tokens are few and fixed: their digests are kept, not made again per request.
const expectedDigests = new Map<string, Buffer>();
function expectedDigest(token: string): Buffer {
  let d = expectedDigests.get(token);
  if (!d) {
    if (expectedDigests.size > 16) expectedDigests.clear();
    d = digest(token);
    expectedDigests.set(token, d);
  }
  return d;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(given: string, expected: string): boolean {
  return expected !== "" && timingSafeEqual(digest(given), expectedDigest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}

/**
 * Bearer auth. `tokenFor(c)` names the one token accepted on this route: a per-source token when
 * configured (then the shared token is refused there), else the shared one.
 */
export function bearerAuth(tokenFor: (path: string) => string): MiddlewareHandler {
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (token === undefined || !tokenMatches(token, tokenFor(c.req.path))) {
      throw new ApiError("unauthorized", "missing or wrong bearer token");
    }
    await next();
  };
}

/**
 * The token a path under `/hooks/` takes: its source's own when configured, else the shared one
 * (every other path: the shared one).
 */
export function hookTokenFor(secrets: Secrets): (path: string) => string {
  return (path) => {
    const source = /^\/hooks\/([^/]+)/.exec(path)?.[1] as TokenSource | undefined;
    // Own keys only: `/hooks/constructor` must not find Object.prototype's.
    const own = source !== undefined && Object.hasOwn(secrets.sourceTokens, source);
    return (own && secrets.sourceTokens[source]) || secrets.token;
  };
}
