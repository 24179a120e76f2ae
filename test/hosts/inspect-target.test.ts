import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeArgv,
  INSPECT_PROGRAM,
  installInspectProgram,
  makeKeyPair,
  type Sshd,
  type SshResult,
  sshdSkipReason,
  sshdTestUser,
  sshTo,
  startSshd,
} from "../support/sshd.js";

/*
 * The target side of the inspection channel (issue 20): share/inspect/homelab-healer-inspect, the
 * forced command on every inspected host. First alone, as sshd would start it (SSH_ORIGINAL_COMMAND
 * set, the commands file as its argument), under dash and bash (NixOS's runtimeShell); then behind
 * Debian's real sshd with a key whose authorized_keys line carries `command="…",restrict`. A marker
 * file in a directory the target user can write proves that refused commands ran nothing.
 */

const skip = sshdSkipReason();
if (skip) console.log(skip);

const dir = mkdtempSync(join(tmpdir(), "inspect-target-"));
// Writable by the target user, so a marker's absence means nothing ran, not that it could not.
const scratch = join(dir, "scratch");
const marker = join(scratch, "pwned");
const victim = join(scratch, "victim");

/** The default allowlist (protocol) plus what these tests need to see effects. */
const commands = [
  "# the protocol's defaults",
  "journalctl *",
  "systemctl status *",
  "systemctl show *",
  "systemctl cat *",
  "systemctl list-units *",
  "systemctl list-units",
  "systemctl is-failed *",
  "findmnt",
  "findmnt *",
  "stat *",
  "ls",
  "ls *",
  "id",
  "id *",
  "getent passwd *",
  "getent group *",
  "df",
  "df *",
  "nixos-version",
  "nixos-version *",
  "",
  "# for the tests: output of exact arguments, a literal bracket, and a write the refusals must not do",
  "printf *",
  "cat [ab]",
  `touch ${scratch}/control-?`,
];

let forcedCommand = "";

