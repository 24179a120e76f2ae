import { rmSync } from "node:fs";
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type ServerResponse,
} from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Destination, formatDestination, normalizeHost } from "./allowlist.js";

/** A destination the proxy refused, and how often. */
export interface Refusal {
  destination: string;
  count: number;
}

export interface EgressProxyOptions {
  /** Where to listen (a Unix socket; bound into the sandbox). */
  socketPath: string;
  /** Whether the run may reach a destination. */
  allow: (d: Destination) => boolean;
  /** Called on the first refusal of each destination (`host:port`). */
  onFirstRefusal?: (destination: string) => void;
}

export interface EgressProxy {
  /** Refused destinations so far, in the order first refused. */
  refusals(): Refusal[];
  /** Stops listening, ends every tunnel and forwarded request, removes the socket. */
  close(): Promise<void>;
}

/** Headers that belong to one hop (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase()),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

/** `host:port` of a CONNECT request (`[v6]:port` too); undefined when malformed. */
export function parseAuthority(authority: string): Destination | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(authority) ?? /^([^:[\]]+):(\d+)$/.exec(authority);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(m[1]!), port };
}

/**
 * The per-run egress proxy on a Unix socket: HTTP CONNECT tunnels and plain-HTTP absolute-URI
 * requests, to allowed destinations only. Names are resolved here, on the host: the sandbox has no
 * DNS. Everything else gets 403 and is counted once per destination.
 */
export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const tally = new Map<string, number>();
  const open = new Set<Duplex>();
  const track = <T extends Duplex>(s: T): T => {
    open.add(s);
    s.once("close", () => open.delete(s));
    s.on("error", () => s.destroy());
    return s;
  };
  // Keep-alive towards the model: one connection for the run's many requests.
  const agent = new Agent({ keepAlive: true });

  const admit = (d: Destination): boolean => {
    if (opts.allow(d)) return true;
    const key = formatDestination(d);
    const n = tally.get(key) ?? 0;
    tally.set(key, n + 1);
    if (n === 0) opts.onFirstRefusal?.(key);
    return false;
  };

  const onConnect = (req: IncomingMessage, client: Duplex, head: Buffer) => {
    track(client);
    const d = parseAuthority(req.url ?? "");
    if (!d) return void client.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    if (!admit(d)) return void client.end(refusedHead(d));
    const upstream: Socket = track(connect({ host: d.host, port: d.port }));
    upstream.once("connect", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("error", (e) => {
      if (!client.destroyed)
        client.end(`HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n${e.message}\n`);
    });
    client.once("close", () => upstream.destroy());
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      return void res.writeHead(400, { "content-type": "text/plain" }).end("absolute http:// URL required\n");
    }
    if (url.protocol !== "http:")
      return void res.writeHead(400, { "content-type": "text/plain" }).end("only http:// is forwarded\n");
    const d = { host: normalizeHost(url.hostname), port: url.port === "" ? 80 : Number(url.port) };
    if (!admit(d)) return void res.writeHead(403, { "content-type": "text/plain" }).end(refusedBody(d));
    const up = request(
      { host: d.host, port: d.port, method: req.method, path: `${url.pathname}${url.search}`, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.headers));
        upRes.pipe(res);
      },
    );
    for (const [k, v] of Object.entries(endToEnd(req.headers))) if (v !== undefined) up.setHeader(k, v);
    up.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`${e.message}\n`);
    });
    res.once("close", () => up.destroy());
    req.pipe(up);
  };

  const server = createServer(onRequest);
  server.on("connect", onConnect);
  server.on("connection", (s: Socket) => track(s));
  server.on("clientError", (_e, s) => s.destroy());
  rmSync(opts.socketPath, { force: true });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.socketPath, () => {
      server.off("error", fail);
      ok();
    });
  });
  return {
    refusals: () => [...tally].map(([destination, count]) => ({ destination, count })),
    close: async () => {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      for (const s of open) s.destroy();
      agent.destroy();
      await closed;
      rmSync(opts.socketPath, { force: true });
    },
  };
}

function refusedBody(d: Destination): string {
  return `homelab-healer: ${formatDestination(d)} is not in this run's egress allowlist (agent.allowedHosts)\n`;
}

function refusedHead(d: Destination): string {
  const body = refusedBody(d);
  return `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
