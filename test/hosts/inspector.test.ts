import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { DEFAULT_INSPECT_COMMANDS, refusal, wildcardMatch } from "../../src/hosts/commands.js";
import { createInspector, type InspectConfig, type Inspector, sshArgv } from "../../src/hosts/inspect.js";
import { encodeArgv } from "../../src/hosts/wire.js";
import { freePort } from "../support/daemons.js";
import {
  encodeArgv as harnessEncode,
  installInspectProgram,
  makeKeyPair,
  type Sshd,
  sshdSkipReason,
  startSshd,
} from "../support/sshd.js";

/*
 * The healer side of the inspection channel (issue 20): the Inspector against Debian's real sshd
 * with the real host program as the forced command. Each channel problem the issue names must come
 * back as one line, never as an exception; a marker file the target user could write proves that
 * refused commands ran nothing.
 */

const log = pino({ level: "silent" });

describe("inspect.commands matching (the contract's wildcard)", () => {
  it("matches the whole command string; * spans spaces and slashes; ? is one character", () => {
    expect(wildcardMatch("journalctl -u jellyfin --since -1h", "journalctl *")).toBe(true);
    expect(wildcardMatch("ls /mnt/media/movies", "ls *")).toBe(true);
    expect(wildcardMatch("journalctl", "journalctl *")).toBe(false);
    expect(wildcardMatch("sudo journalctl -u x", "journalctl *")).toBe(false);
    expect(wildcardMatch("id 1", "id ?")).toBe(true);
    expect(wildcardMatch("id 12", "id ?")).toBe(false);
    // Regular-expression and glob syntax in a pattern is literal.
    expect(wildcardMatch("cat a", "cat [ab]")).toBe(false);
    expect(wildcardMatch("cat [ab]", "cat [ab]")).toBe(true);
    expect(wildcardMatch("axb", "a.b")).toBe(false);
  });

  it("refuses an empty argv, control characters and unlisted commands, naming the problem", () => {
    expect(refusal([], DEFAULT_INSPECT_COMMANDS)).toBe("no command");
    expect(refusal(["ls", "x\ntouch /tmp/pwned"], DEFAULT_INSPECT_COMMANDS)).toBe(
      "control character in argument 2",
    );
    expect(refusal(["rm", "-rf", "/tmp/x"], DEFAULT_INSPECT_COMMANDS)).toBe(
      "command not allowed: rm -rf /tmp/x",
    );
    expect(refusal(["systemctl", "restart", "jellyfin"], DEFAULT_INSPECT_COMMANDS)).toMatch(/not allowed/);
    expect(refusal(["systemctl", "status", "jellyfin"], DEFAULT_INSPECT_COMMANDS)).toBeUndefined();
    expect(refusal(["df"], DEFAULT_INSPECT_COMMANDS)).toBeUndefined();
  });

  it("encodes each argument as padded base64 joined by one space, an empty one as -", () => {
    expect(encodeArgv(["systemctl", "status", "jellyfin"])).toBe("c3lzdGVtY3Rs c3RhdHVz amVsbHlmaW4=");
    expect(encodeArgv(["ls", "", "a b"])).toBe(harnessEncode(["ls", "", "a b"]));
    expect(encodeArgv(["ls", ""])).toBe("bHM= -");
  });
});

