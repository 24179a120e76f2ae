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
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { DEFAULT_INSPECT_COMMANDS } from "../../src/hosts/commands.js";
import { freePort } from "../support/daemons.js";
import { type MockLlm, type MockTurn, startMockLlm } from "../support/mock-llm.js";
import {
  JELLYFIN_ALERT as JELLYFIN,
  jellyfinRepairTurns,
  OPENCODE,
  realOpencodeAgent,
} from "../support/real-opencode.js";
import { type Healer, startHealer } from "../support/serve.js";
import { installInspectProgram, type Sshd, sshdSkipReason, startSshd } from "../support/sshd.js";

/*
 * Issue 20 end to end: the Jellyfin alert on media-01 reaches the real OpenCode (scripted model) in
 * its bubblewrap sandbox behind the egress allowlist, and the agent inspects media-01 — Debian's real
 * sshd on 127.0.0.1 with the real host program as the forced command — through `inspect` and the
 * run's broker. This machine has no systemd running, so `systemctl status jellyfin` answers what
 * systemctl says without it: still the host's real output, which must reach the model.
 */

const HAS_BWRAP = ["/usr/bin/bwrap", "/bin/bwrap"].some((p) => existsSync(p));
const skip = sshdSkipReason();
if (skip) console.log(skip);

const bash = (command: string): MockTurn => ({
  tools: [{ name: "bash", args: { command, description: "x" } }],
});

