import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EgressProxy, parseAuthority, startEgressProxy } from "../../src/agent/egress/proxy.js";

let dir: string;
let proxy: EgressProxy;
let upstream: Server;
let port: number;
let seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
const firstRefusals: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "healer-proxy-"));
  upstream = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      // Streamed in pieces, as a model's server-sent events are.
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      setTimeout(() => res.end("data: two\n\n"), 50);
    });
  });
  await new Promise<void>((ok) => upstream.listen(0, "127.0.0.1", ok));
  port = (upstream.address() as AddressInfo).port;
  proxy = await startEgressProxy({
    socketPath: join(dir, "egress.sock"),
    // The upstream, and a port nothing listens on (allowed, yet unreachable).
    allow: (d) => d.host === "127.0.0.1" && (d.port === port || d.port === 1),
    onFirstRefusal: (d) => firstRefusals.push(d),
  });
});
afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((ok) => upstream?.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

/** One request to the proxy's socket: status and body. */
function viaProxy(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(
      { socketPath: join(dir, "egress.sock"), path, method: init.method ?? "GET", headers: init.headers },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", fail);
    req.end(init.body);
  });
}

/** A CONNECT through the proxy's socket: its status line. */
function tunnel(authority: string): Promise<string> {
  return new Promise((ok, fail) => {
    const s = connect(join(dir, "egress.sock"));
    let got = "";
    s.on("error", fail);
    s.on("data", (d) => {
      got += d;
      if (got.includes("\r\n\r\n")) {
        s.destroy();
        ok(got.split("\r\n")[0]!);
      }
    });
    s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

describe("the egress proxy", () => {
  it("forwards a plain-HTTP request to an allowed destination: method, path, body, streamed answer; no proxy headers", async () => {
    seen = [];
    const r = await viaProxy(`http://127.0.0.1:${port}/v1/chat/completions?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", "proxy-authorization": "Basic eA==" },
      body: '{"stream":true}',
    });
    expect(r).toEqual({ status: 200, body: "data: one\n\ndata: two\n\n" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: "POST",
      url: "/v1/chat/completions?x=1",
      body: '{"stream":true}',
    });
    expect(seen[0]!.headers["proxy-authorization"]).toBeUndefined();
  });

  it("refuses everything else with 403, tells the first refusal of each destination once, and counts them", async () => {
    seen = [];
    expect((await viaProxy(`http://127.0.0.1:${port + 1}/leak`)).status).toBe(403);
    expect((await viaProxy(`http://127.0.0.1:${port + 1}/leak`)).status).toBe(403);
    expect(await tunnel(`127.0.0.1:${port + 1}`)).toBe("HTTP/1.1 403 Forbidden");
    expect(await tunnel("attacker.example:443")).toBe("HTTP/1.1 403 Forbidden");
    expect(await tunnel(`127.0.0.1:${port}`)).toBe("HTTP/1.1 200 Connection Established");
    expect(seen).toHaveLength(0);
    expect(firstRefusals).toEqual([`127.0.0.1:${port + 1}`, "attacker.example:443"]);
    expect(proxy.refusals()).toEqual([
      { destination: `127.0.0.1:${port + 1}`, count: 3 },
      { destination: "attacker.example:443", count: 1 },
    ]);
  });

  it("answers 400 to what is not a proxy request, 502 when an allowed destination does not answer", async () => {
    expect((await viaProxy("/relative")).status).toBe(400);
    expect((await viaProxy("ftp://127.0.0.1/x")).status).toBe(400);
    expect((await viaProxy("http://127.0.0.1:1/x")).status).toBe(502);
    expect(await tunnel("127.0.0.1:1")).toBe("HTTP/1.1 502 Bad Gateway");
    expect(await tunnel("no-port")).toBe("HTTP/1.1 400 Bad Request");
  });

  it("parses CONNECT authorities, IPv6 included", () => {
    expect(parseAuthority("API.Example.com:443")).toEqual({ host: "api.example.com", port: 443 });
    expect(parseAuthority("[::1]:8080")).toEqual({ host: "::1", port: 8080 });
    expect(parseAuthority("x:0")).toBeUndefined();
    expect(parseAuthority("x")).toBeUndefined();
  });
});
