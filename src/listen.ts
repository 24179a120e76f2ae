import { createAdaptorServer } from "@hono/node-server";

type Fetch = (req: Request) => Response | Promise<Response>;
export type BoundServer = ReturnType<typeof createAdaptorServer>;

/** The listen address is taken (or not ours to take): `serve` stops before it has touched anything. */
export class BindError extends Error {}

/**
 * Binds the HTTP socket before anything else exists, so a second `serve` on a busy port fails
 * before it opens the database (PGlite allows one process) or starts a loop. Requests that arrive
 * while the rest starts wait for `setHandler`; `fail` answers them 503 if the start fails.
 */
export async function bindFirst(listen: { host: string; port: number }): Promise<{
  server: BoundServer;
  bound: { host: string; port: number };
  setHandler: (fetch: Fetch) => void;
  fail: () => void;
}> {
  let setHandler!: (fetch: Fetch) => void;
  let fail!: () => void;
  const handler = new Promise<Fetch>((resolve, reject) => {
    setHandler = resolve;
    fail = () => reject(new Error("the service did not start"));
  });
  // A start that fails before any request came must not leave an unhandled rejection.
  handler.catch(() => {});
  const server = createAdaptorServer({
    fetch: async (req: Request) => {
      try {
        return (await handler)(req);
      } catch {
        return Response.json(
          { error: "db_unavailable", message: "the service is not running" },
          { status: 503 },
        );
      }
    },
  });
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
