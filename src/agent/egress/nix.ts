/*
 * Nix's own way past the egress proxy. On NixOS the agent's `nix eval` talks to the nix-daemon
 * through its socket, and the daemon builds with the host's network: an expression that imports
 * from a derivation (`builtins.readFile (import <nix/fetchurl.nix> { url = "http://…/?d=…"; … })`)
 * makes the daemon fetch any URL while it evaluates. Behind the allowlist the evaluator may not
 * build during evaluation, and the commands that could turn that back on are refused.
 */

/** The setting appended to the agent's `NIX_CONFIG` behind the allowlist. */
const NIX_LANE_SETTINGS = "allow-import-from-derivation = false";

/**
 * The agent's `NIX_CONFIG`: the environment file's (a dummy store, say) first, the lane's last, since
 * a later line wins and `NIX_CONFIG` wins over every nix.conf the agent could write.
 */
export function laneNixConfig(fromEnvFile: string | undefined): string {
  return fromEnvFile ? `${fromEnvFile.replace(/\n+$/, "")}\n${NIX_LANE_SETTINGS}` : NIX_LANE_SETTINGS;
}

/**
 * Bash patterns denied after `agent.allowedCommands` (OpenCode: the last matching rule wins): a
 * command line that sets a Nix option would win over `NIX_CONFIG` (`--option …`, a setting's own
 * flag, or NIX_CONFIG itself behind `env`), and native code during evaluation runs any program
 * outside the allowed commands.
 */
export const NIX_OVERRIDE_DENIED = [
  "*--option *",
  "*--allow-import-from-derivation*",
  "*--allow-unsafe-native-code-during-evaluation*",
  "*NIX_CONFIG*",
];
