import { Hono, type HonoRequest } from "hono";
import { SOURCES, type Source } from "../config/schema.js";
import { Inflight } from "../inflight.js";
import type { Ingester, IngestOutcome } from "../ingest/ingest.js";
import { ApiError } from "./errors.js";
import { JSON_TYPE } from "./json-body.js";
import type { Metrics } from "./metrics.js";

export const MAX_BODY_BYTES = 1024 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: false });
/** A body as the ingester takes it: UTF-8, invalid sequences replaced (both ways in: this route, quick-repeat.ts). */
export const bodyText = (bytes: Uint8Array): string => decoder.decode(bytes);

/**
 * `POST /hooks/<source>`: 202 {accepted, incidents} once the delivery and its alerts are committed
 * (an exact repeat of committed alerts at once: `repeat: true`, see ingest.ts).
 * Auth runs before this router (401 first); then 415 (not JSON), 413 (over 1 MiB), then the body:
 * 400 malformed, 422 wrong shape — both still stored raw for inspection.
 */
export function hooksRouter(ingest: Ingester, metrics: Metrics, inflight: Inflight = new Inflight()): Hono {
  const app = new Hono();
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
    async (c) => {
      const source = c.req.param("source") as Source;
      const bytes = await readLimited(c.req, () => {
        metrics.delivery(source, "too_large");
        return new ApiError("too_large", `body over ${MAX_BODY_BYTES} bytes`);
      });
      // Tracked: a delivery whose client hung up is still stored before shutdown closes the database.
      const outcome = await inflight.track(
        ingest({
          source,
          body: bodyText(bytes),
          bodyBytes: bytes.byteLength,
          contentType: c.req.header("content-type") ?? null,
          remoteAddr: remoteAddr(c.env),
        }),
      );
      if (outcome.kind !== "accepted") {
        metrics.delivery(source, outcome.kind);
        throw new ApiError(outcome.kind, outcome.error);
      }
      metrics.delivery(source, outcome.test ? "test" : "accepted", outcome.accepted, outcome.duplicates);
      return c.json(acceptedBody(outcome), 202);
    },
  );
  return app;
}

/** The 202's body (both ways in: this route, quick-repeat.ts). */
export function acceptedBody(outcome: Extract<IngestOutcome, { kind: "accepted" }>) {
  return {
    accepted: outcome.accepted,
    duplicates: outcome.duplicates,
    incidents: outcome.incidents,
    delivery: outcome.deliveryId,
    // An exact repeat has no row of its own: `delivery` is the stored one it is counted on.
    ...(outcome.repeat ? { repeat: true } : {}),
  };
}

/**
 * The body, refused past MAX_BODY_BYTES. A declared length is checked before anything is read and
 * then read on the server's fast path (no WHATWG Request is built, which costs more than the rest
 * of a small delivery); a body without one is streamed and counted.
 */
async function readLimited(req: HonoRequest, tooLarge: () => ApiError): Promise<Uint8Array> {
  const declared = req.header("content-length");
  if (declared !== undefined && req.header("transfer-encoding") === undefined) {
    if (Number(declared) > MAX_BODY_BYTES) throw tooLarge();
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
    return bytes;
  }
  const body = req.raw.body;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function remoteAddr(env: unknown): string | null {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}
