import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { DEFAULT_PROTECTED_PATHS } from "../../src/config/schema.js";
import {
  changedFiles,
  commitAll,
  createWorktree,
  diffText,
  ensureMirror,
  mirrorPath,
  pushBranch,
  removeWorktree,
} from "../../src/forge/git.js";
import { createGithubForge } from "../../src/forge/github.js";
import { checkChange } from "../../src/forge/guard.js";
import { createFakeGithub, type FakeGithub } from "../support/fake-github.js";
import { createHomelabRemote, type HomelabRemote } from "../support/git-remote.js";

const HOST = "hosts/media-01/default.nix";
const BRANCH = "healer/incident-12";
const BOT = { authorName: "homelab-healer", authorEmail: "homelab-healer@localhost" };
const RULES = { protectedPaths: DEFAULT_PROTECTED_PATHS, maxChangedFiles: 20, maxDiffLines: 600 };

let dir: string;
let remote: HomelabRemote;
let fake: FakeGithub;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "healer-pipeline-"));
  remote = await createHomelabRemote(dir);
  fake = await createFakeGithub({ bareRepo: remote.path });
});

afterEach(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The forge half of one run, as the worker will drive it. */
async function run(mirror: string, edit: (worktree: string) => void) {
  await ensureMirror({ mirror, url: remote.url });
  const wt = await createWorktree(mirror, {
    branch: BRANCH,
    base: "origin/main",
    path: join(dir, "wt", BRANCH),
  });
  edit(wt.path);
  const files = await changedFiles(wt.path, { base: wt.baseSha });
  const verdict = checkChange(files, RULES);
  if (!verdict.ok) return { verdict, wt };
  const diff = await diffText(wt.path, 10_000, { base: wt.baseSha });
  await commitAll(wt.path, { ...BOT, message: "media-01: jellyfin may read /mnt/media", incidentId: 12 });
  await pushBranch(mirror, BRANCH, {
    forceWithLease: true,
    onlyIfOwnedBy: { email: BOT.authorEmail, base: "main" },
  });
  const forge = createGithubForge({
    apiUrl: fake.url,
    token: fake.token,
    owner: fake.owner,
    repo: fake.repo,
    labels: ["homelab-healer"],
    retry: { baseDelayMs: 1, paceWrites: false },
  });
  const pr = await forge.createPr({
    head: BRANCH,
    base: "main",
    title: "fix",
    body: diff.text,
    draft: false,
  });
  await removeWorktree(mirror, wt.path);
  return { verdict, wt, pr, forge };
}

const fixJellyfin = (worktree: string) => {
  const file = join(worktree, HOST);
  writeFileSync(file, readFileSync(file, "utf8").replace("ReadOnlyPaths", "ReadWritePaths"));
};

it("edits, guards, commits, pushes and opens one PR whose head is the pushed commit; cleans up after merge", async () => {
  const mirror = mirrorPath(join(dir, "state"));
  const first = await run(mirror, fixJellyfin);
  expect(first.verdict).toEqual({ ok: true });
  expect(first.pr).toMatchObject({ number: 1, created: true, headSha: await remote.head(BRANCH) });
  expect(first.pr?.url).toBeDefined();
  expect(fake.prs[0]?.body).toContain("+    ReadWritePaths");

  // A retried run: same branch, force-with-lease, the open PR reused.
  const second = await run(mirror, (w) => {
    fixJellyfin(w);
    writeFileSync(join(w, "modules/nfs.nix"), '{ ... }:\n{\n  boot.supportedFilesystems = [ "nfs" ];\n}\n');
  });
  expect(second.pr).toMatchObject({ number: 1, created: false });
  expect(fake.prs).toHaveLength(1);
  expect(await remote.listFiles(BRANCH)).toContain("modules/nfs.nix");
  expect((await second.forge!.getPr(1)).headSha).toBe(await remote.head(BRANCH));

  fake.merge(1);
  expect((await second.forge!.getPr(1)).state).toBe("merged");
  expect(await second.forge!.deleteBranch(BRANCH)).toBe("deleted");
  expect(await remote.branches()).toEqual(["main"]);
  expect(await second.forge!.deleteBranch(BRANCH)).toBe("absent");
});

it("a change to a protected path is refused before anything is committed or pushed", async () => {
  const mirror = mirrorPath(join(dir, "state"));
  const result = await run(mirror, (w) => {
    fixJellyfin(w);
    writeFileSync(join(w, "secrets/media.age"), "age-encryption.org/v1\nrewritten\n");
  });
  expect(result.verdict).toEqual({ ok: false, reason: "secrets/media.age is a protected path" });
  expect(await remote.branches()).toEqual(["main"]);
  expect(fake.requests).toEqual([]);
});

it("a PR for a branch that was never pushed is rejected by the forge, not retried", async () => {
  const forge = createGithubForge({
    apiUrl: fake.url,
    token: fake.token,
    owner: fake.owner,
    repo: fake.repo,
    labels: [],
    retry: { baseDelayMs: 1, paceWrites: false },
  });
  await expect(
    forge.createPr({ head: "healer/incident-404", base: "main", title: "t", body: "b", draft: false }),
  ).rejects.toMatchObject({ code: "forge_rejected", retryable: false, status: 422 });
});
