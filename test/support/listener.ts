import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** An HTTP listener on the host's loopback that counts every TCP connection it gets. */
export interface Listener {
  port: number;
  connections: number;
  server: Server;
}

/** Starts a listener on 127.0.0.1 and a free port that answers every request with `body`. */
export async function listen(body: string): Promise<Listener> {
  const l: Listener = { port: 0, connections: 0, server: createServer((_q, r) => r.end(body)) };
  l.server.on("connection", (s: Socket) => {
    l.connections++;
    s.on("error", () => {});
  });
  await new Promise<void>((ok) => l.server.listen(0, "127.0.0.1", ok));
  l.port = (l.server.address() as AddressInfo).port;
  return l;
}

/** Closes a listener and its open connections (nothing to do for one never started). */
export const close = (l: Listener | undefined) =>
  new Promise<void>((ok) => {
    if (!l) return ok();
    l.server.closeAllConnections();
    l.server.close(() => ok());
  });
