import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../../src/agent/spawn.js";
import { type InspectedCommand, parseRequest, startInspectBroker } from "../../src/hosts/broker.js";
import { DEFAULT_INSPECT_COMMANDS } from "../../src/hosts/commands.js";
import { createInspector, type InspectConfig, type Inspector } from "../../src/hosts/inspect.js";
import { encodeArgv } from "../../src/hosts/wire.js";
import { HAS_BWRAP, type Lab, makeLab, pidsWith, scriptSpec } from "../agent/helpers.js";
import { freePort } from "../support/daemons.js";
import { installInspectProgram, type Sshd, sshdSkipReason, startSshd } from "../support/sshd.js";

/*
 * The run's inspection broker and the agent's `inspect` client (issue 20), with the plain script
 * agent inside the real bubblewrap sandbox (own network namespace: the egress allowlist) and Debian's
 * real sshd behind the broker. The agent runs `inspect` from its PATH without a shell; what a shell
 * would make of the text is the lane's business (see the real-OpenCode e2e test).
 */

const log = pino({ level: "silent" });

/** Sends one request line to a broker socket and resolves with the whole answer. */
function ask(socketPath: string, line: string): Promise<string> {
  return new Promise<string>((ok, fail) => {
    const s = connect(socketPath);
    let got = "";
    s.on("data", (d) => {
      got += d;
    });
    s.on("end", () => ok(got));
    s.on("error", fail);
    s.write(line);
  });
}

describe("the broker's wire", () => {
  it("parses {host, argv} and names what is wrong with anything else", () => {
    expect(parseRequest('{"host":"media-01","argv":["ls","/"]}')).toEqual({
      host: "media-01",
      argv: ["ls", "/"],
    });
    expect(parseRequest("ls /")).toBe("the request is not JSON");
    expect(parseRequest('{"argv":["ls"]}')).toBe("the request has no host");
    expect(parseRequest('{"host":"a","argv":"ls"}')).toBe("the request's argv is not a list of strings");
    expect(parseRequest('{"host":"a","argv":["ls",1]}')).toBe("the request's argv is not a list of strings");
  });
});

const skip = sshdSkipReason() ?? (HAS_BWRAP ? undefined : "inspect sandbox tests skipped: no bwrap");
if (skip) console.log(skip);

