import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ForgeError } from "../../src/forge/errors.js";
import type { Forge } from "../../src/forge/forge.js";
import { createGithubForge } from "../../src/forge/github.js";

// The VM tests' fake GitHub (nixos-tests/fake-github.py) is a test double the VM tests rely on but
// which cannot boot here; this checks it against our real Octokit forge client.

const script = fileURLToPath(new URL("../../nixos-tests/fake-github.py", import.meta.url));
const python = spawnSync("python3", ["--version"]).status === 0;
if (!python) console.log("[test/nix] fake GitHub checks skipped: python3 is not installed");

const branch = "healer/incident-1";
const token = "gh-token-test";

/** Runs git with a fixed identity; returns its trimmed stdout. */
function git(args: string[], cwd?: string): string {
  return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], {
    cwd,
    encoding: "utf8",
  }).trim();
}

/** Starts the fake on a free port; resolves with its base URL once it prints it. */
function startFake(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [script, "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`fake-github exited ${code}`)));
    child.stdout?.setEncoding("utf8").on("data", (line: string) => {
      const m = /on (127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolve({ child, url: `http://${m[1]}` });
    });
  });
}

describe.skipIf(!python)("nixos-tests/fake-github.py against the Octokit forge", () => {
  let dir: string;
  let fake: ChildProcess | undefined;
  let url: string;
  let forge: Forge;
  let headSha: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "fake-github-"));
    const bare = join(dir, "homelab.git");
    const work = join(dir, "work");
    git(["init", "-q", "--bare", "-b", "main", bare]);
    git(["init", "-q", "-b", "main", work]);
    writeFileSync(join(work, "flake.nix"), "{ }\n");
    git(["add", "-A"], work);
    git(["commit", "-q", "-m", "fix"], work);
    git(["push", "-q", bare, `HEAD:refs/heads/${branch}`], work);
    headSha = git(["rev-parse", "HEAD"], work);
    writeFileSync(join(dir, "token"), `${token}\n`);
    const started = await startFake([
      ...["--owner", "homelab", "--repo", "infra"],
      ...["--token-file", join(dir, "token"), "--git-dir", bare],
    ]);
    fake = started.child;
    url = started.url;
    forge = createGithubForge({
      apiUrl: url,
      token,
      owner: "homelab",
      repo: "infra",
      labels: ["homelab-healer"],
    });
  });

  afterAll(() => {
    fake?.removeAllListeners("exit");
    fake?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = async () => (await (await fetch(`${url}/_state`)).json()) as Record<string, unknown[]>;

  it("opens a labelled PR once, and finds and reuses it after", async () => {
    const input = { head: branch, base: "main", title: "jellyfin: fix", body: "## Fix", draft: false };
    const first = await forge.createPr(input);
    const again = await forge.createPr(input);
    expect(first).toMatchObject({ number: 1, state: "open", head: branch, headSha, created: true });
    expect(again).toMatchObject({ number: 1, created: false });
    expect(await forge.findOpenPr(branch)).toMatchObject({ number: 1 });
    const pulls = (await state()).pulls as { labels: unknown[]; base: { ref: string } }[];
    expect(pulls).toHaveLength(1);
    expect(pulls[0]?.labels).toEqual([{ name: "homelab-healer" }]);
    expect(pulls[0]?.base.ref).toBe("main");
  });

  it("answers what `homelab-healer doctor` asks, as GitHub does for a token with pull_requests: write", async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}/repos/homelab/infra${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const repo = await call("GET", "");
    expect(repo.status).toBe(200);
    expect(repo.body.permissions).toMatchObject({ push: true, pull: true });
    // An empty pull request: refused for its fields (422), not for the token's rights (403).
    expect((await call("POST", "/pulls", {})).status).toBe(422);
    // The label the first PR got exists now; another does not.
    expect(await call("GET", "/labels/homelab-healer")).toMatchObject({
      status: 200,
      body: { name: "homelab-healer" },
    });
    expect((await call("GET", "/labels/elsewhere")).status).toBe(404);
  });

  it("reads, comments on and closes the PR, and deletes its branch", async () => {
    expect(await forge.getPr(1)).toMatchObject({ state: "open", headSha });
    expect(await forge.comment(1, "still happening")).toMatchObject({ id: 1 });
    expect(await forge.closePr(1)).toMatchObject({ state: "closed" });
    expect(await forge.deleteBranch(branch)).toBe("deleted");
    const s = await state();
    expect(s.comments).toEqual([expect.objectContaining({ issue: 1, body: "still happening" })]);
    expect(s.deletedRefs).toEqual([branch]);
  });

  it("refuses a wrong token with 401, which the forge reports as an auth error", async () => {
    const wrong = createGithubForge({
      apiUrl: url,
      token: "wrong",
      owner: "homelab",
      repo: "infra",
      labels: [],
    });
    const error = await wrong.getPr(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeError);
    expect((error as ForgeError).code).toBe("forge_auth");
  });
});
