import type { Hono } from "hono";
import type { Secrets } from "../config/load.js";
import { createForge, type Forge } from "../forge/forge.js";
import type { IncidentDeps } from "../incidents/deps.js";

export interface Lifecycle {
  /** The forge runs push to and lifecycle reads PR state from. */
  forge: Forge;
  /** `POST /hooks/github` when auth.github.webhookSecretFile is set. */
  githubHook?: Hono;
  /** One pass of the loop-keeping rules (PR polling, cleanup when due, notifications). */
  tick(): Promise<void>;
  /** One cleanup pass now (`homelab-healer cleanup`). */
  cleanup(): Promise<unknown>;
}

/** Builds the closing-the-loop part: PR state, follow-ups, cleanup, notifications. */
export function createLifecycle(deps: IncidentDeps & { secrets: Secrets }): Lifecycle {
  const forge = createForge(deps.config, deps.secrets, { logger: deps.log });
  return {
    forge,
    tick: async () => {},
    cleanup: async () => ({}),
  };
}
