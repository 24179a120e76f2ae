import { join } from "node:path";
import type { ConfigFile } from "../../config/schema.js";
import { allowed, buildAllowlist, formatDestination, modelDestinations } from "./allowlist.js";
import { proxyEnv } from "./forwarder.js";
import { laneNixConfig } from "./nix.js";
import { type EgressProxy, startEgressProxy } from "./proxy.js";

/** What one run's egress needs: where the model is, what the owner allowed, where to note refusals. */
export interface RunEgressInput {
  runDir: string;
  /** The effective per-run OpenCode config (the lane merged over `agent.opencodeConfig`). */
  opencodeConfig: Record<string, unknown>;
  /** The agent's environment: resolves `{env:…}` in a provider's baseURL. */
  agentEnv: Record<string, string>;
  /** `agent.allowedHosts`. */
  allowedHosts: string[];
  /** A line for the run log. */
  note: (line: string) => void;
}

/** A started run egress: the socket to bind into the sandbox and the proxy behind it. */
export interface RunEgress {
  socketPath: string;
  /** `host:port` patterns, as the run log shows them. */
  allowlist: string[];
  proxy: EgressProxy;
}

/** The agent and its validation go out through a run egress proxy: sandboxed, behind the allowlist. */
export function behindAllowlist(agent: Pick<ConfigFile["agent"], "sandbox" | "network">): boolean {
  return agent.sandbox !== "none" && agent.network === "allowlist";
}

/**
 * What a process behind the run's egress proxy gets on top of its environment: the proxy variables,
 * and a `NIX_CONFIG` (the environment file's, if any, then the lane's) under which Nix cannot build
 * while it evaluates (nix.ts).
 */
export function egressEnv(nixConfigFromEnvFile?: string): Record<string, string> {
  return { ...proxyEnv(), NIX_CONFIG: laneNixConfig(nixConfigFromEnvFile) };
}

/** Where a run's egress socket lives: in the run dir, hidden from other runs. */
export function egressSocketPath(runDir: string): string {
  return join(runDir, "egress.sock");
}

/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

/** Errors that keep a run's egress from starting. */
export class EgressError extends Error {
  constructor(
    readonly code: "egress_socket_path_too_long" | "egress_proxy_failed",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "EgressError";
  }
}

/**
 * Starts the run's egress proxy: the model's endpoints from the effective OpenCode config plus
 * `agent.allowedHosts` pass; the first refusal of each destination goes to the run log at once.
 */
export async function startRunEgress(input: RunEgressInput): Promise<RunEgress> {
  const socketPath = egressSocketPath(input.runDir);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new EgressError(
      "egress_socket_path_too_long",
      `the egress socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter stateDir`,
    );
  }
  const patterns = buildAllowlist(
    modelDestinations(input.opencodeConfig, input.agentEnv),
    input.allowedHosts,
  );
  const allowlist = patterns.map((p) =>
    p.port === "*" ? `${p.host}:*` : formatDestination({ host: p.host, port: p.port }),
  );
  let proxy: EgressProxy;
  try {
    proxy = await startEgressProxy({
      socketPath,
      allow: (d) => allowed(patterns, d),
      onFirstRefusal: (dest) =>
        input.note(`egress refused: ${dest} is not in the allowlist (further refusals are counted)`),
    });
  } catch (e) {
    throw new EgressError("egress_proxy_failed", `cannot start the egress proxy: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return { socketPath, allowlist, proxy };
}
