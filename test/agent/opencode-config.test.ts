import { describe, expect, it } from "vitest";
import { NIX_OVERRIDE_DENIED } from "../../src/agent/egress/nix.js";
import { buildOpencodeConfig } from "../../src/agent/opencode-config.js";
import { DEFAULT_ALLOWED_COMMANDS } from "../../src/config/schema.js";

const worktree = "/var/lib/homelab-healer/worktrees/incident-7";

/** Every action anywhere in a permission block. */
function actions(permission: unknown): string[] {
  if (typeof permission === "string") return [permission];
  return Object.values(permission as Record<string, unknown>).flatMap(actions);
}

describe("buildOpencodeConfig", () => {
  it("gives every tool an explicit action and leaves nothing at ask", () => {
    const config = buildOpencodeConfig({
      allowedCommands: DEFAULT_ALLOWED_COMMANDS,
      userConfig: {},
      worktree,
    });
    const permission = config.permission as Record<string, unknown>;
    expect(actions(permission)).not.toContain("ask");
    expect(new Set(actions(permission))).toEqual(new Set(["allow", "deny"]));
    expect(Object.keys(permission)[0]).toBe("*");
    expect(permission["*"]).toBe("deny");
    for (const key of ["read", "edit", "glob", "grep", "list", "todowrite", "todoread"]) {
      expect(permission[key], key).toBe("allow");
    }
    for (const key of [
      "webfetch",
      "websearch",
      "codesearch",
      "task",
      "skill",
      "lsp",
      "doom_loop",
      "question",
    ]) {
      expect(permission[key], key).toBe("deny");
    }
    expect(permission.external_directory).toEqual({ "*": "deny" });
    const bash = permission.bash as Record<string, string>;
    expect(Object.entries(bash)[0]).toEqual(["*", "deny"]);
    expect(bash["journalctl *"]).toBe("allow");
    expect(Object.keys(bash)).toHaveLength(DEFAULT_ALLOWED_COMMANDS.length + 1);
    expect(config).toMatchObject({ autoupdate: false, share: "disabled", snapshot: false });
  });

  it("puts the denied commands after the allowed ones, so they win where both match", () => {
    const config = buildOpencodeConfig({
      allowedCommands: ["nix eval *"],
      deniedCommands: NIX_OVERRIDE_DENIED,
      userConfig: {},
      worktree,
    });
    const bash = (config.permission as Record<string, unknown>).bash as Record<string, string>;
    expect(Object.entries(bash)).toEqual([
      ["*", "deny"],
      ["nix eval *", "allow"],
      ...NIX_OVERRIDE_DENIED.map((p) => [p, "deny"]),
    ]);
  });

  it("allows writing only in the named external dirs", () => {
    const config = buildOpencodeConfig({
      allowedCommands: [],
      userConfig: {},
      worktree,
      externalDirs: ["/var/lib/homelab-healer/runs/7/"],
    });
    expect((config.permission as Record<string, unknown>).external_directory).toEqual({
      "*": "deny",
      "/var/lib/homelab-healer/runs/7/*": "allow",
    });
  });

  it("keeps the owner's providers, agents and instructions but never their permissions", () => {
    const userConfig = {
      model: "ollama/qwen3",
      provider: { ollama: { npm: "@ai-sdk/openai-compatible", options: { baseURL: "http://gpu:11434/v1" } } },
      instructions: ["/etc/healer/rules.md"],
      permission: "allow",
      tools: { bash: true, webfetch: true },
      plugin: ["opencode-auto-approve"],
      share: "auto",
      autoupdate: true,
      snapshot: true,
      agent: {
        build: { prompt: "be careful", permission: { bash: "allow" }, tools: { webfetch: true } },
        fixer: { mode: "primary", permission: "allow" },
      },
      mode: { old: { permission: { "*": "allow" } } },
    };
    const config = buildOpencodeConfig({ allowedCommands: ["git status*"], userConfig, worktree });
    expect(config.provider).toEqual(userConfig.provider);
    expect(config.instructions).toEqual(["/etc/healer/rules.md"]);
    expect(config.model).toBe("ollama/qwen3");
    expect(config.agent).toEqual({ build: { prompt: "be careful" }, fixer: { mode: "primary" } });
    expect(config.mode).toEqual({ old: {} });
    expect(config).not.toHaveProperty("tools");
    expect(config).not.toHaveProperty("plugin");
    expect(config).toMatchObject({ share: "disabled", autoupdate: false, snapshot: false });
    const permission = config.permission as Record<string, unknown>;
    expect(permission.bash).toEqual({ "*": "deny", "git status*": "allow" });
    expect(permission.webfetch).toBe("deny");
    expect(JSON.stringify(config)).not.toMatch(/"permission":"allow"/);
  });

  it("takes agent.model over the owner's model", () => {
    const config = buildOpencodeConfig({
      allowedCommands: [],
      userConfig: { model: "a/b", provider: { a: { options: { timeout: 1 } } } },
      model: "vllm/big",
      worktree,
    });
    expect(config.model).toBe("vllm/big");
    expect(config.provider).toEqual({ a: { options: { timeout: 1 } } });
  });
});
