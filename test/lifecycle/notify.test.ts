import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createNotificationFeed } from "../../src/lifecycle/notifications.js";
import { createNtfy, headerValue } from "../../src/notify/ntfy.js";
import { createWorld, type World } from "./world.js";

interface Published {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** An ntfy stand-in on 127.0.0.1: records what is published, answers `status`, or never answers. */
async function fakeNtfy(mode: { status?: number; hang?: boolean } = {}) {
  const got: Published[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      if (mode.hang) return;
      res.writeHead(mode.status ?? 200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    got,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const decode = (v: string | string[] | undefined) => {
  const s = String(v);
  const m = /^=\?UTF-8\?B\?(.*)\?=$/.exec(s);
  return m ? Buffer.from(m[1] as string, "base64").toString("utf8") : s;
};

describe("ntfy notifications", () => {
  let w: World | undefined;
  let ntfy: Awaited<ReturnType<typeof fakeNtfy>> | undefined;
  afterEach(async () => {
    await w?.close();
    await ntfy?.stop();
    w = undefined;
    ntfy = undefined;
  });

  it("PR opened, follow-up started and needs human, with title, tags, click and the bearer token", async () => {
    ntfy = await fakeNtfy();
    w = await createWorld(
      {
        notify: { ntfy: { url: ntfy.url, topic: "homelab", tokenFile: "/dev/null" } },
        lifecycle: { deployGraceSeconds: 60, maxFollowUps: 1 },
      },
      { secrets: { ntfyToken: "ntfy-secret" } },
    );
    const id = await w.fire("café.service");
    const first = await w.openPr(id);
    await w.lifecycle.tick();
    w.fake.merge(first.pr);
    w.clock.advance(300);
    await w.lifecycle.tick();
    w.clock.advance(61);
    await w.fire("café.service"); // the fix did not hold: follow-up 1 of 1
    const second = await w.openPr(id);
    w.fake.merge(second.pr);
    w.clock.advance(300);
    await w.lifecycle.tick();
    w.clock.advance(61);
    await w.fire("café.service"); // again: follow-ups spent, needs_human
    await w.lifecycle.tick();
    await w.lifecycle.idle();

    const titles = ntfy.got.map((p) => decode(p.headers.title));
    expect(titles).toEqual([
      "PR opened: ServiceDown: café.service",
      "Follow-up started: ServiceDown: café.service",
      "PR opened: ServiceDown: café.service",
      "Needs a human: ServiceDown: café.service",
    ]);
    const [opened] = ntfy.got;
    expect(opened?.path).toBe("/homelab");
    expect(opened?.headers.authorization).toBe("Bearer ntfy-secret");
    expect(opened?.headers.click).toBe(`https://github.example/homelab/nixos-config/pull/${first.pr}`);
    expect(opened?.headers.tags).toBe("wrench,homelab-healer");
    expect(opened?.body).toContain(`Incident ${id}`);
    expect(opened?.body).toContain(`/pull/${first.pr}`);
    expect(ntfy.got[3]?.body).toContain("follow-up(s) are spent");

    // Events from before a start are never sent.
    w.clock.advance(1);
    const late = createNotificationFeed(w.deps, createNtfy({ url: ntfy.url, topic: "homelab" }));
    expect(await late.poll()).toBe(0);
    expect(ntfy.got).toHaveLength(4);
  });

  it("a failing or hanging ntfy never stops the loop: PR state still moves, a warning is logged", async () => {
    for (const mode of [{ status: 500 }, { hang: true }]) {
      ntfy = await fakeNtfy(mode);
      w = await createWorld(
        { notify: { ntfy: { url: ntfy.url, topic: "homelab" } } },
        { notifyTimeoutMs: 200 },
      );
      const id = await w.fire("nginx.service");
      const { pr } = await w.openPr(id);
      w.fake.merge(pr);
      await w.lifecycle.tick();
      expect((await w.incident(id)).state).toBe("verifying");
      await w.lifecycle.idle();
      expect(ntfy.got).toHaveLength(1);
      expect(w.lines.some((l) => l.msg === "notification not delivered" && l.incident === id)).toBe(true);
      await w.close();
      await ntfy.stop();
      w = undefined;
      ntfy = undefined;
    }
  });

  it("encodes non-ASCII header values as RFC 2047 words and keeps ASCII as is", () => {
    expect(headerValue("PR opened: nginx")).toBe("PR opened: nginx");
    expect(headerValue("a\nb")).toBe("a b");
    expect(decode(headerValue("Müller ⚠"))).toBe("Müller ⚠");
  });
});
