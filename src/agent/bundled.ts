import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** `agent.command`'s default: OpenCode, looked up on the service's PATH. */
export const DEFAULT_AGENT_COMMAND = "opencode";

/**
 * The npm package holding OpenCode's native binary for this platform, as `npm ci` installs it (the
 * optional dependency package-lock.json pins: `opencode-linux-x64` on the test machines).
 */
export const BUNDLED_OPENCODE_PACKAGE = `opencode-${process.platform}-${process.arch}`;

/**
 * The OpenCode binary of the installed `opencode-<platform>-<arch>` package, resolved from this
 * module's own location (never the working directory); undefined when the package is not installed
 * (the Nix package prunes it: there the module's agentPackage is the agent) or not executable.
 */
export function bundledOpencode(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve(`${BUNDLED_OPENCODE_PACKAGE}/package.json`);
    const binary = join(dirname(manifest), "bin", "opencode");
    accessSync(binary, constants.X_OK);
    return binary;
  } catch {
    return undefined;
  }
}

/**
 * The agent command to run: `command` itself, except that the default `opencode`, when `onPath`
 * finds no `opencode`, becomes the bundled binary (the exact version the tests ran) if installed.
 */
export function resolveAgentCommand(
  command: string,
  onPath: (name: string) => string | undefined,
  bundled: () => string | undefined = bundledOpencode,
): string {
  if (command !== DEFAULT_AGENT_COMMAND || onPath(command) !== undefined) return command;
  return bundled() ?? command;
}

/** The config with `agent.command` resolved as {@link resolveAgentCommand} does. */
export function withResolvedAgent<C extends { agent: { command: string } }>(
  config: C,
  onPath: (name: string) => string | undefined,
): C {
  const command = resolveAgentCommand(config.agent.command, onPath);
  return command === config.agent.command ? config : { ...config, agent: { ...config.agent, command } };
}
