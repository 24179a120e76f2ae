import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import type { Secrets } from "../../src/config/load.js";
import type { IncidentDeps } from "../../src/incidents/deps.js";
import { createLifecycle } from "../../src/lifecycle/lifecycle.js";
import { memoryLogger, TOKEN, testConfig } from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

export const WEBHOOK_SECRET = "abuse-webhook-secret-6f1c";

export interface AbuseApp {
  t: TestDatabase;
  lines: Record<string, unknown>[];
  /** Sends raw bytes to `path` with the token and a content type (none when ""). */
  send(path: string, body: Uint8Array, contentType?: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The HTTP app on a fresh database with every hook route mounted, the GitHub webhook included when
 * the lifecycle provides it (a webhook secret is configured).
 */
export async function createAbuseApp(): Promise<AbuseApp> {
  const t = await createTestDatabase();
  const { log, lines } = memoryLogger();
  const config = testConfig({ forge: { type: "none" } }, t.url);
  const secrets: Secrets = {
    token: TOKEN,
    sourceTokens: {},
    agentEnv: {},
    githubWebhookSecret: WEBHOOK_SECRET,
  };
  const deps: IncidentDeps = { db: t.db, log, clock: new ManualClock(), config, wakeRuns: () => {} };
  const lifecycle = createLifecycle({ ...deps, secrets });
  const app = createApp({
    ...deps,
    secrets,
    metrics: new Metrics(),
    ...(lifecycle.githubHook ? { githubHook: lifecycle.githubHook } : {}),
  });
  return {
    t,
    lines,
    send: async (path, body, contentType = "application/json") =>
      app.request(path, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(contentType === "" ? {} : { "content-type": contentType }),
          "x-github-event": "pull_request",
          "x-hub-signature-256": "sha256=0000000000000000000000000000000000000000000000000000000000000000",
        },
        body,
      }),
    close: () => t.drop(),
  };
}
