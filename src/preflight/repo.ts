import { gitEnv } from "../forge/git-run.js";
import { findOnPath, firstLine, runProgram } from "./exec.js";
import { type CheckGroup, fail, ok, warn } from "./types.js";

/** A repo URL fit to print: user info of an http(s) URL (a token in disguise) hidden. */
export function shownRepoUrl(url: string): string {
  return url.replace(/^(https?:\/\/)[^@/]+@/i, "$1***@");
}

/** What to check when repo.url cannot be reached: a deploy key only matters over ssh. */
export function reachFix(url: string): string {
  if (/^file:/i.test(url) || !/^[a-z][a-z0-9+.-]*:\/\/|^[^/]+@[^/]+:|^[^/:]+:/i.test(url)) {
    return "repo.url is a local repository: check that the path exists, is a git repository, and is readable (and writable, to push) by the service's user";
  }
  if (/^https?:/i.test(url)) {
    return "check repo.url and that the repository can be read (and pushed to) over https from this host; an ssh URL with repo.sshKeyFile is the usual way";
  }
  return "check repo.url, the deploy key (repo.sshKeyFile, with write access) and repo.knownHostsFile (the host's key)";
}

/** `git ls-remote` of repo.url with the deploy key and known hosts the runs use; repo.branch exists. */
export const repoChecks: CheckGroup = async (ctx) => {
  const { repo } = ctx.config;
  if (repo.url === undefined) {
    return [
      warn(
        "repo",
        "repo.url is not set: alerts are triaged, but no repair runs",
        "set repo.url to your homelab flake's repository (and forge.* to open pull requests)",
      ),
    ];
  }
  const url = shownRepoUrl(repo.url);
  const keyProblem = ctx.secretProblems["repo.sshKeyFile"];
  if (keyProblem !== undefined) {
    return [fail("repo", `repo.sshKeyFile: ${keyProblem}`, "point repo.sshKeyFile at the deploy key")];
  }
  const git = findOnPath("git", ctx.path);
  if (git === undefined) return [fail("repo", `cannot check ${url}: git is missing`, "install git")];
  const env = {
    ...gitEnv({
      ...(repo.sshKeyFile ? { sshKeyFile: repo.sshKeyFile } : {}),
      ...(repo.knownHostsFile ? { knownHostsFile: repo.knownHostsFile } : {}),
    }),
    PATH: ctx.path,
  };
  const ran = await runProgram(git, ["ls-remote", "--heads", "--", repo.url, `refs/heads/${repo.branch}`], {
    env,
    timeoutMs: 30_000,
    signal: ctx.signal,
  });
  if (ran.code !== 0) {
    const said =
      firstLine(ran.stderr.replaceAll(repo.url, url).replace(/^fatal: /m, ""), 300) ||
      ran.error ||
      `exit ${ran.code}`;
    return [fail("repo", `cannot reach repo.url ${url}: ${said}`, reachFix(repo.url))];
  }
  if (ran.stdout.trim() === "") {
    return [
      fail(
        "repo",
        `${url} has no branch ${repo.branch}`,
        "set repo.branch to the branch your hosts are deployed from (default main)",
      ),
    ];
  }
  return [ok("repo", `${url} reachable; ${repo.branch} at ${ran.stdout.trim().slice(0, 12)}`)];
};
