import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ensureMirror, type GitOptions } from "../forge/git.js";
import { gitEnv } from "../forge/git-run.js";

/** A revision as hosts report it: 40 hex digits, `-dirty` when uncommitted changes were deployed. */
export interface ParsedRevision {
  revision: string;
  dirty: boolean;
}

const REVISION = /^([0-9a-fA-F]{40})(-dirty)?$/;

/** `<40 hex>[-dirty]` → its base commit (lower case) and the dirty flag; null for anything else. */
export function parseRevision(raw: string): ParsedRevision | null {
  const m = REVISION.exec(raw.trim());
  return m ? { revision: m[1]!.toLowerCase(), dirty: m[2] !== undefined } : null;
}

/** How a host's name is matched: lower case, a trailing `:port` dropped (Prometheus `instance`). */
export function hostKey(name: string): string {
  const lower = name.trim().toLowerCase();
  // One colon only: an IPv6 address keeps its colons.
  return /^[^:]+:\d+$/.test(lower) ? lower.slice(0, lower.lastIndexOf(":")) : lower;
}

/** What a host runs relative to `repo.branch` (SPEC: same commit · N behind · not on the branch · unknown). */
export type Drift =
  | { kind: "same"; dirty: boolean }
  | { kind: "behind"; commits: number; dirty: boolean }
  | { kind: "not_on_branch"; dirty: boolean }
  | { kind: "unknown"; why: string };

/** One line for the prompt and `hosts`: "same commit as main", "3 commits behind main, dirty", … */
export function driftText(d: Drift, branch: string): string {
  const dirty = d.kind !== "unknown" && d.dirty ? " (dirty: uncommitted changes on top of it)" : "";
  switch (d.kind) {
    case "same":
      return `same commit as ${branch}${dirty}`;
    case "behind":
      return `${d.commits} commit(s) behind ${branch}${dirty}`;
    case "not_on_branch":
      return `not on ${branch}: the commit is not in the branch's history${dirty}`;
    case "unknown":
      return `unknown (${d.why})`;
    default: {
      const never: never = d;
      return never;
    }
  }
}

/** Git questions about revisions, asked in the mirror (`stateDir/mirror.git`). */
export interface Revisions {
  /**
   * True when the mirror has the commit, after a fetch if it had not (at most one per commit and
   * `refetchMs`: a host may run a commit pushed after our last fetch); undefined when nobody can
   * tell (no repo, or the fetch failed: it throws, and answers undefined until the next try).
   */
  known(sha: string): Promise<boolean | undefined>;
  /** `git merge-base --is-ancestor`: does `descendant`'s history contain `ancestor`? */
  contains(ancestor: string, descendant: string): Promise<boolean>;
  /** Where `sha` stands relative to `origin/<branch>` as last fetched (no fetch: cheap, for listings). */
  drift(sha: string, dirty: boolean, branch: string): Promise<Drift>;
}

/**
 * Revisions against the mirror of `url`. A commit the mirror lacks is fetched for once per `refetchMs`
 * (a host may run a commit pushed after our last fetch); the answer is remembered until then.
 */
export function createRevisions(opts: {
  mirror: string;
  url: string | undefined;
  git?: GitOptions;
  now?: () => number;
  refetchMs?: number;
}): Revisions {
  const { mirror } = opts;
  const gitOpts = opts.git ?? {};
  const now = opts.now ?? Date.now;
  const refetchMs = opts.refetchMs ?? 300_000;
  // Per commit the mirror lacked: when it last fetched for it, and what that told (undefined: the
  // fetch failed, so nobody can tell yet).
  const tried = new Map<string, { at: number; result: boolean | undefined }>();

  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        "git",
        ["-C", mirror, ...args],
        { env: gitEnv(gitOpts), maxBuffer: 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  const has = async (sha: string) =>
    existsSync(join(mirror, "HEAD")) && (await run(["cat-file", "-e", `${sha}^{commit}`])).code === 0;

  return {
    async known(sha) {
      if (await has(sha)) return true;
      if (opts.url === undefined) return existsSync(join(mirror, "HEAD")) ? false : undefined;
      const last = tried.get(sha);
      if (last !== undefined && now() - last.at < refetchMs) return last.result;
      tried.set(sha, { at: now(), result: undefined });
      await ensureMirror({ ...gitOpts, mirror, url: opts.url });
      const result = await has(sha);
      tried.set(sha, { at: now(), result });
      return result;
    },
    async contains(ancestor, descendant) {
      const r = await run(["merge-base", "--is-ancestor", ancestor, descendant]);
      if (r.code === 0) return true;
      if (r.code === 1) return false;
      throw new Error(`git merge-base --is-ancestor ${ancestor} ${descendant}: ${r.stderr.trim()}`);
    },
    async drift(sha, dirty, branch) {
      const ref = `refs/remotes/origin/${branch}`;
      if (!(await has(sha))) return { kind: "unknown", why: "the revision is unknown to the repository" };
      const tip = await run(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
      if (tip.code !== 0) return { kind: "unknown", why: `no ${branch} in the mirror yet` };
      if (tip.stdout.trim() === sha) return { kind: "same", dirty };
      const onBranch = await run(["merge-base", "--is-ancestor", sha, ref]);
      if (onBranch.code !== 0) return { kind: "not_on_branch", dirty };
      const count = await run(["rev-list", "--count", `${sha}..${ref}`]);
      return { kind: "behind", commits: Number(count.stdout.trim()), dirty };
    },
  };
}
