import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validate } from "../../src/runs/validate.js";
import { HAS_BWRAP, type Lab, makeLab } from "../agent/helpers.js";
import { testConfig } from "../support/app.js";
import { close, type Listener, listen } from "../support/listener.js";

const HAS_CURL = spawnSync("curl", ["--version"]).status === 0;

/*
 * The validation evaluates the agent's change: a `builtins.fetchurl` the agent wrote into a .nix
 * file, with what it read in the URL, must not reach anything the agent could not reach itself.
 */
describe.runIf(HAS_BWRAP && HAS_CURL)("validation behind the egress allowlist", () => {
  let lab: Lab;
  let leak: Listener | undefined;
  let allowed: Listener | undefined;
  beforeEach(async () => {
    lab = makeLab();
    mkdirSync(join(lab.runDir, "home"), { recursive: true });
    leak = await listen("leaked");
    allowed = await listen("allowed ok");
  });
  afterEach(async () => {
    await close(leak);
    await close(allowed);
    lab.cleanup();
  });

  const run = (network: "allowlist" | "host", script: string) =>
    validate(
      {
        config: testConfig(
          {
            validate: { command: ["sh", "-c", script] },
            agent: { network, allowedHosts: [`127.0.0.1:${allowed!.port}`] },
          },
          "postgres://127.0.0.1:1/unused",
          lab.stateDir,
        ),
        servicePath: process.env.PATH ?? "/usr/bin:/bin",
      },
      { worktree: lab.worktree, runDir: lab.runDir, signal: new AbortController().signal },
    );

  it("goes out only through a proxy of its own: agent.allowedHosts pass, the rest is refused and counted", async () => {
    const r = await run(
      "allowlist",
      [
        `curl -sS -m 10 'http://127.0.0.1:${leak!.port}/v?d=secret'`,
        `curl -sS -m 5 --noproxy '*' http://127.0.0.1:${leak!.port}/direct`,
        `curl -sS -m 10 http://127.0.0.1:${allowed!.port}/ok`,
        'echo " NIX_CONFIG=$NIX_CONFIG"',
      ].join("; "),
    );

    expect(r.result).toBe("passed");
    expect(leak!.connections).toBe(0);
    expect(allowed!.connections).toBe(1);
    expect(r.output).toContain(`127.0.0.1:${leak!.port} is not in this run's egress allowlist`);
    expect(r.output).toMatch(/Failed to connect|Couldn't connect/);
    expect(r.output).toContain("allowed ok");
    expect(r.output).toContain(" NIX_CONFIG=allow-import-from-derivation = false");
    expect(r.egressRefused).toEqual([{ destination: `127.0.0.1:${leak!.port}`, count: 1 }]);
    const log = readFileSync(join(lab.runDir, "validate.log"), "utf8");
    expect(log).toContain(`egress refused: 127.0.0.1:${leak!.port} is not in the allowlist`);
    expect(log).toContain(`egress refused 127.0.0.1:${leak!.port} 1 time(s)`);
  });

  it("with agent.network host it has the host's network, as before, and no proxy", async () => {
    const r = await run(
      "host",
      `curl -sS -m 10 http://127.0.0.1:${leak!.port}/v; echo " proxy=$HTTPS_PROXY"`,
    );
    expect(r.result).toBe("passed");
    expect(r.output).toContain("leaked");
    expect(r.output).toContain(" proxy=\n");
    expect(leak!.connections).toBe(1);
    expect(r.egressRefused).toEqual([]);
  });
});
