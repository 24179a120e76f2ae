import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { Sessions } from "../../src/web/session.js";
import { parseTranscript } from "../../src/web/transcript.js";
import { createTestApp, type TestApp, TOKEN } from "../support/app.js";

/* The web page's sign-in and safety rules through app.request (no socket); the browser tests do the rest. */

const form = (fields: Record<string, string>, cookie?: string) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie ? { cookie } : {}) },
  body: new URLSearchParams(fields).toString(),
});

const cookieOf = (r: Response) => r.headers.get("set-cookie")?.split(";")[0] ?? "";

describe("web sign-in and sessions", () => {
  let a: TestApp | undefined;
  afterEach(async () => {
    await a?.close();
    a = undefined;
  });

  it("signs in with the token, sets a strict HttpOnly cookie, and refuses a tampered or expired one", async () => {
    a = await createTestApp({ web: { sessionSeconds: 60 } });
    const wrong = await a.app.request("/login", form({ token: "nope" }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const ok = await a.app.request("/login", form({ token: TOKEN, next: "//evil.example/" }));
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/");
    const set = ok.headers.get("set-cookie")!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Max-Age=60/);
    expect(set).not.toMatch(/Secure/);
    const cookie = cookieOf(ok);
    const home = await a.app.request("/", { headers: { cookie } });
    expect(await home.text()).toContain("<h1>Incidents</h1>");
    const tampered = cookie.replace(/\.operator\./, ".viewer.");
    expect(await (await a.app.request("/", { headers: { cookie: tampered } })).text()).toContain(
      'name="token"',
    );
    a.clock.advance(61);
    expect(await (await a.app.request("/", { headers: { cookie } })).text()).toContain('name="token"');
  });

  it("marks the cookie Secure with web.secureCookies or behind https", async () => {
    a = await createTestApp({ web: { secureCookies: true } });
    expect((await a.app.request("/login", form({ token: TOKEN }))).headers.get("set-cookie")).toMatch(
      /Secure/,
    );
    await a.close();
    a = await createTestApp();
    const r = await a.app.request("https://healer.example/login", form({ token: TOKEN }));
    expect(r.headers.get("set-cookie")).toMatch(/Secure/);
  });

  it("puts the security headers on the sign-in page and the static files", async () => {
    a = await createTestApp();
    const r = await a.app.request("/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    const css = /href="(\/static\/style-[0-9a-f]+\.css)"/.exec(await r.text())![1]!;
    const s = await a.app.request(css);
    expect(s.headers.get("content-type")).toContain("text/css");
    expect(s.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("answers a page of another origin's form with 403 (no CSRF token) and changes nothing", async () => {
    a = await createTestApp();
    const cookie = cookieOf(await a.app.request("/login", form({ token: TOKEN })));
    const r = await a.app.request("/silences", form({ service: "jellyfin", for: "1h" }, cookie));
    expect(r.status).toBe(403);
    const rows = await a.t.db.selectFrom("silences").selectAll().execute();
    expect(rows).toEqual([]);
  });

  it("pages the incidents, 50 to a page, newest first", async () => {
    a = await createTestApp();
    const alerts = Array.from({ length: 51 }, (_, i) => ({ name: `Alert${i}`, service: `svc${i}` }));
    expect((await a.post("generic", { alerts })).status).toBe(202);
    const cookie = cookieOf(await a.app.request("/login", form({ token: TOKEN })));
    const one = await (await a.app.request("/", { headers: { cookie } })).text();
    expect(one.match(/<td class="lead">/g)).toHaveLength(50);
    expect(one).toContain('href="/?page=2"');
    const two = await (await a.app.request("/?page=2", { headers: { cookie } })).text();
    expect(two.match(/<td class="lead">/g)).toHaveLength(1);
    expect(two).not.toContain("?page=3");
    expect(two).toContain('<a href="/">← newer</a>');
    const bad = await a.app.request("/?state=bogus", { headers: { cookie } });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain("state must be one of");
  });

  it("is off with web.enable false: / is the API's 404", async () => {
    a = await createTestApp({ web: { enable: false } });
    const r = await a.app.request("/");
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: "not_found" });
  });
});

describe("web pieces", () => {
  it("signs a viewer and an operator apart, and a CSRF token belongs to its session", () => {
    const s = new Sessions({ token: "a".repeat(20), viewerToken: "b".repeat(20) }, 3600);
    const now = new Date("2026-12-01T00:00:00Z");
    expect(s.roleFor("a".repeat(20))).toBe("operator");
    expect(s.roleFor("b".repeat(20))).toBe("viewer");
    expect(s.roleFor("c")).toBeUndefined();
    const one = s.read(s.issue("viewer", now), now)!;
    const two = s.read(s.issue("viewer", now), now)!;
    expect(one.role).toBe("viewer");
    expect(s.csrfMatches(one, one.csrf)).toBe(true);
    expect(s.csrfMatches(one, two.csrf)).toBe(false);
    const rotated = new Sessions({ token: "z".repeat(20), viewerToken: "b".repeat(20) }, 3600);
    expect(rotated.read(s.issue("operator", now), now)).toBeUndefined();
  });

  it("refuses a viewer token that is the API token", () => {
    const dir = mkdtempSync(join(tmpdir(), "healer-viewer-"));
    writeFileSync(join(dir, "t"), "same-token-1234567890\n");
    writeFileSync(
      join(dir, "c.json"),
      JSON.stringify({ auth: { tokenFile: join(dir, "t"), viewerTokenFile: join(dir, "t") } }),
    );
    expect(() => loadConfig(join(dir, "c.json"), {})).toThrow(/auth\.viewerTokenFile: holds the same token/);
  });

  it("reads a transcript: tool calls, a denial, notes, unknown events and stderr", () => {
    const log = [
      "# homelab-healer: agent start",
      JSON.stringify({
        type: "tool_use",
        part: {
          tool: "bash",
          state: {
            status: "error",
            input: { command: "rm -rf /" },
            error: "rejected permission to use this tool",
          },
        },
      }),
      JSON.stringify({ type: "inspected", message: "a new kind" }),
      "some stderr line",
      "another",
      "# homelab-healer: egress refused x.example:443 1 time(s)",
    ].join("\n");
    const e = parseTranscript(log);
    expect(e.map((x) => x.kind)).toEqual(["note", "tool", "event", "output", "note"]);
    expect(e[1]).toMatchObject({ tool: "bash", denied: true, input: expect.stringContaining("rm -rf /") });
    expect(e[3]).toMatchObject({ text: "some stderr line\nanother" });
    expect(e[4]).toMatchObject({ refused: true });
  });
});
