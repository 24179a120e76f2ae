import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { sshOptions } from "../../src/hosts/inspect.js";
import { freePort } from "./daemons.js";

/*
 * A real OpenSSH server for the inspection channel's tests (issue 20): Debian's sshd on 127.0.0.1
 * and a free port, with its own host key and an AuthorizedKeysFile in the test's directory. Run as
 * root (CI), sshd logs in the test user `healer-inspect-test`, whom `.ci/run` creates; a developer
 * makes that user once with
 *
 *   sudo useradd --create-home --shell /bin/sh --password '*' healer-inspect-test
 *
 * (`*`, not useradd's default `!`: with `UsePAM no` sshd refuses a `!` account as locked). Run as
 * anyone else, sshd can only log in the user running it, so that user is the test user.
 */

export const SSHD_BIN = "/usr/sbin/sshd";
export const SSH_BIN = "/usr/bin/ssh";
export const SSH_KEYGEN_BIN = "/usr/bin/ssh-keygen";
export const INSPECT_TEST_USER = "healer-inspect-test";
/** The target side's host program, as the package ships it. */
export const INSPECT_PROGRAM = resolve(import.meta.dirname, "../../share/inspect/homelab-healer-inspect");

const runningAsRoot = process.getuid?.() === 0;

/** The account sshd logs the test's keys into. */
export const sshdTestUser = runningAsRoot ? INSPECT_TEST_USER : userInfo().username;

/** Why the sshd tests cannot run here (one line, to print once), or undefined when they can. */
export function sshdSkipReason(): string | undefined {
  const missing = [SSHD_BIN, SSH_BIN, SSH_KEYGEN_BIN].filter((bin) => !existsSync(bin));
  if (missing.length > 0) {
    return `sshd tests skipped: ${missing.join(", ")} not installed (apt-get install openssh-server openssh-client)`;
  }
  if (runningAsRoot && !userExists(INSPECT_TEST_USER)) {
    return `sshd tests skipped: no user ${INSPECT_TEST_USER} (useradd --create-home --shell /bin/sh --password '*' ${INSPECT_TEST_USER})`;
  }
  return undefined;
}

export interface SshdOptions {
  /** The test's directory: config, host key, client key and authorized_keys go in it. */
  dir: string;
  /** Put as `command="…",restrict` before the harness's client key (e.g. from `installInspectProgram`). */
  forcedCommand?: string;
  /** Further authorized_keys lines, as written. */
  authorizedKeys?: string[];
}

