import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isDbUnavailable } from "../db/unavailable.js";

// Where the API decides on a database failure; the classifier itself lives with the database.
export { isDbUnavailable };

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

/**
 * Any error thrown while answering, as an ApiError: an ApiError as it is; an unreachable database
 * as `db_unavailable` (503, so senders retry; never a 500); anything else as `internal`.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isDbUnavailable(err))
    return new ApiError("db_unavailable", "database unreachable; retry later", { cause: err });
  return new ApiError("internal", "internal error", { cause: err });
}
