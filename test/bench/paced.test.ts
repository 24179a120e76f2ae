import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { drivePaced } from "../../bench/paced.js";

/*
 * The paced generator (bench/paced.ts) writes HTTP/1.1 itself: it must send what it says, at the
 * rate asked, and read each answer's status and length right, or the bench's tail is fiction.
 */

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(
  handle: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => handle(req, body, res));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/generic`;
}

describe("the paced generator", () => {
  it("sends each request with its headers and body, at the rate asked, and reads every answer", async () => {
    const seen: { path: string; auth: string | undefined; type: string | undefined; body: string }[] = [];
    const url = await serve((req, body, res) => {
      seen.push({ path: req.url!, auth: req.headers.authorization, type: req.headers["content-type"], body });
      const answer = JSON.stringify({ accepted: 1, padding: "x".repeat(seen.length % 3 === 0 ? 5000 : 10) });
      // Every fifth answer is a 4xx; the header and body go in two writes, as a slow server may.
      res.writeHead(seen.length % 5 === 0 ? 422 : 202, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(answer),
      });
      res.write(answer.slice(0, 3));
      setImmediate(() => res.end(answer.slice(3)));
    });
    const started = performance.now();
    const r = await drivePaced({
      url,
      body: '{"id":"[<id>]","other":"[<id>]"}',
      headers: { authorization: "Bearer t" },
      connections: 4,
      seconds: 1,
      rate: 200,
      distinct: true,
    });
    const took = performance.now() - started;
    expect(r.requests).toBe(200);
    expect(r.ok + r.non2xx).toBe(200);
    expect(r.non2xx).toBe(40);
    expect(r.errors).toBe(0);
    expect(r.statusCodes).toEqual({ "202": 160, "422": 40 });
    expect(took).toBeGreaterThanOrEqual(990);
    expect(new Set(seen.map((s) => s.body)).size).toBe(200);
    for (const s of seen) {
      expect(s).toMatchObject({ path: "/hooks/generic", auth: "Bearer t", type: "application/json" });
      const b = JSON.parse(s.body) as { id: string; other: string };
      expect(b.id).toBe(b.other);
    }
    expect(r.p99).toBeLessThan(1000);
  });

  it("counts an answer without a length as an error and goes on with a new connection", async () => {
    let n = 0;
    const url = await serve((_req, _body, res) => {
      n++;
      if (n === 3) {
        res.writeHead(202, { "content-type": "application/json" }); // chunked
        res.end("{}");
        return;
      }
      res.writeHead(202, { "content-length": 2 });
      res.end("{}");
    });
    const r = await drivePaced({ url, body: "{}", connections: 1, seconds: 0.5, rate: 20, distinct: false });
    expect(r.requests).toBe(10);
    expect(r.ok).toBe(9);
    expect(r.errors).toBe(1);
  });
});
