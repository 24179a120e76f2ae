import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { programDirsUnderTmp, sandboxArgv } from "../../src/agent/sandbox.js";

describe("a program under /tmp stays visible in the sandbox's private /tmp", () => {
  const dir = mkdtempSync(join(tmpdir(), "healer-prog-"));
  const script = join(dir, "bin", "agent.mjs");
  const state = join(dir, "state");
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(state, "runs", "1", "home"), { recursive: true });
  mkdirSync(join(state, "worktrees", "incident-1"), { recursive: true });
  writeFileSync(script, "");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("binds the folders of named programs read-only, never the state dir or /tmp itself", () => {
    const dirs = programDirsUnderTmp(
      ["/usr/bin/node", script, "--dir", join(state, "worktrees", "incident-1"), "/tmp", "fix it"],
      state,
    );
    expect(dirs).toEqual([join(dir, "bin")]);
  });

  it("puts those binds after the private /tmp and before the state dir is hidden", () => {
    const argv = sandboxArgv({
      command: "/usr/bin/node",
      args: [script],
      worktree: join(state, "worktrees", "incident-1"),
      home: join(state, "runs", "1", "home"),
      stateDir: state,
      hidePaths: [],
    });
    const at = (...seq: string[]) => argv.findIndex((_, i) => seq.every((s, j) => argv[i + j] === s));
    expect(at("--tmpfs", "/tmp")).toBeLessThan(at("--ro-bind", join(dir, "bin"), join(dir, "bin")));
    expect(at("--ro-bind", join(dir, "bin"), join(dir, "bin"))).toBeLessThan(at("--tmpfs", state));
  });
});
