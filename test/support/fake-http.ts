import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a fake forge answered. */
export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
}

/** An injected failure: the answer the next request gets instead of the real one. */
export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What a route answers. */
export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One request as a route sees it (path decoded, JSON body parsed, headers lower-cased). */
export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingMessage["headers"];
}

/** A JSON HTTP server on 127.0.0.1 with a request log and injectable faults (the fake forges' base). */
export interface FakeHttp {
  url: string;
  requests: LoggedRequest[];
  failNext(count: number, fault: Fault): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : JSON.parse(text);
}

/**
 * Starts a server on 127.0.0.1, port 0. `route` answers each request (after `authorize`, which may
 * answer instead, e.g. 401); a pending fault answers before both. `badJson` is the answer to a body
 * that is not JSON.
 */
export async function startFakeHttp(
  route: (req: FakeRequest) => Promise<Answer>,
  badJson: (error: unknown) => Answer,
): Promise<FakeHttp> {
  const requests: LoggedRequest[] = [];
  const pending: Fault[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    // Clients encode the slashes of a branch or ref name: decode them as the forges do.
    const path = decodeURIComponent(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    let body: unknown;
    let answer: Answer;
    try {
      body = await readBody(req);
      const fault = pending.shift();
      answer = fault
        ? { status: fault.status, body: fault.body, headers: fault.headers ?? {} }
        : await route({ method: req.method ?? "GET", path, query, body, headers: req.headers });
    } catch (e) {
      answer = badJson(e);
    }
    requests.push({ method: req.method ?? "GET", path, query, body, status: answer.status });
    const headers: Record<string, string> = { ...(answer.headers ?? {}) };
    if (answer.body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
    res.writeHead(answer.status, headers);
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  };
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext: (count, fault) => {
      for (let i = 0; i < count; i++) pending.push(fault);
    },
    clearFaults: () => {
      pending.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** The `forge` config block pointing the service at a fake forge; writes its token to `tokenFile`. */
export function fakeForgeBlock(
  fake: { kind: string; token: string; owner: string; repo: string; url: string },
  tokenFile: string,
) {
  writeFileSync(tokenFile, `${fake.token}\n`);
  return { type: fake.kind, owner: fake.owner, repo: fake.repo, apiUrl: fake.url, tokenFile };
}
