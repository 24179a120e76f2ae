import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sandboxArgv } from "../../src/agent/sandbox.js";
import { runAgent } from "../../src/agent/spawn.js";
import { HAS_BWRAP, type Lab, makeLab, scriptSpec } from "./helpers.js";

let lab: Lab;
beforeEach(() => {
  lab = makeLab();
});
afterEach(() => lab.cleanup());

describe("sandboxArgv", () => {
  it("hides the state dir, then exposes the mirror read-only and the worktree and home writable", () => {
    const argv = sandboxArgv({
      command: "opencode",
      args: ["run", "x"],
      worktree: lab.worktree,
      home: join(lab.runDir, "home"),
      stateDir: lab.stateDir,
      mirrorDir: lab.mirror,
      hidePaths: [join(lab.stateDir, "token")],
    });
    const at = (flag: string, path: string) => argv.findIndex((a, i) => a === flag && argv[i + 1] === path);
    expect(argv.slice(0, 3)).toEqual(["--unshare-pid", "--die-with-parent", "--new-session"]);
    expect(at("--ro-bind", "/")).toBeGreaterThan(-1);
    expect(at("--tmpfs", lab.stateDir)).toBeGreaterThan(at("--ro-bind", "/"));
    expect(at("--ro-bind", lab.mirror)).toBeGreaterThan(at("--tmpfs", lab.stateDir));
    expect(at("--bind", lab.worktree)).toBeGreaterThan(at("--tmpfs", lab.stateDir));
    expect(at("--ro-bind", join(lab.worktree, ".git"))).toBeGreaterThan(at("--bind", lab.worktree));
    expect(argv.slice(-4)).toEqual(["--", "opencode", "run", "x"]);
    // A secret already inside the hidden state dir needs no mount of its own.
    expect(argv).not.toContain(join(lab.stateDir, "token"));
  });

  it("refuses to hide a directory the agent needs", () => {
    expect(() =>
      sandboxArgv({
        command: "x",
        args: [],
        worktree: lab.worktree,
        home: join(lab.runDir, "home"),
        stateDir: lab.stateDir,
        hidePaths: [lab.root],
      }),
    ).toThrow(expect.objectContaining({ code: "sandbox_overlap" }));
  });
});

describe.runIf(HAS_BWRAP)("what the sandboxed agent can see", () => {
  it("cannot read secrets, credentials, the database socket or other runs; can use its worktree and home", async () => {
    const secretsDir = join(lab.root, "etc-healer");
    const creds = join(lab.root, "credentials");
    const dbSock = join(lab.root, "postgresql");
    for (const d of [secretsDir, creds, dbSock]) mkdirSync(d, { recursive: true });
    const forgeToken = join(secretsDir, "forge-token");
    writeFileSync(forgeToken, "ghp_forgetoken\n");
    writeFileSync(join(secretsDir, "visible.txt"), "not a secret\n");
    writeFileSync(join(creds, "webhook-secret"), "whsec\n");
    writeFileSync(join(dbSock, ".s.PGSQL.5432.lock"), "1234\n");
    const stateToken = join(lab.stateDir, "token");
    writeFileSync(stateToken, "generated-token\n");
    const otherRun = join(lab.stateDir, "runs", "99");
    mkdirSync(otherRun, { recursive: true });
    writeFileSync(join(otherRun, "agent.log"), "another run's log\n");
    const otherWorktree = join(lab.stateDir, "worktrees", "incident-99");
    mkdirSync(otherWorktree, { recursive: true });
    writeFileSync(join(otherWorktree, "x.nix"), "{ }\n");
    const home = join(lab.runDir, "home");
    const journal = ["/var/log/journal", "/run/log/journal"].find((d) => existsSync(d));
    const probes = [
      forgeToken,
      join(secretsDir, "visible.txt"),
      creds,
      join(creds, "webhook-secret"),
      dbSock,
      stateToken,
      otherRun,
      join(otherRun, "agent.log"),
      otherWorktree,
      join(lab.runDir, "agent.log"),
      join(lab.mirror, "HEAD"),
      lab.mirror,
      lab.stateDir,
      lab.worktree,
      home,
      join(lab.runDir, "prompt.md"),
      ...(journal ? [journal] : []),
    ];
    const r = await runAgent(
      scriptSpec(lab, "leak-check", ["leak.json", ...probes], {
        config: {
          sandbox: "bubblewrap",
          secretPaths: [forgeToken, creds, stateToken],
          credentialsDir: creds,
          dbSocketDir: dbSock,
        },
        agentEnv: { LLM_API_KEY: "sk-llm" },
      }),
    );
    expect(r).toMatchObject({ exitCode: 0, ended: "exited" });
    const out = JSON.parse(readFileSync(join(lab.worktree, "leak.json"), "utf8")) as {
      env: Record<string, string>;
      results: Record<string, string>;
      writable: Record<string, boolean>;
    };
    const res = out.results;
    // /dev/null is bound over a secret file on a nodev mount: opening it fails, which hides it as well.
    expect(["empty", "EACCES"]).toContain(res[forgeToken]);
    expect(res[join(secretsDir, "visible.txt")]).toBe("readable");
    expect(res[creds]).toBe("empty");
    expect(res[join(creds, "webhook-secret")]).toBe("ENOENT");
    expect(res[dbSock]).toBe("empty");
    expect(res[stateToken]).toBe("ENOENT");
    expect(res[otherRun]).toBe("ENOENT");
    expect(res[otherWorktree]).toBe("ENOENT");
    expect(res[join(lab.runDir, "agent.log")]).toBe("ENOENT");
    expect(res[join(lab.mirror, "HEAD")]).toBe("readable");
    expect(res[lab.worktree]).toBe("readable");
    expect(res[join(lab.runDir, "prompt.md")]).toBe("readable");
    if (journal) expect(res[journal]).not.toMatch(/^E/);
    expect(out.writable[lab.worktree]).toBe(true);
    expect(out.writable[home]).toBe(true);
    expect(out.writable[lab.mirror]).toBe(false);
    expect(out.writable[creds]).toBe(false);
    expect(out.writable[lab.stateDir]).toBe(false);
    expect(out.writable[dbSock]).toBe(false);
    // The env holds the agent's own key and no secret of the service.
    expect(out.env.LLM_API_KEY).toBe("sk-llm");
    expect(JSON.stringify(out.env)).not.toMatch(/ghp_|whsec|generated-token|postgres/);
    // On the host, the hidden files are untouched.
    expect(readFileSync(forgeToken, "utf8")).toBe("ghp_forgetoken\n");
  });
});
