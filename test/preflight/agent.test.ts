import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ARG_PROFILES,
  agentArgs,
  parseVersion,
  profileFor,
  TESTED_OPENCODE_VERSION,
} from "../../src/agent/args.js";
import { agentChecks, judgeVersion } from "../../src/preflight/agent.js";
import { scratch } from "./support.js";

const root = new URL("../../", import.meta.url);
const HAS_BWRAP = spawnSync("bwrap", ["--version"]).status === 0;
const OPENCODE = new URL("node_modules/opencode-linux-x64/bin/opencode", root).pathname;

describe("the tested OpenCode version", () => {
  it("is the opencode-linux-x64 entry of package.json and package-lock.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
    const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8"));
    expect(pkg.optionalDependencies["opencode-linux-x64"]).toBe(TESTED_OPENCODE_VERSION);
    expect(lock.packages["node_modules/opencode-linux-x64"].version).toBe(TESTED_OPENCODE_VERSION);
  });
});

describe("argument profiles", () => {
  const vars = {
    worktree: "/w",
    prompt: "fix it",
    promptFile: "/p",
    title: "incident 7",
    runId: "1",
    incidentId: "7",
  };

  it("drive OpenCode 1.x as SPEC §7 says, with and without a model", () => {
    expect(profileFor("1.18.33")!.args({ ...vars, model: "p/m" }, [])).toEqual([
      "run",
      "--dir",
      "/w",
      "--format",
      "json",
      "--title",
      "incident 7",
      "--model",
      "p/m",
      "fix it",
    ]);
    expect(profileFor("1.0.119")!.args(vars, ["--agent", "x"])).toEqual([
      "run",
      "--dir",
      "/w",
      "--format",
      "json",
      "--title",
      "incident 7",
      "--agent",
      "x",
      "fix it",
    ]);
    // The default command line is the tested version's profile.
    expect(agentArgs(undefined, vars)).toEqual(profileFor(TESTED_OPENCODE_VERSION)!.args(vars, []));
  });

  it("cover major versions only where one is defined", () => {
    expect(ARG_PROFILES.map((p) => p.major)).toEqual([1]);
    expect(profileFor("2.0.0")).toBeUndefined();
    expect(profileFor("0.15.2")).toBeUndefined();
    expect(profileFor("not a version")).toBeUndefined();
  });

  it("read versions as OpenCode and others print them", () => {
    expect(parseVersion("1.18.33\n")).toEqual({ version: "1.18.33", major: 1 });
    expect(parseVersion("opencode v2.1.0")).toEqual({ version: "2.1.0", major: 2 });
    expect(parseVersion("dev")).toBeUndefined();
  });
});

describe("judging the agent's version", () => {
  it.each([
    ["1.18.33", "ok", "the version tested"],
    ["1.1.40", "warn", "older than 1.18.33"],
    ["1.19.2", "warn", "newer than 1.18.33"],
    ["2.0.0", "fail", "no argument profile for major version 2"],
    ["0.9.1", "fail", "no argument profile for major version 0"],
    ["garbage", "fail", "not a version"],
  ])("%s: %s", (text, status, says) => {
    const r = judgeVersion("/bin/opencode", text);
    expect(r.status).toBe(status);
    expect(r.found).toContain(says);
  });
});

describe("the agent check", () => {
  const s = scratch();
  afterAll(() => s.cleanup());

  it("fails naming agent.command when it is not on the PATH", async () => {
    const [r] = await agentChecks(s.ctx({ agent: { command: "opencode" } }, { path: s.bin({}) }));
    expect(r).toMatchObject({ name: "agent", status: "fail" });
    expect(r!.found).toContain("agent.command opencode not found on PATH");
  });

  it("refuses an agent whose --version has no argument profile (a real program)", async () => {
    const bin = s.bin({ opencode: '#!/bin/sh\n[ "$1" = "--version" ] && echo "2.3.0"\n' });
    const [r] = await agentChecks(
      s.ctx({ agent: { command: "opencode" } }, { path: `${bin}:/usr/bin:/bin` }),
    );
    expect(r).toMatchObject({ name: "agent", status: "fail" });
    expect(r!.found).toContain("OpenCode 2.3.0");
    expect(r!.found).toContain("runs are refused");
  });

  it("does not start an agent with agent.args of its own, and says so", async () => {
    const marker = join(s.dir, "started-by-doctor");
    const [r] = await agentChecks(s.ctx({ agent: { command: "/bin/sh", args: ["-c", `touch ${marker}`] } }));
    expect(r).toMatchObject({ name: "agent", status: "ok" });
    expect(r!.found).toContain("not OpenCode, so its version is not asked");
    expect(existsSync(marker)).toBe(false);
  });

  it.runIf(HAS_BWRAP)(
    "asks --version inside the run's sandbox and a fresh per-run directory: it cannot write elsewhere",
    async () => {
      const name = `escaped-${process.pid}-${Date.now()}`;
      const absolute = join(s.dir, `${name}-absolute`);
      // A script agent that writes a relative path (the caller's cwd, were it run there) and an
      // absolute one outside its directory, then answers like OpenCode.
      const bin = s.bin({
        opencode: `#!/bin/sh\ntouch ${name}-relative 2>/dev/null\ntouch ${absolute} 2>/dev/null\necho "$PWD" > ${name}-pwd\necho 1.18.33\n`,
      });
      const [r] = await agentChecks(
        s.ctx({ agent: { command: "opencode" } }, { path: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` }),
      );
      expect(r, JSON.stringify(r)).toMatchObject({ name: "agent", status: "ok" });
      expect(r!.found).toContain("OpenCode 1.18.33");
      expect(existsSync(join(process.cwd(), `${name}-relative`))).toBe(false);
      expect(existsSync(join(process.cwd(), `${name}-pwd`))).toBe(false);
      expect(existsSync(absolute)).toBe(false);
      // Nothing of the trial is left in the state dir either (its per-run directory is removed).
      const state = join(s.dir, "state");
      const left = existsSync(state) ? readdirSync(state).filter((f) => f.startsWith("preflight-")) : [];
      expect(left).toEqual([]);
    },
  );

  it.runIf(existsSync(OPENCODE))("passes for the real OpenCode the project tests with", async () => {
    const [r] = await agentChecks(s.ctx({ agent: { command: OPENCODE } }));
    expect(r).toMatchObject({ name: "agent", status: "ok" });
    // OPENCODE here is the npm package's binary, and the line says it is the bundled one.
    expect(r!.found).toBe(
      `OpenCode ${TESTED_OPENCODE_VERSION} at ${OPENCODE} (the version tested), bundled: npm package opencode-linux-x64`,
    );
  });
});
