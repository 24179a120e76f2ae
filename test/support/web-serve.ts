import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { systemClock } from "../../src/clock.js";
import type { Db } from "../../src/db/database.js";
import type { PreflightState } from "../../src/preflight/monitor.js";
import { memoryLogger, TOKEN, testConfig } from "./app.js";
import { type Demo, seedDemo } from "./demo.js";

export const VIEWER_TOKEN = "viewer-token-9876543210";

export interface WebWorld {
  url: string;
  demo: Demo;
  stateDir: string;
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A preflight state with one failed and one passed check, as serve keeps it. */
const preflight: PreflightState = {
  results: () => [
    { name: "database", status: "ok", found: "PostgreSQL 17, migrations current" },
    {
      name: "forge token",
      status: "fail",
      found: "GitHub answered 401 for forge.tokenFile",
      fix: "put a token with contents:write and pull_requests:write in forge.tokenFile",
    },
  ],
  blocking: () => [],
};

/**
 * The app (hooks, API, web page) listening on 127.0.0.1 and a free port against `db`, with the demo
 * seeded through its own hook. `close()` stops the listener and removes the state dir (not the db).
 */
export async function startWebWorld(
  db: Db,
  databaseUrl: string,
  raw: Record<string, unknown> = {},
  seed: { hostile?: boolean } = {},
): Promise<WebWorld> {
  const stateDir = mkdtempSync(join(tmpdir(), "healer-web-"));
  const { log, lines } = memoryLogger();
  const config = testConfig(raw, databaseUrl, stateDir);
  const app = createApp({
    db,
    log,
    clock: systemClock,
    config,
    wakeRuns: () => {},
    preflight,
    secrets: { token: TOKEN, viewerToken: VIEWER_TOKEN, sourceTokens: {}, agentEnv: {} },
    metrics: new Metrics(),
  });
  const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise<void>((ok, fail) => {
    server.once("listening", ok);
    server.once("error", fail);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (source: string, body: object) =>
    fetch(`${url}/hooks/${source}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const demo = await seedDemo({ db, post, stateDir, now: new Date(), ...seed });
  return {
    url,
    demo,
    stateDir,
    lines,
    close: async () => {
      await new Promise<void>((ok) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close(() => ok());
      });
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
