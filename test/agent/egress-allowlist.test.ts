import { describe, expect, it } from "vitest";
import {
  allowed,
  buildAllowlist,
  modelDestinations,
  parseHostPattern,
} from "../../src/agent/egress/allowlist.js";
import { networkWarning } from "../../src/agent/egress/warning.js";
import { buildOpencodeConfig } from "../../src/agent/opencode-config.js";
import { ConfigError, parseConfig } from "../../src/config/load.js";

describe("agent.allowedHosts patterns", () => {
  it("parses host, host:port, host:*, *.domain and [v6]:port; a bare host means port 443", () => {
    expect(parseHostPattern("Cache.NixOS.org")).toEqual({ host: "cache.nixos.org", port: 443 });
    expect(parseHostPattern("192.168.1.20:11434")).toEqual({ host: "192.168.1.20", port: 11434 });
    expect(parseHostPattern("ollama.lan:*")).toEqual({ host: "ollama.lan", port: "*" });
    expect(parseHostPattern("*.example.com:8443")).toEqual({ host: "*.example.com", port: 8443 });
    expect(parseHostPattern("[fd00::20]:11434")).toEqual({ host: "fd00::20", port: 11434 });
    for (const bad of ["http://x", "a b", "host:0", "host:70000", "*", "x.*.com", ""])
      expect(typeof parseHostPattern(bad), bad).toBe("string");
  });

  it("matches exactly: the port counts, and *.domain is only the subdomains", () => {
    const p = buildAllowlist([], ["*.example.com", "192.168.1.20:11434", "ollama.lan:*"]);
    expect(allowed(p, { host: "api.example.com", port: 443 })).toBe(true);
    expect(allowed(p, { host: "a.b.example.com", port: 443 })).toBe(true);
    expect(allowed(p, { host: "example.com", port: 443 })).toBe(false);
    expect(allowed(p, { host: "evilexample.com", port: 443 })).toBe(false);
    expect(allowed(p, { host: "api.example.com", port: 80 })).toBe(false);
    expect(allowed(p, { host: "192.168.1.20", port: 11434 })).toBe(true);
    expect(allowed(p, { host: "192.168.1.20", port: 22 })).toBe(false);
    expect(allowed(p, { host: "ollama.lan", port: 1 })).toBe(true);
  });

  it("is checked when the config is read", () => {
    expect(parseConfig({}).agent).toMatchObject({ network: "allowlist", allowedHosts: [] });
    expect(() => parseConfig({ agent: { allowedHosts: ["https://x.org"] } })).toThrow(ConfigError);
    expect(() => parseConfig({ agent: { network: "open" } })).toThrow(ConfigError);
  });
});

describe("the model's endpoints, from the effective OpenCode config", () => {
  const effective = (userConfig: Record<string, unknown>, model?: string) =>
    buildOpencodeConfig({ allowedCommands: [], userConfig, model, worktree: "/w" });

  it("takes every provider's baseURL (with its scheme's default port and {env:…} resolved)", () => {
    const cfg = effective({
      provider: {
        local: { options: { baseURL: "http://192.168.1.20:11434/v1" } },
        vllm: { options: { baseURL: "https://{env:VLLM_HOST}/v1" } },
        anthropic: { options: { baseURL: "https://api.anthropic.com/v1" } },
      },
    });
    expect(modelDestinations(cfg, { VLLM_HOST: "gpu.lan" })).toEqual([
      { host: "192.168.1.20", port: 11434 },
      { host: "gpu.lan", port: 443 },
      { host: "api.anthropic.com", port: 443 },
    ]);
  });

  it("adds the known endpoint of agent.model's provider when it has no baseURL, and nothing for an unknown one", () => {
    expect(modelDestinations(effective({}, "anthropic/claude-sonnet-4-5"))).toEqual([
      { host: "api.anthropic.com", port: 443 },
    ]);
    expect(modelDestinations(effective({ small_model: "openai/gpt-5-mini" }, "openrouter/x/y"))).toEqual([
      { host: "openrouter.ai", port: 443 },
      { host: "api.openai.com", port: 443 },
    ]);
    expect(modelDestinations(effective({}, "amazon-bedrock/claude"))).toEqual([]);
    // A provider with its own baseURL is reached there only.
    const proxied = effective(
      { provider: { openai: { options: { baseURL: "http://10.0.0.5:8080/v1" } } } },
      "openai/x",
    );
    expect(modelDestinations(proxied)).toEqual([{ host: "10.0.0.5", port: 8080 }]);
  });
});

describe("the network warning", () => {
  it("says what agent.network host and agent.sandbox none open; nothing for the allowlist", () => {
    expect(networkWarning({ network: "allowlist", sandbox: "bubblewrap" })).toBeUndefined();
    expect(networkWarning({ network: "host", sandbox: "bubblewrap" })).toMatch(
      /agent\.network is "host".*builtins\.fetchurl.*any address the host can.*LAN/,
    );
    expect(networkWarning({ network: "allowlist", sandbox: "none" })).toMatch(
      /unsandboxed on the host's network/,
    );
  });
});
