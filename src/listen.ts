import { createServer, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { type QuickRepeat, withQuickRepeats } from "./api/quick-repeat.js";

type Fetch = (req: Request) => Response | Promise<Response>;
export type BoundServer = Server;

/** How long an idle keep-alive connection is kept open. */
export const KEEP_ALIVE_MS = 65_000;

/** The listen address is taken (or not ours to take): `serve` stops before it has touched anything. */
export class BindError extends Error {}

/**
 * Binds the HTTP socket before anything else exists, so a second `serve` on a busy port fails
 * before it opens the database (PGlite allows one process) or starts a loop. Requests that arrive
 * while the rest starts wait for `setHandler`; `fail` answers them 503 if the start fails. The
 * quick repeat path (api/quick-repeat.ts), when given, answers exact repeats before the app.
 */
export async function bindFirst(listen: { host: string; port: number }): Promise<{
  server: BoundServer;
  bound: { host: string; port: number };
  setHandler: (fetch: Fetch, quick?: QuickRepeat) => void;
  fail: () => void;
}> {
  let resolveHandler!: (fetch: Fetch) => void;
  let fail!: () => void;
  const handler = new Promise<Fetch>((resolve, reject) => {
    resolveHandler = resolve;
    fail = () => reject(new Error("the service did not start"));
  });
  // A start that fails before any request came must not leave an unhandled rejection.
  handler.catch(() => {});
  // Once started, requests go straight to the app (no wait on a settled promise per request).
  let ready: Fetch | undefined;
  let quick: QuickRepeat | undefined;
  const setHandler = (fetch: Fetch, q?: QuickRepeat) => {
    ready = fetch;
    quick = q;
    resolveHandler(fetch);
  };
  const waiting = async (req: Request) => {
    try {
      return (await handler)(req);
    } catch {
      return Response.json(
        { error: "db_unavailable", message: "the service is not running" },
        { status: 503 },
      );
    }
  };
  const app = getRequestListener((req: Request) => (ready ? ready(req) : waiting(req)));
  const server = createServer(
    withQuickRepeats(
      (req, res) => void app(req, res),
      () => quick,
    ),
  );
  // Senders keep a connection between deliveries (Go's HTTP client, Alertmanager's and Grafana's,
  // for 90 s). Node's default closes it after 5 s idle, and a delivery written as it closes is
  // reset: the bench's paced runs lost 2 of 1,390 requests that way.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.port, listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = `${listen.host}:${listen.port}`;
    const why =
      code === "EADDRINUSE"
        ? "the address is already in use (is another homelab-healer serve running? stop it, or set listen.port)"
        : code === "EACCES"
          ? "permission denied (ports below 1024 need privileges; set listen.port)"
          : code === "EADDRNOTAVAIL"
            ? "no interface of this machine has that address (check listen.host)"
            : (e as Error).message;
    throw new BindError(`cannot listen on ${where}: ${why}`, { cause: e });
  }
  const addr = server.address();
  const bound = typeof addr === "object" && addr ? { host: addr.address, port: addr.port } : { ...listen };
  return { server, bound, setHandler, fail };
}