beforeAll(() => {
  mkdirSync(scratch);
  chmodSync(scratch, 0o777);
  writeFileSync(victim, "still here\n", { mode: 0o666 });
  forcedCommand = installInspectProgram(dir, commands);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What arrives at the target for each refused case (argv, or raw SSH_ORIGINAL_COMMAND). */
const refusals: { name: string; wire: string; reason: RegExp }[] = [
  {
    name: "rm -rf on a file the target user may delete",
    wire: encodeArgv(["rm", "-rf", victim]),
    reason: /^command not allowed: rm -rf /,
  },
  {
    name: "journalctl -u x; touch <marker> (split by a shell)",
    wire: encodeArgv(["journalctl", "-u", "x;", "touch", marker]),
    reason: /^shell syntax in argument 3: journalctl -u x; touch /,
  },
  {
    name: "journalctl -u x; touch <marker> (as one argument)",
    wire: encodeArgv(["journalctl", "-u", `x; touch ${marker}`]),
    reason: /^shell syntax in argument 3: /,
  },
  {
    name: "the whole command line as argv[0], which the joined string would let pass as journalctl *",
    wire: encodeArgv([`journalctl -u x touch ${marker}`]),
    reason: /^command not allowed: journalctl -u x touch /,
  },
  {
    name: 'journalctl -u "$(touch <marker>)" as a literal argument',
    wire: encodeArgv(["journalctl", "-u", `$(touch ${marker})`]),
    reason: /^shell syntax in argument 3: journalctl -u \$\(touch /,
  },
  {
    name: "a backquoted touch",
    wire: encodeArgv(["ls", `\`touch ${marker}\``]),
    reason: /^shell syntax in argument 2: /,
  },
  {
    name: "an argument with a newline",
    wire: encodeArgv(["ls", `x\ntouch ${marker}`]),
    reason: /^control character in argument 2: ls x\?touch /,
  },
  {
    name: "an argument with a NUL byte",
    wire: encodeArgv(["ls", `x\0y`]),
    reason: /^control character in argument 2: /,
  },
  {
    name: "an argument ending in a newline (which command substitution would strip)",
    wire: encodeArgv(["ls", "x\n"]),
    reason: /^control character in argument 2: ls x\?$/,
  },
  { name: "a word that is not base64", wire: `touch ${marker}`, reason: /^not base64: word 1$/ },
  {
    name: "base64 without its padding",
    wire: `${encodeArgv(["ls"])} ${Buffer.from("a").toString("base64").replace(/=+$/, "")}`,
    reason: /^not base64: word 2$/,
  },
  {
    name: "two spaces (an empty word)",
    wire: `${encodeArgv(["ls"])}  ${encodeArgv(["x"])}`,
    reason: /^not base64: word 2$/,
  },
  { name: "an empty command", wire: "", reason: /^no command$/ },
  {
    name: "a pattern's [ is literal: cat a does not match `cat [ab]`",
    wire: encodeArgv(["cat", "a"]),
    reason: /^command not allowed: cat a$/,
  },
  {
    name: "a bare command where only `name *` is listed",
    wire: encodeArgv(["journalctl"]),
    reason: /^command not allowed: journalctl$/,
  },
  {
    name: "a path as the command",
    wire: encodeArgv(["/bin/ls"]),
    reason: /^command not allowed: \/bin\/ls$/,
  },
  {
    name: "a touch the list allows only for other names",
    wire: encodeArgv(["touch", marker]),
    reason: /^command not allowed: touch /,
  },
];

/** Checks a refusal: exit 125, nothing on stdout, exactly one line on stderr, nothing ran. */
function expectRefused(result: SshResult, reason: RegExp): void {
  expect(result.code, result.stderr).toBe(125);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n");
  expect(lines, result.stderr).toHaveLength(2);
  expect(lines[1]).toBe("");
  const prefix = "homelab-healer-inspect: refused: ";
  expect(lines[0]?.startsWith(prefix), lines[0]).toBe(true);
  expect(lines[0]?.slice(prefix.length)).toMatch(reason);
  expect(existsSync(marker)).toBe(false);
  expect(existsSync(victim)).toBe(true);
}

/** Runs the program as sshd would, through `shell`; `wire` undefined leaves SSH_ORIGINAL_COMMAND unset. */
function runAlone(shell: string, wire: string | undefined): Promise<SshResult> {
  const [program, commandsFile] = forcedCommand.split(" ") as [string, string];
  const env: Record<string, string> = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
  if (wire !== undefined) env.SSH_ORIGINAL_COMMAND = wire;
  return new Promise((done, fail) => {
    const child = spawn(shell, [program, commandsFile], { env, stdio: ["ignore", "pipe", "pipe"] });
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

/** Shells the program must behave the same under: Debian's /bin/sh (dash), and bash (NixOS). */
const shells = ["/bin/sh", "/bin/bash"].filter((shell) => existsSync(shell));

describe.each(shells)("homelab-healer-inspect alone, under %s", (shell) => {
  it("runs an allowed argv exactly, empty and quoted arguments included", async () => {
    const result = await runAlone(
      shell,
      encodeArgv(["printf", "[%s]\\n", "a b", "'single'", '"double"', "*", "é", "", "a$b", "c\\x2d"]),
    );
    expect(result).toEqual({
      code: 0,
      stdout: "[a b]\n['single']\n[\"double\"]\n[*]\n[é]\n[]\n[a$b]\n[c\\x2d]\n",
      stderr: "",
    });
  });

  it("gives the command's own exit code and stderr back", async () => {
    const result = await runAlone(shell, encodeArgv(["ls", join(dir, "does-not-exist")]));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("does-not-exist");
  });

  it("treats a pattern's brackets literally: `cat [ab]` runs cat on the file named [ab]", async () => {
    const result = await runAlone(shell, encodeArgv(["cat", "[ab]"]));
    // Allowed (not 125): cat itself answers that there is no file named "[ab]" in the cwd.
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[ab]");
  });

  it.each(refusals)("refuses $name", async ({ wire, reason }) => {
    expectRefused(await runAlone(shell, wire), reason);
  });

  it("refuses when sshd gave no command at all (SSH_ORIGINAL_COMMAND unset)", async () => {
    expectRefused(await runAlone(shell, undefined), /^no command$/);
  });

  it("refuses, with one line, when its commands file cannot be read", async () => {
    const result = await new Promise<SshResult>((done) => {
      const child = spawn(shell, [INSPECT_PROGRAM, join(dir, "no-such-file")], {
        env: { SSH_ORIGINAL_COMMAND: encodeArgv(["ls"]) },
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      child.once("close", (code) => done({ code, stdout: "", stderr }));
    });
    expectRefused(result, /^cannot read the commands file /);
  });
});

describe.skipIf(skip !== undefined)("homelab-healer-inspect behind the real sshd", () => {
  let sshd: Sshd;

  beforeAll(async () => {
    sshd = await startSshd({ dir, forcedCommand });
  });

  afterAll(async () => {
    await sshd?.stop();
  });

  it("runs an allowed command as the target user and brings back its output and exit code", async () => {
    const id = await sshTo(sshd, encodeArgv(["id", "-un"]));
    expect(id, sshd.log()).toEqual({ code: 0, stdout: `${sshdTestUser}\n`, stderr: "" });
    const printed = await sshTo(sshd, encodeArgv(["printf", "%s/", "a b", "", "é"]));
    expect(printed).toEqual({ code: 0, stdout: "a b//é/", stderr: "" });
    const missing = await sshTo(sshd, encodeArgv(["ls", join(dir, "does-not-exist")]));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("does-not-exist");
  });

  it("lets the target user write where the marker goes (so its absence below means something)", async () => {
    const control = join(scratch, "control-1");
    const result = await sshTo(sshd, encodeArgv(["touch", control]));
    expect(result, sshd.log()).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(existsSync(control)).toBe(true);
    rmSync(control);
  });

  it.each(refusals)("refuses $name", async ({ wire, reason }) => {
    expectRefused(await sshTo(sshd, wire), reason);
  });

  it("rejects a key that is not in authorized_keys: authentication fails, nothing runs", async () => {
    const stranger = join(dir, "stranger_ed25519");
    makeKeyPair(stranger);
    const result = await sshTo(sshd, encodeArgv(["touch", join(scratch, "control-2")]), stranger);
    expect(result.code).toBe(255);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Permission denied (publickey)");
    expect(existsSync(join(scratch, "control-2"))).toBe(false);
  });
});