export interface Sshd {
  pid: number;
  port: number;
  /** The account the client key logs into. */
  user: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…`, the line a known_hosts file needs for this server. */
  hostKeyLine: string;
  /** A known_hosts file holding `hostKeyLine` alone. */
  knownHostsFile: string;
  /** Path of a private key (no passphrase) that authorized_keys lets in. */
  clientKey: string;
  /** Its public key line. */
  clientPublicKey: string;
  /** The last 8,000 characters of sshd's log (`-e`: stderr), for failure messages. */
  log(): string;
  /** Ends sshd and its session processes (SIGTERM, SIGKILL after 5 s), by PID. Safe to call twice. */
  stop(): Promise<void>;
}

/** Makes an ed25519 key pair without passphrase at `path`; returns the public key line. */
export function makeKeyPair(path: string, comment = "homelab-healer test"): string {
  execFileSync(SSH_KEYGEN_BIN, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim();
}

/**
 * Copies the host program and a commands file (one pattern a line) into `dir`/inspect, readable by
 * the test user wherever the checkout lives; returns the forced command for authorized_keys.
 * `binDirs` go before the program's own PATH for the commands it runs (e.g. a stand-in
 * `systemctl` where the test machine has no systemd), as the NixOS module could set it.
 */
export function installInspectProgram(
  dir: string,
  commands: string[],
  options: { binDirs?: string[] } = {},
): string {
  const target = join(dir, "inspect");
  mkdirSync(target, { recursive: true });
  chmodSync(target, 0o755);
  const program = join(target, "homelab-healer-inspect");
  const original = readFileSync(INSPECT_PROGRAM, "utf8");
  const pathLine = "\ninspect_path=";
  if (!original.includes(pathLine)) throw new Error(`${INSPECT_PROGRAM} has no inspect_path= line`);
  const dirs = options.binDirs ?? [];
  const text = dirs.length === 0 ? original : original.replace(pathLine, `${pathLine}${dirs.join(":")}:`);
  writeFileSync(program, text, { mode: 0o755 });
  chmodSync(program, 0o755);
  const commandsFile = join(target, "commands");
  writeFileSync(commandsFile, `${commands.join("\n")}\n`, { mode: 0o644 });
  return `${program} ${commandsFile}`;
}

/** Starts sshd (`-D -e -f <config>`) on 127.0.0.1 and a free port; resolves once it listens. */
export async function startSshd(options: SshdOptions): Promise<Sshd> {
  const { dir } = options;
  // sshd reads authorized_keys (and the test user runs the program) with the user's rights.
  chmodSync(dir, 0o755);
  const hostKey = join(dir, "ssh_host_ed25519_key");
  const hostPublicKey = makeKeyPair(hostKey, "homelab-healer test host");
  const clientKey = join(dir, "client_ed25519");
  const clientPublicKey = makeKeyPair(clientKey);
  const restricted = options.forcedCommand
    ? `command="${options.forcedCommand.replaceAll('"', '\\"')}",restrict ${clientPublicKey}`
    : clientPublicKey;
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, `${[restricted, ...(options.authorizedKeys ?? [])].join("\n")}\n`, {
    mode: 0o644,
  });

  const port = await freePort();
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${sshdTestUser}`,
      // The test's directory is not root-owned all the way up, which StrictModes would refuse.
      "StrictModes no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      // PAM would want a login session (pam_systemd, pam_loginuid) a container may not give.
      "UsePAM no",
      "PermitRootLogin no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  // Debian's sshd wants its privilege separation directory, which its systemd unit normally makes.
  if (runningAsRoot) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const child: ChildProcess = spawn(SSHD_BIN, ["-D", "-e", "-f", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const listening = new Promise<void>((done) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) done();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${SSHD_BIN} did not start`);
  const knownHostsFile = join(dir, "known_hosts");
  const hostKeyLine = `[127.0.0.1]:${port} ${hostPublicKey.split(" ").slice(0, 2).join(" ")}`;
  writeFileSync(knownHostsFile, `${hostKeyLine}\n`);
  const sshd: Sshd = {
    pid,
    port,
    user: sshdTestUser,
    hostKeyLine,
    knownHostsFile,
    clientKey,
    clientPublicKey,
    log: () => log,
    async stop() {
      // Session processes are sshd's children; a session still open would outlive the listener.
      const pids = [...descendants(pid), pid];
      if (child.exitCode !== null || child.signalCode !== null) return;
      for (const p of pids) signal(p, "SIGTERM");
      const timer = setTimeout(() => {
        for (const p of pids) signal(p, "SIGKILL");
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  const timeout = new Promise<"timeout">((done) => setTimeout(() => done("timeout"), 20_000).unref());
  const outcome = await Promise.race([listening, exited.then(() => "exited" as const), timeout]);
  if (outcome !== undefined) {
    await sshd.stop();
    throw new Error(`sshd ${outcome === "exited" ? "exited" : "not listening within 20 s"}: ${log}`);
  }
  return sshd;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the ssh client as the broker does (the contract's options, no user ssh config) against
 * `sshd` with `remoteCommand` as the one remote word list, and collects what comes back.
 */
export function sshTo(
  sshd: Pick<Sshd, "port" | "user" | "knownHostsFile" | "clientKey">,
  remoteCommand: string,
  key = sshd.clientKey,
): Promise<SshResult> {
  const args = [
    ...sshOptions({
      keyFile: key,
      knownHostsFile: sshd.knownHostsFile,
      address: "127.0.0.1",
      port: sshd.port,
      user: sshd.user,
      connectTimeoutSeconds: 10,
    }),
    remoteCommand,
  ];
  return runCollecting(SSH_BIN, args);
}

/** Runs `command` (stdin closed) and resolves with its exit code and everything it printed. */
export function runCollecting(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<SshResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.once("error", fail);
    child.once("close", (code) => done({ code, stdout, stderr }));
  });
}

/** The wire encoding of an argv (base64 per argument, `-` for an empty one, joined by one space). */
export function encodeArgv(argv: string[]): string {
  return argv.map((arg) => (arg === "" ? "-" : Buffer.from(arg).toString("base64"))).join(" ");
}

function userExists(name: string): boolean {
  try {
    execFileSync("getent", ["passwd", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Every live descendant of `root` (from /proc's parent links). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The name in parentheses may hold spaces: the fields after its last `)` are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
