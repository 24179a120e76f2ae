import type { ConfigFile } from "../../config/schema.js";

/**
 * What the agent's network opens when it is not the allowlist, for `serve` to warn at start (and the
 * doctor to report): undefined when the agent goes out only through its run's egress proxy.
 */
export function networkWarning(agent: Pick<ConfigFile["agent"], "network" | "sandbox">): string | undefined {
  const opens =
    "every command the agent may run (nix eval's builtins.fetchurl, git, anything in agent.allowedCommands) can reach any address the host can: the internet, your LAN, services on the host's own loopback; a prompt injection in an alert or log line can send what the agent reads (the repo, the journal) anywhere";
  if (agent.sandbox === "none")
    return `agent.sandbox is "none": the agent runs unsandboxed on the host's network; ${opens}`;
  if (agent.network === "host")
    return `agent.network is "host": the agent's sandbox shares the host's network; ${opens}`;
  return undefined;
}