describe("hosts.* and inspect.* in the config", () => {
  it("requires the key and the known hosts once a host is set, and checks host names", () => {
    expect(() => parseConfig({ hosts: { "media-01": { address: "10.0.0.5" } } })).toThrow(
      /inspect\.sshKeyFile: required when hosts are set[\s\S]*inspect\.knownHostsFile: required/,
    );
    expect(() =>
      parseConfig({
        hosts: { "media 01": { address: "10.0.0.5" } },
        inspect: { sshKeyFile: "k", knownHostsFile: "kh" },
      }),
    ).toThrow(/hosts\.media 01: a host name is/);
    expect(() =>
      parseConfig({
        hosts: { "media-01": { address: "-oProxyCommand=x" } },
        inspect: { sshKeyFile: "k", knownHostsFile: "kh" },
      }),
    ).toThrow(/hosts\.media-01\.address/);
    expect(() => parseConfig({ inspect: { commands: ["ls\n*"] } })).toThrow(/control characters/);
    const c = parseConfig({
      hosts: { "media-01": { address: "10.0.0.5" } },
      inspect: { sshKeyFile: "k", knownHostsFile: "kh" },
    });
    expect(c.hosts["media-01"]).toEqual({ address: "10.0.0.5", port: 22, user: "healer-inspect" });
    expect(c.inspect).toMatchObject({ timeoutSeconds: 30, maxOutputBytes: 32768 });
    expect(c.inspect.commands).toEqual(DEFAULT_INSPECT_COMMANDS);
  });

  it("runs ssh with the protocol's options and no shell word but the encoded argv", () => {
    const c: InspectConfig = {
      hosts: { "media-01": { address: "10.0.0.5", port: 2222, user: "healer-inspect" } },
      inspect: {
        sshKeyFile: "/run/credentials/key",
        knownHostsFile: "/run/credentials/known",
        commands: [...DEFAULT_INSPECT_COMMANDS],
        timeoutSeconds: 30,
        maxOutputBytes: 65536,
      },
    };
    expect(sshArgv(c, "media-01", ["ls", "/"])).toEqual([
      "-F",
      "none",
      "-T",
      "-i",
      "/run/credentials/key",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=/run/credentials/known",
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "ConnectTimeout=10",
      "-p",
      "2222",
      "-l",
      "healer-inspect",
      "--",
      "10.0.0.5",
      "bHM= Lw==",
    ]);
  });
});

const skip = sshdSkipReason();
if (skip) console.log(skip);