describe.runIf(OPENCODE !== undefined && HAS_BWRAP && skip === undefined)(
  "the real OpenCode inspects the incident's host through the broker",
  () => {
    let h: Healer;
    let mock: MockLlm;
    let sshd: Sshd;
    const stateDir = mkdtempSync(join(tmpdir(), "healer-inspect-"));
    const worktree = join(stateDir, "worktrees", "incident-1");
    const nix = join(worktree, "hosts/media-01/default.nix");
    const prBody = join(stateDir, "runs", "1", "pr-body.md");
    // The target's files, readable by its user; outside /tmp, so a command the sandbox's own shell
    // ran would see them too (read-only there).
    const target = mkdtempSync(join("/var/tmp", "healer-inspect-target-"));
    const scratch = join(target, "scratch");
    const marker = join(scratch, "pwned");
    const victim = join(scratch, "victim");
    const big = join(target, "big.txt");
    const credentials = mkdtempSync(join("/var/tmp", "healer-inspect-creds-"));
    const keyFile = join(credentials, "inspect-key");
    const commands = [...DEFAULT_INSPECT_COMMANDS, `cat ${big}`];

    beforeAll(async () => {
      chmodSync(target, 0o755);
      mkdirSync(scratch);
      chmodSync(scratch, 0o777);
      writeFileSync(join(scratch, "jellyfin-transcode.log"), "ffmpeg: Permission denied\n", { mode: 0o644 });
      writeFileSync(victim, "still here\n", { mode: 0o666 });
      writeFileSync(big, `${"0123456789abcdef".repeat(64)}\n`.repeat(10 * 1024), { mode: 0o644 });
      const sshDir = join(target, "sshd");
      mkdirSync(sshDir);
      sshd = await startSshd({ dir: sshDir, forcedCommand: installInspectProgram(sshDir, commands) });
      copyFileSync(sshd.clientKey, keyFile);
      chmodSync(keyFile, 0o600);
      mock = await startMockLlm([
        bash(`inspect media-01 ls -l ${scratch}`),
        bash("inspect media-01 systemctl status jellyfin"),
        // Refused by the lane (no pattern allows them) or by the channel; nothing may run on the host.
        bash(`inspect media-01 rm -rf ${victim}`),
        bash(`inspect media-01 journalctl -u x; touch ${marker}`),
        bash(`inspect media-01 journalctl -u "$(touch ${marker})"`),
        bash(`inspect media-01 ls "x\ntouch ${marker}"`),
        bash("inspect nas-02 ls"),
        // Channel problems: a stopped sshd, a host key not in the known hosts, 10 MB of output.
        bash("inspect nas-01 ls"),
        bash("inspect router-01 ls"),
        bash(`inspect media-01 cat ${big}`),
        // The key: outside the worktree (the lane denies it), and a secret path (the sandbox empties it).
        bash(`cat ${keyFile}`),
        ...jellyfinRepairTurns(
          nix,
          prBody,
          "# jellyfin: join the media group\n\n## What broke\nPermission denied.\n\n## Root cause\nNo media group.\n\n## Fix\nSupplementaryGroups.\n\n## How it was checked\ninspect media-01 ls.\n\n## Risk and rollback\nRevert.\n",
        ),
      ]);
      const closed = await freePort();
      h = await startHealer({
        stateDir,
        config: (b) => ({
          ...b,
          agent: realOpencodeAgent(mock.baseUrl),
          hosts: {
            "media-01": { address: "127.0.0.1", port: sshd.port, user: sshd.user },
            "nas-01": { address: "127.0.0.1", port: closed, user: sshd.user },
            "router-01": { address: "localhost", port: sshd.port, user: sshd.user },
          },
          // The default cut (32 KiB) is under OpenCode's own limit (50 KiB, past which it truncates): the model
          // sees our cut and its notice whole (a 64 KiB cut made this test fail one run in two).
          inspect: { sshKeyFile: keyFile, knownHostsFile: sshd.knownHostsFile, commands, timeoutSeconds: 20 },
        }),
      });
    }, 60_000);
    afterAll(async () => {
      await h?.stop();
      await mock?.close();
      await sshd?.stop();
      for (const d of [stateDir, target, credentials]) rmSync(d, { recursive: true, force: true });
    });

    it("gets real output, one-line refusals and channel errors, records each command, and opens the PR", {
      timeout: 240_000,
    }, async () => {
      expect((await h.post("openobserve", JELLYFIN)).status).toBe(202);
      type Detail = {
        incident: { state: string };
        runs: { outcome: string }[];
        events: { kind: string; run_id: number | null; message: string; data: Record<string, unknown> }[];
      };
      const detail = await h.waitFor(
        "the PR",
        async () => {
          const d = (await h.api<Detail>("/incidents/1")).body;
          return d.incident.state === "pr_open" || d.incident.state === "needs_human" ? d : undefined;
        },
        200_000,
      );
      const log = readFileSync(join(stateDir, "runs", "1", "agent.log"), "utf8");
      expect(detail.incident.state, log.slice(-3000)).toBe("pr_open");
      expect(detail.runs[0]!.outcome).toBe("pr_opened");

      // The tool result each command gave the model: the last tool message of the next request.
      const toolResult = (turn: number) => {
        const messages = (mock.requests[turn + 1]?.body.messages ?? []) as {
          role: string;
          content: unknown;
        }[];
        return String(messages.filter((m) => m.role === "tool").at(-1)?.content ?? "");
      };
      const denied = /rule which prevents you from using this specific tool call/;
      expect(toolResult(0)).toContain("jellyfin-transcode.log");
      expect(toolResult(1)).toContain("System has not been booted with systemd");
      expect(toolResult(2)).toMatch(denied);
      expect(toolResult(3)).toMatch(denied);
      const substituted = toolResult(4);
      const newline = toolResult(5);
      expect(toolResult(6)).toMatch(denied);
      expect(toolResult(7)).toMatch(
        /^inspect: host unreachable: nas-01 \(127\.0\.0\.1:\d+\): .*Connection refused/,
      );
      expect(toolResult(8)).toMatch(/^inspect: unknown host key for router-01 .*inspect\.knownHostsFile/);
      const cut = toolResult(9);
      expect(cut).toContain("0123456789abcdef");
      expect(cut).not.toContain("output truncated");
      expect(cut).toContain("inspect: output cut at 32768 bytes (inspect.maxOutputBytes)");
      // OpenCode denies reading outside the worktree; had it run, the sandbox shows an empty file.
      expect(toolResult(10)).toMatch(new RegExp(`${denied.source}|^\\s*$`));

      // OpenCode 1.18.33 sees the touch inside $(…) and denies it; the quoted newline matches the
      // lane's `inspect media-01 ls *`, and the broker refuses it before any connection.
      expect(substituted).toMatch(denied);
      expect(newline).toBe("inspect: refused: control character in argument 2 (inspect.commands)\n");
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(victim)).toBe(true);

      // No key material in anything the model was sent.
      const keyLines = readFileSync(keyFile, "utf8")
        .split("\n")
        .filter((l) => l.length > 20 && !l.startsWith("-----"));
      const sent = JSON.stringify(mock.requests.map((r) => r.body));
      for (const l of keyLines) expect(sent).not.toContain(l);

      // Each command that reached the broker is an `inspected` event of the run, in the audit trail.
      const inspected = detail.events.filter((e) => e.kind === "inspected");
      expect(inspected.length).toBeGreaterThanOrEqual(5);
      expect(inspected[0]!.run_id).not.toBeNull();
      expect(inspected[0]!.data).toMatchObject({
        host: "media-01",
        argv: ["ls", "-l", scratch],
        exitCode: 0,
      });
      expect(inspected[0]!.data.bytes).toBeGreaterThan(0);
      expect(typeof inspected[0]!.data.ms).toBe("number");
      const hosts = inspected.map((e) => e.data.host);
      expect(hosts).toEqual(expect.arrayContaining(["media-01", "nas-01", "router-01"]));
      expect(hosts).not.toContain("nas-02");
      expect(inspected.find((e) => e.data.argv?.toString() === `cat,${big}`)?.data).toMatchObject({
        exitCode: 141,
        bytes: 32768,
        truncated: true,
      });
      expect(log).toMatch(/# homelab-healer: inspect media-01 ls -l .*: exit 0, \d+ bytes, \d+ ms/);

      // `homelab-healer incident 1` shows them.
      const cliConfig = join(h.dir, "cli.json");
      const service = JSON.parse(readFileSync(join(h.dir, "config.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(
        cliConfig,
        JSON.stringify({ ...service, listen: { host: "127.0.0.1", port: Number(new URL(h.url).port) } }),
      );
      const out: string[] = [];
      const code = await runCli("incident", ["1", "--config", cliConfig], {
        env: { PATH: process.env.PATH ?? "" },
        stdout: (s: string) => void out.push(s),
        stderr: (s: string) => void out.push(s),
      });
      expect(code, out.join("")).toBe(0);
      expect(out.join("")).toMatch(/inspected\s+the agent inspected media-01: ls -l /);
      expect(out.join("")).toMatch(
        /inspected\s+the agent's inspect nas-01: ls got no output: host unreachable/,
      );

      // What OpenCode told the model about other hosts.
      const firstPrompt = JSON.stringify(mock.requests[0]!.body.messages);
      expect(firstPrompt).toContain("The incident is on host media-01");
      expect(firstPrompt).toContain("inspect <host> <command>");
    });
  },
);
