import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostChecks } from "../../src/preflight/hosts.js";
import { runPreflight } from "../../src/preflight/runner.js";
import { closedPort, type Scratch, scratch } from "../preflight/support.js";
import { installInspectProgram, type Sshd, sshdSkipReason, startSshd } from "../support/sshd.js";

/*
 * doctor's check of each inspected host (issue 20), against Debian's real sshd: one host behind the
 * real forced command, one whose key has no forced command (the host would run anything), one with
 * nothing listening. This Debian machine has no nixos-version: the channel answers, but the command
 * does not exist there, which doctor must tell apart from a broken channel.
 */

const skip = sshdSkipReason();
if (skip) console.log(skip);

describe("doctor without hosts", () => {
  it("says the agent inspects only this machine", async () => {
    const s = scratch();
    try {
      expect(await hostChecks(s.ctx({}))).toEqual([
        { name: "hosts", status: "ok", found: "none configured: the agent inspects only this machine" },
      ]);
    } finally {
      s.cleanup();
    }
  });

  it("fails naming the key file it cannot read", async () => {
    const s = scratch();
    try {
      const r = await hostChecks(
        s.ctx({
          hosts: { "media-01": { address: "127.0.0.1" } },
          inspect: { sshKeyFile: join(s.dir, "missing-key"), knownHostsFile: s.file("kh", "x\n") },
        }),
      );
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ name: "hosts", status: "fail" });
      expect(r[0]!.found).toMatch(/^inspect\.sshKeyFile: cannot read .*missing-key \(ENOENT\)$/);
    } finally {
      s.cleanup();
    }
  });
});

describe.skipIf(skip !== undefined)("doctor against real hosts", () => {
  let s: Scratch;
  let guarded: Sshd;
  let open: Sshd;
  let dir: string;

  beforeAll(async () => {
    s = scratch();
    dir = mkdtempSync(join(tmpdir(), "inspect-doctor-"));
    chmodSync(dir, 0o755);
    for (const d of ["guarded", "open"]) mkdirSync(join(dir, d));
    guarded = await startSshd({
      dir: join(dir, "guarded"),
      forcedCommand: installInspectProgram(join(dir, "guarded"), ["nixos-version *", "ls *"]),
    });
    // No forced command: the key gets the user's shell, which runs whatever comes.
    open = await startSshd({ dir: join(dir, "open") });
  });

  afterAll(async () => {
    await guarded?.stop();
    await open?.stop();
    s?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("checks every host: the channel, nixos-version, and the host's own refusal", {
    timeout: 60_000,
  }, async () => {
    // One key and one known-hosts file serve all hosts, as in a real config.
    const knownHosts = s.file("known_hosts", `${guarded.hostKeyLine}\n${open.hostKeyLine}\n`);
    const key = s.file("inspect-key", "");
    copyFileSync(guarded.clientKey, key);
    // Both servers let the same key in: the open one's authorized_keys gets the guarded one's key.
    appendFileSync(
      join(dir, "open", "authorized_keys"),
      `${readFileSync(`${guarded.clientKey}.pub`, "utf8")}`,
    );
    const ctx = s.ctx({
      hosts: {
        "media-01": { address: "127.0.0.1", port: guarded.port, user: guarded.user },
        "nas-01": { address: "127.0.0.1", port: open.port, user: open.user },
        "router-01": { address: "127.0.0.1", port: await closedPort(), user: guarded.user },
      },
      inspect: { sshKeyFile: key, knownHostsFile: knownHosts },
    });
    const results = await hostChecks(ctx);
    const by = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(Object.keys(by)).toEqual(["host media-01", "host nas-01", "host router-01"]);

    // Reached, key known and accepted, refusal enforced; nixos-version is not on this Debian host.
    expect(by["host media-01"]).toMatchObject({ status: "warn" });
    expect(by["host media-01"]!.found).toMatch(
      /answers and refuses what its list lacks, but nixos-version --json exited 127 \(.*nixos-version.*not found\): not a NixOS host\?$/,
    );
    // The host ran the probe: it enforces nothing.
    expect(by["host nas-01"]).toMatchObject({ status: "fail" });
    expect(by["host nas-01"]!.found).toMatch(
      /did not refuse homelab-healer-doctor-probe .*: it answered exit 127 instead/,
    );
    expect(by["host nas-01"]!.fix).toMatch(/command="homelab-healer-inspect …",restrict/);
    expect(by["host router-01"]).toMatchObject({ status: "fail" });
    expect(by["host router-01"]!.found).toMatch(/^host unreachable: router-01 .*Connection refused/);

    // serve and doctor run it with the other groups.
    const all = await runPreflight(ctx);
    expect(all.filter((r) => r.name.startsWith("host ")).map((r) => r.name)).toEqual(Object.keys(by));
  });
});
