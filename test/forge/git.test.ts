import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitError } from "../../src/forge/errors.js";
import {
  changedFiles,
  commitAll,
  createWorktree,
  diffText,
  ensureMirror,
  listWorktrees,
  mirrorPath,
  pruneWorktrees,
  removeWorktree,
} from "../../src/forge/git.js";
import { checkChange } from "../../src/forge/guard.js";
import { createHomelabRemote, git, type HomelabRemote } from "../support/git-remote.js";

const HOST = "hosts/media-01/default.nix";
const BOT = { authorName: "homelab-healer", authorEmail: "homelab-healer@localhost" };

let dir: string;
let remote: HomelabRemote;
let mirror: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "healer-git-"));
  remote = await createHomelabRemote(dir);
  mirror = (await ensureMirror({ mirror: mirrorPath(join(dir, "state")), url: remote.url })).mirror;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const worktreeAt = (name: string) => join(dir, "state", "worktrees", name);

describe("mirror", () => {
  it("clones once and picks up new upstream commits on the next fetch", async () => {
    const first = (await git(mirror, ["rev-parse", "refs/remotes/origin/main"])).trim();
    expect(first).toBe(await remote.head("main"));
    const upstream = await remote.commit(
      "main",
      { "modules/new.nix": "{ }\n" },
      { message: "upstream change" },
    );
    await ensureMirror({ mirror, url: remote.url });
    expect((await git(mirror, ["rev-parse", "refs/remotes/origin/main"])).trim()).toBe(upstream);
    expect(await git(mirror, ["config", "remote.origin.fetch"])).toContain("refs/remotes/origin/*");
  });

  it("prunes branches deleted upstream but keeps our local branches", async () => {
    await remote.commit("feature", { "a.nix": "{ }\n" });
    await ensureMirror({ mirror, url: remote.url });
    await createWorktree(mirror, {
      branch: "healer/incident-1",
      base: "origin/main",
      path: worktreeAt("r1"),
    });
    await git(remote.path, ["update-ref", "-d", "refs/heads/feature"]);
    await ensureMirror({ mirror, url: remote.url });
    const refs = await git(mirror, ["for-each-ref", "--format=%(refname)"]);
    expect(refs).not.toContain("refs/remotes/origin/feature");
    expect(refs).toContain("refs/heads/healer/incident-1");
  });

  it("lets concurrent runs share the mirror: lost lock races are retried", async () => {
    const fresh = join(dir, "shared.git");
    await Promise.all([1, 2, 3, 4].map(() => ensureMirror({ mirror: fresh, url: remote.url })));
    const upstream = await remote.commit("main", { "modules/new.nix": "{ }\n" });
    await Promise.all([1, 2, 3, 4].map(() => ensureMirror({ mirror: fresh, url: remote.url })));
    expect((await git(fresh, ["rev-parse", "refs/remotes/origin/main"])).trim()).toBe(upstream);
    const paths = [1, 2, 3].map((i) => worktreeAt(`c${i}`));
    await Promise.all(
      paths.map((path, i) =>
        createWorktree(fresh, { branch: `healer/incident-${i}`, base: "origin/main", path }),
      ),
    );
    expect((await listWorktrees(fresh)).map((w) => w.path).sort()).toEqual(paths);
  });

  it("stops at an aborted signal", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(ensureMirror({ mirror, url: remote.url, signal: controller.signal })).rejects.toMatchObject({
      code: "git_aborted",
    });
  });

  it("reports an unreachable remote as retryable", async () => {
    const bad = ensureMirror({ mirror: join(dir, "other.git"), url: `file://${join(dir, "missing.git")}` });
    await expect(bad).rejects.toBeInstanceOf(GitError);
    await expect(bad).rejects.toMatchObject({ code: "git_remote_unavailable", retryable: true });
  });
});

describe("worktrees", () => {
  it("starts from origin/<branch> and is idempotent: a re-run resets edits and untracked files", async () => {
    const path = worktreeAt("r1");
    const wt = await createWorktree(mirror, { branch: "healer/incident-1", base: "origin/main", path });
    expect(wt.baseSha).toBe(await remote.head("main"));
    expect(readFileSync(join(path, HOST), "utf8")).toContain("services.jellyfin.enable = true;");

    writeFileSync(join(path, HOST), "broken\n");
    writeFileSync(join(path, "stray.txt"), "left behind\n");
    await commitAll(path, { ...BOT, message: "attempt 1", incidentId: 1 });
    writeFileSync(join(path, "untracked.nix"), "{ }\n");

    const again = await createWorktree(mirror, { branch: "healer/incident-1", base: "origin/main", path });
    expect(again.baseSha).toBe(wt.baseSha);
    expect((await git(path, ["rev-parse", "HEAD"])).trim()).toBe(wt.baseSha);
    expect(readFileSync(join(path, HOST), "utf8")).toContain("services.jellyfin.enable = true;");
    expect(existsSync(join(path, "stray.txt"))).toBe(false);
    expect(existsSync(join(path, "untracked.nix"))).toBe(false);
    expect((await git(path, ["branch", "--show-current"])).trim()).toBe("healer/incident-1");
    expect(await listWorktrees(mirror)).toHaveLength(1);
  });

  it("moves a branch from an earlier attempt's worktree path to the new one", async () => {
    await createWorktree(mirror, { branch: "healer/incident-2", base: "origin/main", path: worktreeAt("a") });
    await createWorktree(mirror, { branch: "healer/incident-2", base: "origin/main", path: worktreeAt("b") });
    const list = await listWorktrees(mirror);
    expect(list.map((w) => w.path)).toEqual([worktreeAt("b")]);
    expect(list[0]?.branch).toBe("healer/incident-2");
  });

  it("removes and prunes worktrees, also ones whose directory vanished", async () => {
    const a = worktreeAt("a");
    const b = worktreeAt("b");
    await createWorktree(mirror, { branch: "healer/incident-3", base: "origin/main", path: a });
    await createWorktree(mirror, { branch: "healer/incident-4", base: "origin/main", path: b });
    await removeWorktree(mirror, a);
    await removeWorktree(mirror, a);
    expect(existsSync(a)).toBe(false);
    rmSync(b, { recursive: true, force: true });
    expect((await listWorktrees(mirror)).map((w) => w.prunable)).toEqual([true]);
    await pruneWorktrees(mirror);
    expect(await listWorktrees(mirror)).toEqual([]);
  });

  it("never deletes a directory that is not one of the mirror's worktrees", async () => {
    const precious = join(dir, "precious");
    await git(dir, ["init", "--quiet", precious]);
    await removeWorktree(mirror, precious);
    expect(existsSync(join(precious, ".git"))).toBe(true);
  });
});