describe.skipIf(skip !== undefined)("inspect from inside the sandbox, through the run's broker", () => {
  let lab: Lab;
  let sshd: Sshd;
  let inspector: Inspector;
  let keyFile: string;
  let scratch: string;
  let big: string;
  let targetDir: string;
  const recorded: InspectedCommand[] = [];

  beforeAll(async () => {
    lab = makeLab();
    // The target's side (sshd, its keys, the files it reads) lives in /tmp, which the sandbox does not
    // see: what the agent could find there would be the test's fixtures, not the healer's key.
    targetDir = mkdtempSync(join(tmpdir(), "inspect-broker-"));
    chmodSync(targetDir, 0o755);
    scratch = join(targetDir, "scratch");
    mkdirSync(scratch);
    chmodSync(scratch, 0o777);
    writeFileSync(join(scratch, "jellyfin.log"), "ffmpeg: Permission denied\n", { mode: 0o644 });
    big = join(targetDir, "big.txt");
    writeFileSync(big, `${"0123456789abcdef".repeat(64)}\n`.repeat(10 * 1024), { mode: 0o644 });
    const sshDir = join(targetDir, "sshd");
    mkdirSync(sshDir);
    sshd = await startSshd({
      dir: sshDir,
      forcedCommand: installInspectProgram(sshDir, [...DEFAULT_INSPECT_COMMANDS, `cat ${big}`, "sleep *"]),
    });
    // Where the service would keep the key: a secret path, which the sandbox hides.
    mkdirSync(join(lab.root, "credentials"));
    keyFile = join(lab.root, "credentials", "inspect-key");
    copyFileSync(sshd.clientKey, keyFile);
    chmodSync(keyFile, 0o600);
    const config: InspectConfig = {
      hosts: {
        "media-01": { address: "127.0.0.1", port: sshd.port, user: sshd.user },
        // Nothing listens there: a stopped sshd.
        "nas-01": { address: "127.0.0.1", port: await freePort(), user: sshd.user },
        // Its key is not in the known hosts under this name.
        "router-01": { address: "localhost", port: sshd.port, user: sshd.user },
      },
      inspect: {
        sshKeyFile: keyFile,
        knownHostsFile: sshd.knownHostsFile,
        commands: [...DEFAULT_INSPECT_COMMANDS, "cat *", "sleep *"],
        timeoutSeconds: 15,
        maxOutputBytes: 65536,
      },
    };
    inspector = createInspector(config, log);
  });

  afterAll(async () => {
    await sshd?.stop();
    lab?.cleanup();
    if (targetDir) rmSync(targetDir, { recursive: true, force: true });
  });

  it("gives the agent real output, one-line refusals and channel errors, with no key in sight", {
    timeout: 90_000,
  }, async () => {
    const marker = join(scratch, "pwned");
    const victim = join(scratch, "victim");
    writeFileSync(victim, "still here\n", { mode: 0o666 });
    // A decoy proves the search below would find key text where the agent can see it.
    writeFileSync(join(lab.root, "decoy.txt"), "-----BEGIN OPENSSH PRIVATE KEY----- (decoy)\n");
    const argvs = [
      ["media-01", "ls", "-l", scratch],
      ["media-01", "id"],
      ["media-01", "rm", "-rf", victim],
      ["media-01", "journalctl", "-u", "x;", "touch", marker],
      ["media-01", "journalctl", "-u", `$(touch ${marker})`],
      ["media-01", "ls", `x\ntouch ${marker}`],
      ["nas-02", "ls"],
      ["nas-01", "ls"],
      ["router-01", "ls"],
      ["media-01", "cat", big],
      ["media-01"],
    ];
    const spec = scriptSpec(
      lab,
      "inspect",
      ["inspect.json", JSON.stringify(argvs), JSON.stringify([lab.root, "/tmp"]), "PRIVATE KEY"],
      {
        config: { secretPaths: [join(lab.root, "credentials")], network: "allowlist" },
        inspect: {
          inspector,
          commands: [...DEFAULT_INSPECT_COMMANDS, "cat *"],
          onInspected: async (c) => void recorded.push(c),
        },
      },
    );
    const result = await runAgent(spec);
    expect(result.exitCode, readFileSync(result.logPath, "utf8")).toBe(0);
    const out = JSON.parse(readFileSync(join(lab.worktree, "inspect.json"), "utf8")) as {
      env: Record<string, string>;
      runs: { argv: string[]; status: number; stdout: string; stderr: string; error?: string }[];
      found: string[];
    };
    const [ls, id, rm, split, subst, newline, unknown, stopped, hostKey, huge, usage] = out.runs;

    expect(ls, JSON.stringify(ls)).toMatchObject({ status: 0 });
    expect(ls!.stdout).toContain("jellyfin.log");
    expect(id!.stdout).toContain(`(${sshd.user})`);

    const oneLine = (r: typeof ls, re: RegExp) => {
      expect(r!.status, JSON.stringify(r)).toBe(125);
      expect(r!.stdout).toBe("");
      expect(r!.stderr).toMatch(re);
      expect(r!.stderr.trimEnd().split("\n")).toHaveLength(1);
    };
    oneLine(rm, /^inspect: refused: command not allowed: rm -rf /);
    oneLine(split, /^inspect: refused by media-01 \(127\.0\.0\.1:\d+\): shell syntax in argument 3/);
    oneLine(subst, /^inspect: refused by media-01 .*: shell syntax in argument 3/);
    oneLine(newline, /^inspect: refused: control character in argument 2/);
    oneLine(
      unknown,
      /^inspect: unknown host nas-02: the configured hosts are media-01, nas-01, router-01\n$/,
    );
    oneLine(stopped, /^inspect: host unreachable: nas-01 /);
    oneLine(hostKey, /^inspect: unknown host key for router-01 .*inspect\.knownHostsFile/);
    oneLine(usage, /^inspect: usage: inspect <host> <command>/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(victim)).toBe(true);

    expect(huge!.status).toBe(141);
    // The first 65536 bytes, then the notice on the same stream, after them.
    const [cut, notice] = [huge!.stdout.slice(0, 65536), huge!.stdout.slice(65536)];
    expect(Buffer.byteLength(cut)).toBe(65536);
    expect(notice).toMatch(/^\n?inspect: output cut at 65536 bytes/);
    expect(huge!.stderr).toBe("");

    // No key material where the agent can look: its environment, the lab (state dir, worktree,
    // credentials folder, run dir with the broker's socket and client), its /tmp. The decoy is found.
    const key = readFileSync(keyFile, "utf8");
    expect(out.found).toEqual([join(lab.root, "decoy.txt")]);
    expect(JSON.stringify(out.env)).not.toContain(key.split("\n")[1]!);
    expect(out.env.PATH?.split(":")[0]).toBe(join(lab.runDir, "bin"));

    // Every request through the broker is recorded (the usage error never reached it) and logged.
    expect(recorded.map((c) => c.host)).toEqual(argvs.slice(0, -1).map((a) => a[0]));
    expect(recorded[0]).toMatchObject({
      host: "media-01",
      argv: ["ls", "-l", scratch],
      exitCode: 0,
      truncated: false,
    });
    expect(recorded[0]!.bytes).toBeGreaterThan(0);
    expect(recorded[0]!.ms).toBeGreaterThanOrEqual(0);
    expect(recorded[2]).toMatchObject({ exitCode: null, error: expect.stringMatching(/^refused: /) });
    expect(recorded[9]).toMatchObject({ exitCode: 141, bytes: 65536, truncated: true });
    const agentLog = readFileSync(result.logPath, "utf8");
    expect(agentLog).toMatch(/# homelab-healer: inspect media-01 ls -l .*: exit 0, \d+ bytes, \d+ ms/);
    expect(agentLog).toMatch(/# homelab-healer: inspect nas-02 ls: unknown host nas-02/);
    // The broker is gone with the run.
    expect(existsSync(join(lab.runDir, "inspect.sock"))).toBe(false);
  });

  it("runs at most 4 commands of a run on the hosts at once; the rest wait their turn", async () => {
    const dir = join(lab.root, "turns");
    mkdirSync(dir, { recursive: true });
    const broker = await startInspectBroker({
      socketPath: join(dir, "inspect.sock"),
      inspector,
      onInspected: async () => {},
      note: () => {},
    });
    const argv = ["sleep", "1.5"];
    const needle = encodeArgv(argv);
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, pidsWith(needle).length);
    }, 50);
    try {
      const answers = await Promise.all(
        Array.from({ length: 7 }, () =>
          ask(broker.socketPath, `${JSON.stringify({ host: "media-01", argv })}\n`),
        ),
      );
      for (const a of answers) expect(JSON.parse(a)).toMatchObject({ exitCode: 0 });
    } finally {
      clearInterval(sampler);
      await broker.close();
    }
    // Never more than 4 at once (without the limit all 7 would run together); more than one at once
    // shows they do run side by side. Exactly 4 is what an idle machine samples, but a sampler on a
    // loaded one can miss the moment all four ssh clients are alive.
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
  });

  it("answers a malformed request on the socket with one error line", async () => {
    const dir = join(lab.root, "raw");
    mkdirSync(dir, { recursive: true });
    const notes: string[] = [];
    const broker = await startInspectBroker({
      socketPath: join(dir, "inspect.sock"),
      inspector,
      onInspected: async () => {},
      note: (l) => notes.push(l),
    });
    try {
      const answer = await ask(broker.socketPath, "rm -rf /\n");
      expect(JSON.parse(answer)).toEqual({ error: "bad request: the request is not JSON" });
      expect(notes).toEqual(["inspect: bad request: the request is not JSON"]);
    } finally {
      await broker.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
