import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type MockTurn, mockProviderConfig } from "./mock-llm.js";

/**
 * The native OpenCode binary from npm (package opencode-<platform>-<arch>, which opencode-ai
 * installs): `node_modules/.bin/opencode` is a Node launcher in front of it, and running the ELF
 * directly inside bwrap keeps the PID namespace to OpenCode and its children. Undefined when the
 * package for this platform is not installed (the tests that need it are skipped).
 */
function opencodeBinary(): string | undefined {
  const nm = new URL("../../node_modules/", import.meta.url).pathname;
  const pkgs = readdirSync(nm).filter((n) => n.startsWith(`opencode-${process.platform}-${process.arch}`));
  // The plain build first; -baseline (no AVX2) and -musl are fallbacks.
  pkgs.sort((a, b) => a.length - b.length);
  return pkgs.map((p) => join(nm, p, "bin", "opencode")).find((p) => existsSync(p));
}

export const OPENCODE = opencodeBinary();

/** An OpenObserve alert body (Jellyfin's ffmpeg denied its media): the incident the real-agent tests repair. */
export const JELLYFIN_ALERT = readFileSync(
  new URL(
    "../fixtures/alerts/openobserve/recommended.jellyfin-ffmpeg-permission-denied.json",
    import.meta.url,
  ),
  "utf8",
);

/**
 * The scripted model's last turns of the Jellyfin repair: the edit to the host's Nix file (in the
 * run's worktree), the PR body written, a closing text. `body` is the PR body.
 */
export function jellyfinRepairTurns(nixFile: string, prBody: string, body: string): MockTurn[] {
  return [
    {
      tools: [
        {
          name: "edit",
          args: {
            filePath: nixFile,
            oldString: '    ReadOnlyPaths = [ "/mnt/media" ];',
            newString: '    ReadOnlyPaths = [ "/mnt/media" ];\n    SupplementaryGroups = [ "media" ];',
          },
        },
      ],
    },
    { tools: [{ name: "write", args: { filePath: prBody, content: body } }] },
    { text: "Added the media group to jellyfin." },
  ];
}

/** The `agent` config section that runs the native OpenCode against the scripted model at `baseUrl`. */
export function realOpencodeAgent(baseUrl: string): Record<string, unknown> {
  return {
    command: OPENCODE,
    model: "mock/mock-model",
    opencodeConfig: mockProviderConfig(baseUrl),
    idleTimeoutSeconds: 120,
    timeoutSeconds: 300,
  };
}
