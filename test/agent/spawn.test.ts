import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAgent } from "../../src/agent/spawn.js";
import { HAS_BWRAP, type Lab, makeLab, pidsWith, scriptSpec, uniqueMarker } from "./helpers.js";

let lab: Lab;
const leftovers: number[] = [];
beforeEach(() => {
  lab = makeLab();
});
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  lab.cleanup();
});

describe.each(HAS_BWRAP ? (["bubblewrap", "none"] as const) : (["none"] as const))(
  "runAgent (%s)",
  (sandbox) => {
    const cfg = { sandbox };

    it("runs an agent that changes the worktree and fills the PR body", async () => {
      let beats = 0;
      const r = await runAgent(scriptSpec(lab, "change", [], { config: cfg, onActivity: () => beats++ }));
      expect(r).toMatchObject({ exitCode: 0, signal: null, ended: "exited" });
      expect(readFileSync(join(lab.worktree, "hosts/nas/nginx.nix"), "utf8")).toContain(
        "nginx.enable = true",
      );
      expect(readFileSync(join(lab.runDir, "pr-body.md"), "utf8")).toMatch(/^# nas: enable nginx again\n/);
      expect(r.stats).toMatchObject({ toolCalls: 1, tools: { write: 1 }, cost: 0.01, finishReason: "stop" });
      expect(r.stats.tokens.input).toBe(10);
      expect(beats).toBeGreaterThan(0);
      expect(r.logPath).toBe(join(lab.runDir, "agent.log"));
      expect(readFileSync(r.logPath, "utf8")).toContain('"type":"step_finish"');
      for (const f of [
        "prompt.md",
        "context.json",
        "opencode.json",
        "home/.config/opencode/package-lock.json",
      ]) {
        expect(existsSync(join(lab.runDir, f)), f).toBe(true);
      }
    });

    it("reports a failing agent's exit code and appends to the log", async () => {
      await runAgent(scriptSpec(lab, "no-change", [], { config: cfg }));
      const r = await runAgent(scriptSpec(lab, "fail", [], { config: cfg }));
      expect(r).toMatchObject({ exitCode: 3, ended: "exited" });
      const log = readFileSync(r.logPath, "utf8");
      expect(log).toContain("failing on purpose");
      expect(log.match(/agent start/g)).toHaveLength(2);
    });

    it("keeps a filled PR body on the next turn", async () => {
      await runAgent(scriptSpec(lab, "change", [], { config: cfg }));
      await runAgent(scriptSpec(lab, "no-change", [], { config: cfg }));
      expect(readFileSync(join(lab.runDir, "pr-body.md"), "utf8")).toMatch(/^# nas: enable nginx again/);
    });

    it("ends a silent agent at the idle timeout", async () => {
      const r = await runAgent(scriptSpec(lab, "hang", [], { config: { ...cfg, idleTimeoutSeconds: 1 } }));
      expect(r.ended).toBe("idle_timeout");
      expect(r.exitCode).toBeNull();
      expect(r.signal).toMatch(/^SIG(TERM|KILL)$/);
    });

    it("ends a busy agent at the wall-clock timeout", async () => {
      const r = await runAgent(
        scriptSpec(lab, "slow", ["30"], { config: { ...cfg, timeoutSeconds: 2, idleTimeoutSeconds: 60 } }),
      );
      expect(r.ended).toBe("timeout");
      expect(readFileSync(r.logPath, "utf8")).toContain("working 1/30");
      expect(existsSync(join(lab.worktree, "hosts/nas/nginx.nix"))).toBe(false);
    });

    it("ends the agent when the signal aborts, and does not start it when already aborted", async () => {
      const ac = new AbortController();
      const r = await runAgent(
        scriptSpec(lab, "ignore-term", [], { config: cfg, signal: ac.signal, onActivity: () => ac.abort() }),
      );
      expect(r.ended).toBe("aborted");
      expect(r.signal).not.toBeNull();
      const again = await runAgent(scriptSpec(lab, "change", [], { config: cfg, signal: ac.signal }));
      expect(again).toMatchObject({ ended: "aborted", exitCode: null });
      expect(existsSync(join(lab.worktree, "hosts/nas/nginx.nix"))).toBe(false);
    });

    it("starts nothing when the agent command does not exist", async () => {
      const spec = scriptSpec(lab, "change", [], { config: { ...cfg, command: "/nonexistent/agent" } });
      if (sandbox === "none") {
        await expect(runAgent(spec)).rejects.toMatchObject({ code: "agent_spawn_failed" });
      } else {
        // bwrap itself starts and reports the missing program.
        const r = await runAgent(spec);
        expect(r.exitCode).not.toBe(0);
        expect(readFileSync(r.logPath, "utf8")).toMatch(/nonexistent/);
      }
    });
  },
);

describe("killing", () => {
  it("sends SIGKILL after the grace to an agent that ignores SIGTERM (no sandbox)", async () => {
    let warned = "";
    const r = await runAgent(
      scriptSpec(lab, "ignore-term", [], {
        config: { sandbox: "none", idleTimeoutSeconds: 1 },
        onWarning: (m) => {
          warned = m;
        },
      }),
    );
    expect(r).toMatchObject({ ended: "idle_timeout", signal: "SIGKILL" });
    expect(readFileSync(r.logPath, "utf8")).toContain("got SIGTERM, ignoring it");
    expect(warned).toMatch(/unsandboxed/);
  });

  it.runIf(HAS_BWRAP)("kills a detached child together with the agent in the sandbox", async () => {
    const marker = uniqueMarker(31337);
    const ac = new AbortController();
    const r = await runAgent(
      scriptSpec(lab, "detached-child", [marker], {
        config: { sandbox: "bubblewrap" },
        signal: ac.signal,
        onActivity: () => ac.abort(),
      }),
    );
    expect(r.ended).toBe("aborted");
    expect(readFileSync(r.logPath, "utf8")).toContain(marker);
    expect(pidsWith(`sleep ${marker}`)).toEqual([]);
  });

  it("shows why: without the sandbox the detached child survives the group kill", async () => {
    const marker = uniqueMarker(31337);
    const ac = new AbortController();
    const r = await runAgent(
      scriptSpec(lab, "detached-child", [marker], {
        config: { sandbox: "none" },
        signal: ac.signal,
        onActivity: () => ac.abort(),
      }),
    );
    expect(r.ended).toBe("aborted");
    const survivors = pidsWith(`sleep ${marker}`);
    leftovers.push(...survivors);
    expect(survivors).toHaveLength(1);
  });
});
