/*
 * "The database cannot be reached right now": the one failure every caller turns into something a
 * retry cures (503 to a sender, a maintenance pass tried again, a run deferred) instead of a 500,
 * a spent attempt or an exit. PostgreSQL going away reaches us in several shapes: a socket error
 * from Node, a server message with a SQLSTATE, or a plain Error from pg or pg-pool.
 */

// Socket errors while connecting or on an open connection.
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

// SQLSTATEs: admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down, in
// recovery), too_many_connections; class 08 (connection exception) is matched by prefix.
const SERVER_CODES = new Set(["57P01", "57P02", "57P03", "53300"]);

// pg and pg-pool raise these without a code.
const MESSAGES =
  /^(?:Connection terminated|timeout exceeded when trying to connect|timeout expired$|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/;

/** True when `e` (or an error in its `cause` chain or an AggregateError's list) means the database is unreachable. */
export function isDbUnavailable(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as { code?: unknown; syscall?: unknown; message?: unknown; errors?: unknown };
    if (typeof err.code === "string") {
      if (SOCKET_CODES.has(err.code) || SERVER_CODES.has(err.code) || /^08[0-9A-Z]{3}$/.test(err.code))
        return true;
      // A Unix socket that is not there (PostgreSQL stopped removes /run/postgresql/.s.PGSQL.5432).
      if (err.code === "ENOENT" && err.syscall === "connect") return true;
    }
    if (typeof err.message === "string" && MESSAGES.test(err.message)) return true;
    if (Array.isArray(err.errors) && err.errors.some((x) => isDbUnavailable(x))) return true;
  }
  return false;
}

/**
 * Limits that keep a request from hanging while PostgreSQL is away: waiting for a connection (a
 * new one, or a free one from a busy pool) fails after 5 s, classified as "database unreachable"
 * (isDbUnavailable), so a sender gets its 503 well inside its own timeout. TCP keepalive lets a
 * connection to a server that vanished without closing it (host down, network gone) fail too.
 */
export const CONNECTION_LIMITS = {
  connectionTimeoutMillis: 5000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
} as const;
