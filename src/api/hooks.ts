import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { SOURCES, type Source } from "../config/schema.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { createIngester } from "../ingest/ingest.js";
import { ApiError, isDbUnavailable } from "./errors.js";
import type { Metrics } from "./metrics.js";

export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * `POST /hooks/<source>`: 202 {accepted, incidents} once the delivery and its alerts are committed.
 * Auth runs before this router (401 first); then 415 (not JSON), 413 (over 1 MiB), then the body:
 * 400 malformed, 422 wrong shape — both still stored raw for inspection.
 */
export function hooksRouter(deps: IncidentDeps, metrics: Metrics): Hono {
  const app = new Hono();
  const ingest = createIngester(deps, { unavailable: isDbUnavailable });
  app.post(
    "/:source",
    async (c, next) => {
      const source = c.req.param("source");
      if (!(SOURCES as readonly string[]).includes(source))
        throw new ApiError("not_found", `no such source: ${source}`);
      const type = c.req.header("content-type") ?? "";
      if (!JSON_TYPE.test(type)) {
        metrics.delivery(source, "unsupported_media_type");
        throw new ApiError(
          "unsupported_media_type",
          `Content-Type must be application/json, got "${type || "none"}"`,
        );
      }
      await next();
    },
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        metrics.delivery(c.req.param("source") ?? "unknown", "too_large");
        throw new ApiError("too_large", `body over ${MAX_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const source = c.req.param("source") as Source;
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      const outcome = await ingest({
        source,
        body: decoder.decode(bytes),
        bodyBytes: bytes.byteLength,
        contentType: c.req.header("content-type") ?? null,
        remoteAddr: remoteAddr(c.env),
      });
      if (outcome.kind !== "accepted") {
        metrics.delivery(source, outcome.kind);
        throw new ApiError(outcome.kind, outcome.error);
      }
      metrics.delivery(source, outcome.test ? "test" : "accepted", outcome.accepted, outcome.duplicates);
      return c.json(
        {
          accepted: outcome.accepted,
          duplicates: outcome.duplicates,
          incidents: outcome.incidents,
          delivery: outcome.deliveryId,
        },
        202,
      );
    },
  );
  return app;
}

function remoteAddr(env: unknown): string | null {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}