describe("changes", () => {
  it("counts edits, untracked files, deletions and renames against the base", async () => {
    const path = worktreeAt("c");
    const wt = await createWorktree(mirror, { branch: "healer/incident-5", base: "origin/main", path });
    const host = readFileSync(join(path, HOST), "utf8");
    writeFileSync(join(path, HOST), host.replace("ReadOnlyPaths", "ReadWritePaths").concat("# note\n"));
    writeFileSync(
      join(path, "modules/nfs.nix"),
      '{ ... }:\n{\n  boot.supportedFilesystems = [ "nfs" ];\n}\n',
    );
    unlinkSync(join(path, "modules/monitoring.nix"));
    await git(path, ["mv", "modules/common.nix", "modules/base.nix"]);

    const files = await changedFiles(path, { base: wt.baseSha });
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    expect(byPath[HOST]).toMatchObject({ status: "modified", added: 2, deleted: 1, kind: "file" });
    expect(byPath["modules/nfs.nix"]).toMatchObject({ status: "added", added: 4, deleted: 0 });
    expect(byPath["modules/monitoring.nix"]).toMatchObject({ status: "deleted", added: 0, deleted: 4 });
    expect(byPath["modules/base.nix"]).toMatchObject({
      status: "renamed",
      oldPath: "modules/common.nix",
      added: 0,
      deleted: 0,
    });
    expect(files).toHaveLength(4);
    expect(
      checkChange(files, { protectedPaths: ["secrets/**"], maxChangedFiles: 20, maxDiffLines: 600 }),
    ).toEqual({
      ok: true,
    });

    const diff = await diffText(path, 100_000, { base: wt.baseSha });
    expect(diff.truncated).toBe(false);
    expect(diff.text).toContain("+  boot.supportedFilesystems");
    expect(diff.text).toContain("rename from modules/common.nix");
    const cut = await diffText(path, 200, { base: wt.baseSha });
    expect(cut.truncated).toBe(true);
    expect(Buffer.byteLength(cut.text)).toBeLessThanOrEqual(200);
    expect(cut.bytes).toBe(diff.bytes);
  });

  it("reports symlinks with their target, and the guard refuses one leaving the repo", async () => {
    const path = worktreeAt("s");
    const wt = await createWorktree(mirror, { branch: "healer/incident-6", base: "origin/main", path });
    symlinkSync("/etc/shadow", join(path, "modules/shadow.nix"));
    symlinkSync("common.nix", join(path, "modules/alias.nix"));
    const files = await changedFiles(path, { base: wt.baseSha });
    expect(files.find((f) => f.path === "modules/shadow.nix")).toMatchObject({
      kind: "symlink",
      symlinkTarget: "/etc/shadow",
    });
    const rules = { protectedPaths: [], maxChangedFiles: 20, maxDiffLines: 600 };
    expect(checkChange(files, rules)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("symlink"),
    });
    expect(
      checkChange(
        files.filter((f) => f.path === "modules/alias.nix"),
        rules,
      ),
    ).toEqual({ ok: true });
  });

  it("sees nothing when nothing changed", async () => {
    const path = worktreeAt("n");
    const wt = await createWorktree(mirror, { branch: "healer/incident-7", base: "origin/main", path });
    expect(await changedFiles(path, { base: wt.baseSha })).toEqual([]);
  });
});

describe("commit", () => {
  it("commits everything with the author and the Healer-Incident trailer, once", async () => {
    const path = worktreeAt("m");
    const wt = await createWorktree(mirror, { branch: "healer/incident-42", base: "origin/main", path });
    writeFileSync(join(path, "modules/nfs.nix"), "{ }\n");
    const message = "# media-01: mount NFS before jellyfin\n\nRoot cause: ordering.";
    const first = await commitAll(path, { ...BOT, message, incidentId: 42 });
    expect(first.committed).toBe(true);
    expect(first.sha).not.toBe(wt.baseSha);

    const [author, committer, body] = (
      await git(path, ["log", "-1", "--format=%an <%ae>%n%cn <%ce>%n%B"])
    ).split("\n");
    expect(author).toBe("homelab-healer <homelab-healer@localhost>");
    expect(committer).toBe("homelab-healer <homelab-healer@localhost>");
    expect(body).toBe("# media-01: mount NFS before jellyfin");
    const trailers = await git(path, ["log", "-1", "--format=%(trailers:key=Healer-Incident,valueonly)"]);
    expect(trailers.trim()).toBe("42");

    const second = await commitAll(path, { ...BOT, message, incidentId: 42 });
    expect(second).toEqual({ sha: first.sha, committed: false });
    expect((await git(path, ["rev-list", "--count", `${wt.baseSha}..HEAD`])).trim()).toBe("1");
  });
});
