import { posix } from "node:path";
import picomatch from "picomatch";
import type { ChangedFile } from "./changes.js";

/** The limits a change must stay within to be pushed (`repo.*` in the config). */
export interface GuardRules {
  protectedPaths: string[];
  maxChangedFiles: number;
  maxDiffLines: number;
}

/** The guard's verdict: a refusal names the first problem found. */
export type GuardVerdict = { ok: true } | { ok: false; reason: string };

/** The fields of a changed file the guard looks at. */
export type GuardedFile = Pick<ChangedFile, "path" | "added" | "deleted"> &
  Partial<Pick<ChangedFile, "oldPath" | "kind" | "symlinkTarget">>;

/** Whether a path reaches into a `.git` directory or file at any depth. */
function touchesGitDir(path: string): boolean {
  return path.split("/").some((segment) => segment === ".git");
}

/** Whether a symlink at `path` pointing to `target` resolves outside the repository. */
function escapesRepo(path: string, target: string): boolean {
  if (target.startsWith("/")) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === ".." || resolved.startsWith("../");
}

/**
 * Decides whether a change may be pushed: no protected path (before or after a rename), nothing in
 * `.git`, no symlink leaving the repository, no submodule, and within the size limits.
 */
export function checkChange(files: readonly GuardedFile[], rules: GuardRules): GuardVerdict {
  // dot: true so that `.git*/**` catches `.github/workflows/x` and `**/*.age` catches `.secret.age`.
  const isProtected = picomatch(rules.protectedPaths, { dot: true });
  for (const f of files) {
    const paths = f.oldPath !== undefined && f.oldPath !== f.path ? [f.oldPath, f.path] : [f.path];
    for (const p of paths) {
      if (touchesGitDir(p)) return { ok: false, reason: `${p} is inside a .git directory` };
      if (isProtected(p)) return { ok: false, reason: `${p} is a protected path` };
    }
    if (f.kind === "submodule") return { ok: false, reason: `${f.path} is a submodule` };
    if (f.kind === "symlink" && f.symlinkTarget !== undefined) {
      if (escapesRepo(f.path, f.symlinkTarget)) {
        return { ok: false, reason: `${f.path} is a symlink pointing outside the repository` };
      }
      const target = posix.normalize(posix.join(posix.dirname(f.path), f.symlinkTarget));
      if (touchesGitDir(target) || isProtected(target)) {
        return { ok: false, reason: `${f.path} is a symlink to the protected path ${target}` };
      }
    }
  }
  if (files.length > rules.maxChangedFiles) {
    return {
      ok: false,
      reason: `${files.length} files changed, more than the ${rules.maxChangedFiles} allowed`,
    };
  }
  const lines = files.reduce((sum, f) => sum + f.added + f.deleted, 0);
  if (lines > rules.maxDiffLines) {
    return { ok: false, reason: `${lines} lines changed, more than the ${rules.maxDiffLines} allowed` };
  }
  return { ok: true };
}