describe.skipIf(skip !== undefined)("the Inspector against a real sshd", () => {
  const dir = mkdtempSync(join(tmpdir(), "inspector-"));
  const scratch = join(dir, "scratch");
  const marker = join(scratch, "pwned");
  const big = join(dir, "big.txt");
  let sshd: Sshd;
  let config: InspectConfig;
  let inspector: Inspector;
  /** Allowed on both sides for these tests only: a big file, a slow command, one the host refuses. */
  const testCommands = [...DEFAULT_INSPECT_COMMANDS, "cat *", "sleep *"];

  beforeAll(async () => {
    mkdirSync(scratch);
    chmodSync(scratch, 0o777);
    writeFileSync(join(scratch, "jellyfin.log"), "ffmpeg: Permission denied\n", { mode: 0o644 });
    writeFileSync(big, `${"0123456789abcdef".repeat(64)}\n`.repeat(10 * 1024), { mode: 0o644 });
    // The host's own list lacks `cat *` for .secret files: the host refuses what the healer allows.
    const forced = installInspectProgram(dir, [...DEFAULT_INSPECT_COMMANDS, `cat ${big}`, "sleep *"]);
    sshd = await startSshd({ dir, forcedCommand: forced });
    config = {
      hosts: {
        "media-01": { address: "127.0.0.1", port: sshd.port, user: sshd.user },
        "nas-01": { address: "127.0.0.1", port: await freePort(), user: sshd.user },
      },
      inspect: {
        sshKeyFile: sshd.clientKey,
        knownHostsFile: sshd.knownHostsFile,
        commands: testCommands,
        timeoutSeconds: 10,
        maxOutputBytes: 65536,
      },
    };
    inspector = createInspector(config, log);
  });

  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs an allowed command on the host and returns its real output and exit code", async () => {
    expect(inspector.hosts()).toEqual(["media-01", "nas-01"]);
    const ls = await inspector.run("media-01", ["ls", "-l", scratch]);
    expect(ls.ok, JSON.stringify(ls)).toBe(true);
    if (!ls.ok) return;
    expect(ls.exitCode).toBe(0);
    expect(ls.stdout).toContain("jellyfin.log");
    expect(ls.truncated).toBe(false);
    expect(ls.bytes).toBe(Buffer.byteLength(ls.stdout) + Buffer.byteLength(ls.stderr));
    const id = await inspector.run("media-01", ["id"]);
    expect(id.ok && id.stdout).toContain(`(${sshd.user})`);
    // A failing command is an answer, not a channel error: its exit code and stderr come back.
    const missing = await inspector.run("media-01", ["ls", join(scratch, "nope")]);
    expect(missing).toMatchObject({ ok: true, exitCode: 2 });
    expect(missing.ok && missing.stderr).toMatch(/No such file/);
  });

  it("refuses unknown hosts and unlisted commands locally, before any connection", async () => {
    const logins = () => sshd.log().match(/Accepted publickey/g)?.length ?? 0;
    const before = logins();
    const cases: [string, string[], RegExp][] = [
      ["nas-02", ["ls"], /^unknown host nas-02: the configured hosts are media-01, nas-01$/],
      ["media-01", ["rm", "-rf", marker], /^refused: command not allowed: rm -rf .* \(inspect\.commands\)$/],
      ["media-01", ["ls", `x\ntouch ${marker}`], /^refused: control character in argument 2/],
      ["media-01", [], /^refused: no command/],
    ];
    for (const [host, argv, error] of cases) {
      const r = await inspector.run(host, argv);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(error);
    }
    expect(logins()).toBe(before);
    expect(existsSync(marker)).toBe(false);
  });

  it("passes on the host's own refusal (exit 125) as one line", async () => {
    const r = await inspector.run("media-01", ["cat", "/etc/shadow"]);
    expect(r).toMatchObject({ ok: false });
    if (!r.ok)
      expect(r.error).toMatch(
        /^refused by media-01 \(127\.0\.0\.1:\d+\): command not allowed: cat \/etc\/shadow$/,
      );
    // Shell syntax travels as data; the host refuses it, nothing runs.
    const shell = await inspector.run("media-01", ["journalctl", "-u", `$(touch ${marker})`]);
    expect(shell.ok).toBe(false);
    if (!shell.ok) expect(shell.error).toMatch(/^refused by media-01 .*: shell syntax in argument 3/);
    expect(existsSync(marker)).toBe(false);
  });

  it("caps the output: 10 MB come back as the first maxOutputBytes, marked cut", async () => {
    const r = await inspector.run("media-01", ["cat", big]);
    expect(r.ok, JSON.stringify(r).slice(0, 300)).toBe(true);
    if (!r.ok) return;
    expect(r.truncated).toBe(true);
    expect(r.exitCode).toBe(141);
    expect(r.bytes).toBe(65536);
    expect(r.stdout.length).toBeLessThanOrEqual(65536);
    expect(r.stdout.startsWith("0123456789abcdef")).toBe(true);
    expect(r.stderr).toMatch(/^inspect: output cut at 65536 bytes \(inspect\.maxOutputBytes\)/m);
  });

  it("times out a command that outlasts inspect.timeoutSeconds", async () => {
    const slow = createInspector({ ...config, inspect: { ...config.inspect, timeoutSeconds: 2 } }, log, {
      killGraceMs: 500,
    });
    const r = await slow.run("media-01", ["sleep", "30"]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/^timed out after 2s \(inspect\.timeoutSeconds\): sleep 30 on media-01/);
      expect(r.ms).toBeLessThan(20_000);
    }
  });

  it("answers a closed port, an unknown host key and a changed host key with one line each", async () => {
    const closed = await inspector.run("nas-01", ["ls"]);
    expect(closed.ok).toBe(false);
    if (!closed.ok)
      expect(closed.error).toMatch(/^host unreachable: nas-01 \(127\.0\.0\.1:\d+\): .*Connection refused/);

    const empty = join(dir, "known_hosts.empty");
    writeFileSync(empty, "");
    const unknown = await createInspector(
      { ...config, inspect: { ...config.inspect, knownHostsFile: empty } },
      log,
    ).run("media-01", ["ls"]);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok)
      expect(unknown.error).toMatch(/^unknown host key for media-01 .*inspect\.knownHostsFile/);

    const other = join(dir, "other_host_key");
    const otherKey = makeKeyPair(other, "not the host");
    const changed = join(dir, "known_hosts.changed");
    writeFileSync(changed, `[127.0.0.1]:${sshd.port} ${otherKey.split(" ").slice(0, 2).join(" ")}\n`);
    const mismatch = await createInspector(
      { ...config, inspect: { ...config.inspect, knownHostsFile: changed } },
      log,
    ).run("media-01", ["ls"]);
    expect(mismatch.ok).toBe(false);
    if (!mismatch.ok) expect(mismatch.error).toMatch(/^host key mismatch for media-01 /);
    for (const r of [closed, unknown, mismatch]) if (!r.ok) expect(r.error).not.toContain("\n");
  });

  it("says so when the host does not accept the key", async () => {
    const stranger = join(dir, "stranger");
    makeKeyPair(stranger);
    const r = await createInspector(
      { ...config, inspect: { ...config.inspect, sshKeyFile: stranger } },
      log,
    ).run("media-01", ["ls"]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^login refused by media-01 .*authorizedKeys/);
  });
});
