import { describe, expect, it } from "vitest";
import { bundledOpencode, resolveAgentCommand, withResolvedAgent } from "../../src/agent/bundled.js";
import { OPENCODE } from "../support/real-opencode.js";

// agent.command's default `opencode` falls back to the OpenCode `npm ci` installed
// (opencode-<platform>-<arch>) when the PATH has none; anything else is left alone.
describe("the bundled OpenCode", () => {
  const nowhere = () => undefined;
  const bundled = () => "/pkg/node_modules/opencode-linux-x64/bin/opencode";

  it("is the installed opencode-<platform>-<arch> package's binary, found from the program's location", () => {
    // OPENCODE is the test support's own lookup in node_modules; undefined where npm skipped it.
    expect(bundledOpencode()).toBe(OPENCODE);
  });

  it("replaces the default `opencode` only when the PATH has none", () => {
    expect(resolveAgentCommand("opencode", nowhere, bundled)).toBe(bundled());
    expect(resolveAgentCommand("opencode", (n) => `/usr/bin/${n}`, bundled)).toBe("opencode");
  });

  it("leaves any other command alone, found or not", () => {
    expect(resolveAgentCommand("/opt/agent/bin/agent", nowhere, bundled)).toBe("/opt/agent/bin/agent");
    expect(resolveAgentCommand("my-agent", nowhere, bundled)).toBe("my-agent");
  });

  it("keeps `opencode` (and doctor's not-found line) when the package is not installed", () => {
    expect(resolveAgentCommand("opencode", nowhere, () => undefined)).toBe("opencode");
  });

  it("changes only agent.command in the config, and returns the same config when nothing changes", () => {
    const config = { agent: { command: "opencode", model: "m/m" }, stateDir: "/s" };
    const onPath = (n: string) => `/usr/bin/${n}`;
    expect(withResolvedAgent(config, onPath)).toBe(config);
    const resolved = withResolvedAgent(config, nowhere);
    expect(resolved).toEqual(
      OPENCODE === undefined ? config : { agent: { command: OPENCODE, model: "m/m" }, stateDir: "/s" },
    );
    expect(config.agent.command).toBe("opencode");
  });
});
