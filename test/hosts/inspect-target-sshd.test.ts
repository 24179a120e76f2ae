import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeArgv,
  installInspectProgram,
  makeKeyPair,
  type Sshd,
  sshdSkipReason,
  sshdTestUser,
  sshTo,
  startSshd,
} from "../support/sshd.js";
import { createTarget, expectRefused, refusalsFor } from "./inspect-target-fixture.js";

/*
 * homelab-healer-inspect behind Debian's real sshd (test/support/sshd.ts), as on an inspected
 * host: the client key's authorized_keys line carries `command="<program> <commands>",restrict`,
 * the program runs as the test user. The same refused cases as inspect-target.test.ts, the program
 * alone; a marker file in a directory that user can write proves that they ran nothing.
 */

const skip = sshdSkipReason();
if (skip) console.log(skip);

// Made at collection: the refused cases name its paths.
const target = createTarget("inspect-target-sshd-");
const { dir, scratch } = target;
const refusals = refusalsFor(target);

afterAll(() => {
  target.remove();
});

describe.skipIf(skip !== undefined)("homelab-healer-inspect behind the real sshd", () => {
  let sshd: Sshd;

  beforeAll(async () => {
    sshd = await startSshd({ dir, forcedCommand: target.forcedCommand });
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
    expectRefused(target, await sshTo(sshd, wire), reason);
  });

  it("runs a stand-in from binDirs first (how tests without systemd answer `systemctl status`)", async () => {
    const stand = join(dir, "stand-in");
    const bin = join(stand, "bin");
    mkdirSync(bin, { recursive: true });
    chmodSync(stand, 0o755);
    writeFileSync(
      join(bin, "systemctl"),
      '#!/bin/sh\necho "● $2.service - stand-in on the inspected host"\necho "args: $*"\n',
      { mode: 0o755 },
    );
    const other = await startSshd({
      dir: stand,
      forcedCommand: installInspectProgram(stand, ["systemctl status *"], { binDirs: [bin] }),
    });
    try {
      const result = await sshTo(other, encodeArgv(["systemctl", "status", "jellyfin"]));
      expect(result, other.log()).toEqual({
        code: 0,
        stdout: "● jellyfin.service - stand-in on the inspected host\nargs: status jellyfin\n",
        stderr: "",
      });
    } finally {
      await other.stop();
    }
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
