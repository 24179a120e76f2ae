import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the HTTP API answers with. One closed set, mapped to a status in one place. */
export type ApiErrorCode =
  | "unauthorized"
  | "not_found"
  | "malformed"
  | "invalid"
  | "too_large"
  | "unsupported_media_type"
  | "conflict"
  | "db_unavailable"
  | "internal";

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** HTTP status of an error code. Exhaustive: a new code does not compile until it has one. */
export function statusOf(code: ApiErrorCode): ContentfulStatusCode {
  switch (code) {
    case "unauthorized":
      return 401;
    case "not_found":
      return 404;
    case "malformed":
      return 400;
    case "invalid":
      return 422;
    case "too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "conflict":
      return 409;
    case "db_unavailable":
      return 503;
    case "internal":
      return 500;
    default: {
      const never: never = code;
      return never;
    }
  }
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
]);

/** True for errors that mean "the database cannot be reached" (senders should retry: 503). */
export function isDbUnavailable(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as { code?: unknown; message?: unknown; errors?: unknown[] };
    if (typeof err.code === "string" && (CONNECTION_CODES.has(err.code) || err.code.startsWith("08")))
      return true;
    if (
      typeof err.message === "string" &&
      /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
        err.message,
      )
    ) {
      return true;
    }
    if (Array.isArray(err.errors) && err.errors.some((x) => isDbUnavailable(x))) return true;
  }
  return false;
}
