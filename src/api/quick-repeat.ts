import type { IncomingMessage, ServerResponse } from "node:http";
import { SOURCES, type Source } from "../config/schema.js";
import type { Ingester } from "../ingest/ingest.js";
import { REPEAT_BODY_MAX_BYTES } from "../ingest/repeat-bodies.js";
import { bearerToken, tokenMatches } from "./auth.js";
import { acceptedBody, bodyText } from "./hooks.js";
import { JSON_TYPE } from "./json-body.js";
import type { Metrics } from "./metrics.js";

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Answers an exact repeat (the JSON of its 202), or undefined: then the request takes the app's way. */
export type QuickRepeat = (req: IncomingMessage, body: Buffer) => string | undefined;

/** Bodies this small are read before routing: RepeatBodies keeps none larger. */
export const QUICK_MAX_BYTES = REPEAT_BODY_MAX_BYTES;

const PATHS = new Map<string, Source>(SOURCES.map((s) => [`/hooks/${s}`, s]));

/**
 * The answer the app would give an exact repeat, given without it: the same checks in the same
 * order (source, bearer token, JSON content type), then the ingester's in-memory `repeat`. Anything
 * else — a failed check, a body not seen this minute, an alert not yet committed — is not answered
 * here, so the app answers it, errors included, exactly as before.
 */
export function quickRepeats(opts: {
  ingest: Ingester;
  tokenFor: (path: string) => string;
  metrics: Metrics;
}): QuickRepeat {
  return (req, body) => {
    const path = req.url ?? "";
    const source = PATHS.get(path);
    if (source === undefined) return undefined;
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !tokenMatches(token, opts.tokenFor(path))) return undefined;
    if (!JSON_TYPE.test(req.headers["content-type"] ?? "")) return undefined;
    const outcome = opts.ingest.repeat(source, bodyText(body));
    if (outcome?.kind !== "accepted") return undefined;
    opts.metrics.delivery(source, "accepted", outcome.accepted, outcome.duplicates);
    return JSON.stringify(acceptedBody(outcome));
  };
}

/**
 * A node:http listener in front of the app's. A small POST to `/hooks/<source>` with a declared
 * length is read whole first; an exact repeat is answered 202 from memory (Alertmanager re-sends
 * every group at its repeat interval, and a sender's retries are the same body: this is most of
 * what a quiet homelab posts). Every other request goes on to `next` unchanged, with the body it
 * read as `rawBody`, which @hono/node-server reads in place of the stream.
 */
export function withQuickRepeats(next: Listener, quick: () => QuickRepeat | undefined): Listener {
  return (req, res) => {
    const declared = req.headers["content-length"];
    if (
      req.method !== "POST" ||
      declared === undefined ||
      req.headers["transfer-encoding"] !== undefined ||
      !PATHS.has(req.url ?? "") ||
      !(Number(declared) <= QUICK_MAX_BYTES)
    ) {
      next(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    // A client gone mid-body: there is nobody to answer and nothing was read to store.
    req.once("error", () => {});
    req.once("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const answer = quick()?.(req, body);
      if (answer === undefined) {
        (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
        next(req, res);
        return;
      }
      res.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
      res.end(answer);
    });
  };
}
