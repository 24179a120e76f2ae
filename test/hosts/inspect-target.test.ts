import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeArgv, INSPECT_PROGRAM, runCollecting, type SshResult } from "../support/sshd.js";
import { createTarget, expectRefused, refusalsFor } from "./inspect-target-fixture.js";

/*
 * The target side of the inspection channel (issue 20): share/inspect/homelab-healer-inspect, the
 * forced command on every inspected host, alone, as sshd would start it (SSH_ORIGINAL_COMMAND set,
 * the commands file as its argument), under dash and bash (NixOS's runtimeShell). Behind the real
 * sshd: inspect-target-sshd.test.ts. A marker file in a directory the program's user can write
 * proves that refused commands ran nothing.
 */

// Made at collection: the refused cases name its paths.
const target = createTarget("inspect-target-");
const refusals = refusalsFor(target);

afterAll(() => {
  target.remove();
});

/** Runs the program as sshd would, through `shell`; `wire` undefined leaves SSH_ORIGINAL_COMMAND unset. */
function runAlone(shell: string, wire: string | undefined): Promise<SshResult> {
  const [program, commandsFile] = target.forcedCommand.split(" ") as [string, string];
  const env: Record<string, string> = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
  if (wire !== undefined) env.SSH_ORIGINAL_COMMAND = wire;
  return runCollecting(shell, [program, commandsFile], env);
}

describe("homelab-healer-inspect as a file", () => {
  it("is executable, starts with #!/bin/sh and parses as POSIX sh (dash -n)", async () => {
    const mode = statSync(INSPECT_PROGRAM).mode;
    expect(mode & 0o111).toBe(0o111);
    expect(readFileSync(INSPECT_PROGRAM, "utf8").split("\n")[0]).toBe("#!/bin/sh");
    const shell = existsSync("/bin/dash") ? "/bin/dash" : "/bin/sh";
    expect(await runCollecting(shell, ["-n", INSPECT_PROGRAM])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it.skipIf(!existsSync("/usr/bin/shellcheck"))("is clean for shellcheck as sh and as bash", async () => {
    for (const dialect of ["sh", "bash"]) {
      const result = await runCollecting("/usr/bin/shellcheck", ["-s", dialect, INSPECT_PROGRAM]);
      expect(result, result.stdout).toEqual({ code: 0, stdout: "", stderr: "" });
    }
  });
});

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
    const result = await runAlone(shell, encodeArgv(["ls", join(target.dir, "does-not-exist")]));
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
    expectRefused(target, await runAlone(shell, wire), reason);
  });

  it("refuses when sshd gave no command at all (SSH_ORIGINAL_COMMAND unset)", async () => {
    expectRefused(target, await runAlone(shell, undefined), /^no command$/);
  });

  it("refuses, with one line, when its commands file cannot be read", async () => {
    const result = await runCollecting(shell, [INSPECT_PROGRAM, join(target.dir, "no-such-file")], {
      SSH_ORIGINAL_COMMAND: encodeArgv(["ls"]),
    });
    expectRefused(target, result, /^cannot read the commands file /);
  });
});
