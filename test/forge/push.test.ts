import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  commitAll,
  createWorktree,
  deleteRemoteBranch,
  ensureMirror,
  mirrorPath,
  pushBranch,
  remoteBranchAuthors,
  removeWorktree,
} from "../../src/forge/git.js";
import { gitEnv, sshCommand } from "../../src/forge/git-run.js";
import { createHomelabRemote, type HomelabRemote } from "../support/git-remote.js";

const BRANCH = "healer/incident-9";
const BOT = { authorName: "homelab-healer", authorEmail: "homelab-healer@localhost" };
const HUMAN = { name: "Alice", email: "alice@homelab.example" };
const OWNED = { email: BOT.authorEmail, base: "main" };

let dir: string;
let remote: HomelabRemote;
let mirror: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "healer-push-"));
  remote = await createHomelabRemote(dir);
  mirror = (await ensureMirror({ mirror: mirrorPath(join(dir, "state")), url: remote.url })).mirror;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** One run attempt: fresh fetch, worktree reset to main, an edit, a commit. */
async function attempt(content: string) {
  await ensureMirror({ mirror, url: remote.url });
  const path = join(dir, "state", "worktrees", "run");
  await createWorktree(mirror, { branch: BRANCH, base: "origin/main", path });
  writeFileSync(join(path, "modules/nfs.nix"), content);
  return commitAll(path, { ...BOT, message: "media-01: fix nfs", incidentId: 9 });
}

describe("push", () => {
  it("creates the branch in the bare repo; a re-run pushes again with force-with-lease", async () => {
    const first = await attempt("{ }\n");
    expect(await pushBranch(mirror, BRANCH, { forceWithLease: true, onlyIfOwnedBy: OWNED })).toEqual({
      sha: first.sha,
    });
    expect(await remote.head(BRANCH)).toBe(first.sha);
    const [top] = await remote.log(BRANCH);
    expect(top).toMatchObject({ authorEmail: BOT.authorEmail, body: "Healer-Incident: 9" });

    // The re-run starts from main again, so its commit is not a fast-forward of the first.
    const second = await attempt('{ boot.supportedFilesystems = [ "nfs" ]; }\n');
    expect(second.sha).not.toBe(first.sha);
    await pushBranch(mirror, BRANCH, { forceWithLease: true, onlyIfOwnedBy: OWNED });
    expect(await remote.head(BRANCH)).toBe(second.sha);
    expect(await remote.readFile(BRANCH, "modules/nfs.nix")).toContain("supportedFilesystems");
  });

  it("without force a diverged re-run is rejected, not retried", async () => {
    await attempt("{ }\n");
    await pushBranch(mirror, BRANCH);
    await attempt("{ # other }\n");
    await expect(pushBranch(mirror, BRANCH)).rejects.toMatchObject({
      code: "git_push_rejected",
      retryable: false,
    });
  });

  it("the lease refuses to overwrite a push made since our last fetch", async () => {
    await attempt("{ }\n");
    await pushBranch(mirror, BRANCH, { forceWithLease: true });
    await attempt("{ # second }\n");
    await remote.commit(BRANCH, { "README.md": "human\n" }, { author: HUMAN });
    await expect(pushBranch(mirror, BRANCH, { forceWithLease: true })).rejects.toMatchObject({
      code: "git_push_rejected",
    });
  });
});

describe("branch ownership", () => {
  it("remoteBranchAuthors lists only us, then detects a human commit, and push refuses it", async () => {
    expect(await remoteBranchAuthors(mirror, BRANCH, "main")).toEqual([]);
    await attempt("{ }\n");
    await pushBranch(mirror, BRANCH, { forceWithLease: true });
    expect(await remoteBranchAuthors(mirror, BRANCH, "main")).toEqual([BOT.authorEmail]);

    await remote.commit(BRANCH, { "hosts/media-01/notes.md": "tweaked by hand\n" }, { author: HUMAN });
    const authors = await remoteBranchAuthors(mirror, BRANCH, "origin/main");
    expect(authors.sort()).toEqual([HUMAN.email, BOT.authorEmail]);

    await attempt("{ # rerun }\n");
    await expect(
      pushBranch(mirror, BRANCH, { forceWithLease: true, onlyIfOwnedBy: OWNED }),
    ).rejects.toMatchObject({
      code: "git_branch_foreign",
    });
    expect(await deleteRemoteBranch(mirror, BRANCH, { onlyIfOwnedBy: OWNED })).toBe("foreign");
    expect(await remote.head(BRANCH)).toBeDefined();
  });

  it("deletes our own branch, idempotently", async () => {
    await attempt("{ }\n");
    await pushBranch(mirror, BRANCH, { forceWithLease: true });
    await removeWorktree(mirror, join(dir, "state", "worktrees", "run"));
    expect(await deleteRemoteBranch(mirror, BRANCH, { onlyIfOwnedBy: OWNED })).toBe("deleted");
    expect(await remote.branches()).toEqual(["main"]);
    expect(await deleteRemoteBranch(mirror, BRANCH, { onlyIfOwnedBy: OWNED })).toBe("absent");
  });
});

describe("environment", () => {
  it("is built from scratch: no global/system config, no prompt, the deploy key only when set", () => {
    const env = gitEnv({});
    expect(env).toMatchObject({
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
    });
    expect(env.HOME).toBeUndefined();
    expect(env.GIT_SSH_COMMAND).toBeUndefined();
    expect(gitEnv({ sshKeyFile: "/k" }).GIT_SSH_COMMAND).toContain("-i '/k' -o IdentitiesOnly=yes");
  });

  it("ignores git configuration in the service's own environment", async () => {
    // Were it inherited, this would rewrite every file:// URL to a repository that does not exist.
    const saved = { ...process.env };
    process.env.GIT_CONFIG_COUNT = "1";
    process.env.GIT_CONFIG_KEY_0 = "url.file:///nonexistent/.insteadOf";
    process.env.GIT_CONFIG_VALUE_0 = "file://";
    process.env.GIT_DIR = "/nonexistent";
    try {
      await attempt("{ }\n");
      await pushBranch(mirror, BRANCH);
      expect(await remote.head(BRANCH)).toBeDefined();
    } finally {
      for (const k of ["GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_DIR"])
        delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe("ssh", () => {
  it("pins the deploy key and the known hosts, quoting paths", () => {
    expect(sshCommand("/run/credentials/healer/deploy key", "/etc/ssh/known")).toBe(
      "ssh -i '/run/credentials/healer/deploy key' -o IdentitiesOnly=yes -o UserKnownHostsFile='/etc/ssh/known' " +
        "-o StrictHostKeyChecking=yes -o BatchMode=yes",
    );
  });
});
