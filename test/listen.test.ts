import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type BoundServer, bindFirst, KEEP_ALIVE_MS } from "../src/listen.js";

let server: BoundServer | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  socket?.destroy();
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  server = undefined;
});

/** Sends one keep-alive request on `s` and reads its whole answer (head and Content-Length body). */
function exchange(s: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: (\d+)/i.exec(text);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) {
        s.off("data", onData);
        resolve(text);
      }
    };
    s.on("data", onData);
    s.once("close", () => reject(new Error(`closed after: ${JSON.stringify(text)}`)));
    s.write(`GET ${path} HTTP/1.1\r\nhost: test\r\nconnection: keep-alive\r\n\r\n`);
  });
}

describe("the listening socket", () => {
  it("keeps an idle keep-alive connection past Node's 5 s default, and says for how long", async () => {
    const bound = await bindFirst({ host: "127.0.0.1", port: 0 });
    server = bound.server;
    bound.setHandler((req) => new Response(new URL(req.url).pathname));
    socket = connect(bound.bound.port, "127.0.0.1");
    const first = await exchange(socket, "/first");
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toMatch(new RegExp(`\\r\\nKeep-Alive: timeout=${KEEP_ALIVE_MS / 1000}\\r\\n`, "i"));
    await new Promise((r) => setTimeout(r, 6000));
    const second = await exchange(socket, "/second");
    expect(second).toMatch(/^HTTP\/1\.1 200 [\s\S]*\/second$/);
  }, 15_000);
});
