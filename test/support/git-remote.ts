import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A clean environment for test-side git: no user or system config, fixed dates are not needed. */
const ENV = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  LC_ALL: "C",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
};

/** Runs git in `cwd` and returns stdout. */
export async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run("git", args, { cwd, env: { ...ENV, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export const OWNER = { name: "Homelab Owner", email: "owner@homelab.example" };

/** The small homelab flake the agent is asked to repair: jellyfin reading an NFS mount. */
export const HOMELAB_FILES: Record<string, string> = {
  "flake.nix": `{
  description = "homelab";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  outputs = { self, nixpkgs }: {
    nixosConfigurations.media-01 = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [ ./hosts/media-01 ./modules/common.nix ];
    };
  };
}
`,
  "hosts/media-01/default.nix": `{ config, pkgs, ... }:
{
  networking.hostName = "media-01";

  fileSystems."/mnt/media" = {
    device = "nas-01:/export/media";
    fsType = "nfs";
    options = [ "nfsvers=4.2" "x-systemd.automount" "noauto" ];
  };

  services.jellyfin.enable = true;
  services.jellyfin.openFirewall = true;

  systemd.services.jellyfin.serviceConfig = {
    ReadOnlyPaths = [ "/mnt/media" ];
    ProtectSystem = "strict";
  };

  age.secrets.media.file = ../../secrets/media.age;
}
`,
  "modules/common.nix": `{ ... }:
{
  time.timeZone = "Europe/Berlin";
  services.openssh.enable = true;
  nix.settings.experimental-features = [ "nix-command" "flakes" ];
}
`,
  "modules/monitoring.nix": `{ ... }:
{
  services.prometheus.exporters.node.enable = true;
}
`,
  "secrets/media.age": "age-encryption.org/v1\n-> X25519 bm90IGEgcmVhbCBrZXk\nbm90IGEgcmVhbCBzZWNyZXQ\n",
  ".github/workflows/ci.yml": `name: ci
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: cachix/install-nix-action@v27
      - run: nix flake check --no-build
`,
  ".gitignore": "result\nresult-*\n",
};

/** A commit seen in the bare repository. */
export interface LoggedCommit {
  sha: string;
  authorName: string;
  authorEmail: string;
  subject: string;
  body: string;
}

/** The bare homelab repository tests push to and inspect. */
export interface HomelabRemote {
  /** Path of the bare repository. */
  path: string;
  /** `file://` URL of it, what `repo.url` is set to. */
  url: string;
  branch: "main";
  /** Content of `file` on `branch`, or undefined when absent. */
  readFile(branch: string, file: string): Promise<string | undefined>;
  /** Every file path on `branch`. */
  listFiles(branch: string): Promise<string[]>;
  /** Commits on `branch`, newest first. */
  log(branch: string): Promise<LoggedCommit[]>;
  /** The sha `branch` points to, or undefined. */
  head(branch: string): Promise<string | undefined>;
  /** Every branch name. */
  branches(): Promise<string[]>;
  /**
   * Commits `files` (a null content deletes) onto `branch` as `author` and pushes it: upstream work,
   * or a human touching a healer branch. Creates the branch from main when it does not exist.
   */
  commit(
    branch: string,
    files: Record<string, string | null>,
    options?: { author?: { name: string; email: string }; message?: string },
  ): Promise<string>;
}

/** Creates a bare repo under `dir` holding the homelab flake on `main`, authored by the owner. */
export async function createHomelabRemote(dir: string): Promise<HomelabRemote> {
  const path = join(dir, "homelab.git");
  mkdirSync(path, { recursive: true });
  await git(path, ["init", "--quiet", "--bare", "--initial-branch=main"]);
  const url = pathToFileURL(path).href;

  const head = async (branch: string) => {
    try {
      return (
        (await git(path, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`])).trim() || undefined
      );
    } catch {
      return undefined;
    }
  };

  const commit: HomelabRemote["commit"] = async (branch, files, options = {}) => {
    const author = options.author ?? OWNER;
    const work = mkdtempSync(join(dir, "work-"));
    try {
      const exists = (await head(branch)) !== undefined;
      const hasMain = (await head("main")) !== undefined;
      if (hasMain) {
        await git(work, ["clone", "--quiet", "--branch", exists ? branch : "main", url, "."]);
        if (!exists) await git(work, ["checkout", "--quiet", "-b", branch]);
      } else {
        await git(work, ["init", "--quiet", `--initial-branch=${branch}`]);
        await git(work, ["remote", "add", "origin", url]);
      }
      for (const [file, content] of Object.entries(files)) {
        const target = join(work, file);
        if (content === null) rmSync(target, { force: true });
        else {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, content);
        }
      }
      await git(work, ["add", "--all"]);
      const identity = {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      };
      await git(
        work,
        ["commit", "--quiet", "-m", options.message ?? `edit ${Object.keys(files).join(", ")}`],
        identity,
      );
      await git(work, ["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`]);
      return (await git(work, ["rev-parse", "HEAD"])).trim();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };

  await commit("main", HOMELAB_FILES, { message: "homelab: media-01 with jellyfin" });

  return {
    path,
    url,
    branch: "main",
    head,
    commit,
    readFile: async (branch, file) => {
      try {
        return await git(path, ["show", `refs/heads/${branch}:${file}`]);
      } catch {
        return undefined;
      }
    },
    listFiles: async (branch) =>
      (await git(path, ["ls-tree", "-r", "--name-only", "-z", `refs/heads/${branch}`]))
        .split("\0")
        .filter(Boolean),
    log: async (branch) => {
      const out = await git(path, [
        "log",
        "--format=%H%x1f%an%x1f%ae%x1f%s%x1f%b%x1e",
        `refs/heads/${branch}`,
      ]);
      return out
        .split("\x1e")
        .map((r) => r.trim())
        .filter(Boolean)
        .map((r) => {
          const [sha = "", authorName = "", authorEmail = "", subject = "", body = ""] = r.split("\x1f");
          return { sha, authorName, authorEmail, subject, body: body.trim() };
        });
    },
    branches: async () =>
      (await git(path, ["for-each-ref", "--format=%(refname:strip=2)", "refs/heads/"]))
        .split("\n")
        .filter(Boolean),
  };
}
