import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { humanLine } from "../../src/log-line.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
const PATH = process.env.PATH ?? "/usr/bin:/bin";

/** Runs `serve` until `done(output)` holds (or 60 s), then SIGTERM to its process group; returns the output. */
async function serveUntil(argv: string[], done: (out: string) => boolean): Promise<string> {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH, TERM: "dumb" },
  });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  try {
    const deadline = Date.now() + 60_000;
    while (!done(out) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
  } finally {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {}
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000))]);
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  }
  return out;
}

describe("log lines", () => {
  it("in a terminal: one short line per event, the fix said once, no stack", () => {
    const line = humanLine({
      level: 40,
      time: "2026-12-06T07:36:11.000Z",
      service: "homelab-healer",
      check: "repo",
      status: "warn",
      fix: "set repo.url",
      msg: "preflight repo: repo.url is not set",
      err: { type: "Error", message: "boom", stack: "Error: boom\n    at x (y.js:1:1)" },
    });
    expect(line).toBe("07:36:11 WARN  preflight repo: repo.url is not set: boom → set repo.url\n");
    expect(humanLine({ level: 30, time: 0, msg: "incident 3: open → fixing", incident: 3, run: 7 })).toBe(
      "00:00:00 INFO  incident 3: open → fixing [run=7]\n",
    );
  });

  describe("serve, as a program", () => {
    let dir: string;
    let t: TestDatabase;
    let config: string;
    beforeAll(async () => {
      dir = mkdtempSync(join("/var/tmp", "healer-log-terminal-"));
      t = await createTestDatabase();
      writeFileSync(join(dir, "token"), "terminal-test-token-0001\n");
      config = join(dir, "config.json");
      // No repo.url, no forge: preflight warns (with a fix) at start.
      writeFileSync(
        config,
        JSON.stringify({
          listen: { port: 0 },
          database: { url: t.url },
          stateDir: join(dir, "state"),
          auth: { tokenFile: join(dir, "token") },
          forge: { type: "none" },
          agent: { command: "no-such-agent-program" },
        }),
      );
    });
    afterAll(async () => {
      await t?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const startedAndWarned = (out: string) => /preflight[^\n]*passed|required check\(s\) failed/.test(out);

    it("on a pseudo-terminal (script -qc) prints short human lines, each fix once, no PATH", async () => {
      const cmd = [process.execPath, "--import", TSX, MAIN, "serve", "--config", config].join(" ");
      const out = await serveUntil(["script", "-qfec", cmd, "/dev/null"], startedAndWarned);
      const lines = out.split(/\r?\n/).filter((l) => /^\d\d:\d\d:\d\d /.test(l));
      expect(lines.length, out).toBeGreaterThan(3);
      for (const l of lines) {
        expect(l.startsWith("{"), l).toBe(false);
        expect(l.length, l).toBeLessThan(400);
      }
      const repo = lines.find((l) => l.includes("preflight repo: repo.url is not set"));
      expect(repo, out).toMatch(/WARN.*→ set repo\.url/);
      expect(repo!.split("set repo.url").length - 1).toBe(1);
      const agent = lines.find((l) => l.includes("preflight agent:"));
      expect(agent, out).toContain("agent.command no-such-agent-program not found on PATH");
      expect(out).not.toContain(PATH);
    });

    it("through a pipe prints JSON lines, the fix a field of its own and not in msg", async () => {
      const out = await serveUntil(
        [process.execPath, "--import", TSX, MAIN, "serve", "--config", config],
        startedAndWarned,
      );
      const records = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg: string; fix?: string; check?: string });
      const repo = records.find((r) => r.check === "repo");
      expect(repo, out).toMatchObject({
        msg: "preflight repo: repo.url is not set: alerts are triaged, but no repair runs",
      });
      expect(repo!.fix).toContain("set repo.url");
      for (const r of records) expect(r.msg).not.toContain("(fix:");
      expect(out).not.toContain(PATH);
    });
  });
});
