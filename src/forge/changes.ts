import { type GitOptions, gitAt, step } from "./git-run.js";

/** One changed path of a worktree against its base, as the guard and the PR body see it. */
export interface ChangedFile {
  path: string;
  /** The path before a rename or copy: the guard checks both. */
  oldPath?: string;
  status: "added" | "modified" | "deleted" | "renamed" | "copied" | "type_changed";
  added: number;
  deleted: number;
  binary: boolean;
  kind: "file" | "executable" | "symlink" | "submodule";
  /** Where a symlink points, as stored in git. */
  symlinkTarget?: string;
}

const STATUS: Record<string, ChangedFile["status"]> = {
  A: "added",
  M: "modified",
  D: "deleted",
  R: "renamed",
  C: "copied",
  T: "type_changed",
};

function kindOf(mode: string): ChangedFile["kind"] {
  if (mode === "120000") return "symlink";
  if (mode === "160000") return "submodule";
  if (mode === "100755") return "executable";
  return "file";
}

interface RawEntry {
  status: ChangedFile["status"];
  path: string;
  oldPath?: string;
  mode: string;
  sha: string;
}

/** Parses `git diff --raw -z --no-abbrev`: `:old new oldsha newsha S\0path\0[new\0]`. */
function parseRaw(out: string): RawEntry[] {
  const tokens = out.split("\0");
  const entries: RawEntry[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const head = tokens[i];
    if (head === undefined || !head.startsWith(":")) continue;
    const [oldMode = "", newMode = "", oldSha = "", newSha = "", code = ""] = head.slice(1).split(" ");
    const letter = code.charAt(0);
    const status = STATUS[letter] ?? "modified";
    const deleted = letter === "D";
    const mode = deleted ? oldMode : newMode;
    const sha = deleted ? oldSha : newSha;
    if (letter === "R" || letter === "C") {
      entries.push({ status, oldPath: tokens[i + 1] ?? "", path: tokens[i + 2] ?? "", mode, sha });
      i += 2;
    } else {
      entries.push({ status, path: tokens[i + 1] ?? "", mode, sha });
      i += 1;
    }
  }
  return entries;
}

/** Parses `git diff --numstat -z`: `a\td\tpath\0` or, for renames, `a\td\t\0old\0new\0`. */
function parseNumstat(out: string): Map<string, { added: number; deleted: number; binary: boolean }> {
  const tokens = out.split("\0");
  const stats = new Map<string, { added: number; deleted: number; binary: boolean }>();
  for (let i = 0; i < tokens.length; i++) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(tokens[i] ?? "");
    if (!m) continue;
    let path = m[3] ?? "";
    if (path === "") {
      path = tokens[i + 2] ?? "";
      i += 2;
    }
    const binary = m[1] === "-";
    stats.set(path, { added: binary ? 0 : Number(m[1]), deleted: binary ? 0 : Number(m[2]), binary });
  }
  return stats;
}

/**
 * Every path changed in the worktree against `base` (a sha or ref), untracked files included.
 * Stages everything first: the commit will, and a flake only sees files git knows about.
 */
export async function changedFiles(
  worktree: string,
  diff: { base: string },
  opts: GitOptions = {},
): Promise<ChangedFile[]> {
  const git = gitAt(worktree, opts);
  return step("changed files", opts, async () => {
    await git.raw(["add", "--all"]);
    const common = ["diff", "--cached", "-M", "--no-ext-diff", "--no-textconv", "-z"];
    const raw = parseRaw(await git.raw([...common, "--raw", "--no-abbrev", diff.base, "--"]));
    const stats = parseNumstat(await git.raw([...common, "--numstat", diff.base, "--"]));
    const files: ChangedFile[] = [];
    for (const e of raw) {
      const s = stats.get(e.path) ?? { added: 0, deleted: 0, binary: false };
      const file: ChangedFile = { path: e.path, status: e.status, ...s, kind: kindOf(e.mode) };
      if (e.oldPath !== undefined) file.oldPath = e.oldPath;
      if (file.kind === "symlink" && e.status !== "deleted") {
        file.symlinkTarget = await git.raw(["cat-file", "blob", e.sha]);
      }
      files.push(file);
    }
    return files;
  });
}

/** The worktree's diff against `base` (untracked files included), cut at `maxBytes`. */
export async function diffText(
  worktree: string,
  maxBytes: number,
  diff: { base: string },
  opts: GitOptions = {},
): Promise<{ text: string; truncated: boolean; bytes: number }> {
  const git = gitAt(worktree, opts);
  const text = await step("diff", opts, async () => {
    await git.raw(["add", "--all"]);
    return git.raw([
      "diff",
      "--cached",
      "-M",
      "--no-color",
      "--no-ext-diff",
      "--no-textconv",
      diff.base,
      "--",
    ]);
  });
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= maxBytes) return { text, truncated: false, bytes: buf.length };
  // Cut at the last whole line that fits, so no multi-byte character is split.
  const head = buf.subarray(0, maxBytes).toString("utf8");
  const cut = head.lastIndexOf("\n");
  return { text: cut > 0 ? head.slice(0, cut + 1) : "", truncated: true, bytes: buf.length };
}
