import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { pidsWith } from "../support/processes.js";
import { type Healer, SCRIPT_AGENT, startHealer } from "../support/serve.js";
import { finishedRun, PROBLEM } from "./support.js";

/* An agent that goes silent is killed at agent.idleTimeoutSeconds, with everything it started. */

let h: Healer | undefined;
afterAll(async () => {
  await h?.stop();
});

it("kills a hung agent and its detached child at the idle timeout", async () => {
  // `sleep <marker>`: a detached child in its own session, findable by its argument.
  const marker = `${randomInt(40_000, 90_000)}.${randomInt(1000, 9999)}`;
  h = await startHealer({
    config: (base) => ({
      ...base,
      agent: {
        ...(base.agent as object),
        args: [SCRIPT_AGENT, "detached-child", marker],
        idleTimeoutSeconds: 2,
        timeoutSeconds: 120,
        maxAttempts: 1,
      },
    }),
  });
  expect((await h.post("generic", PROBLEM)).status).toBe(202);
  await h.waitFor("the detached child", async () => pidsWith(`sleep ${marker}`).length > 0);

  const run = await finishedRun(h);
  expect(run.outcome).toBe("timed_out");
  expect(run.error ?? "").toMatch(/idle/i);
  // The agent did start and speak once (the kill is not a failure to start).
  const log = readFileSync(join(h.config.stateDir, "runs", String(run.id), "agent.log"), "utf8");
  expect(log).toContain(marker);
  await h.waitFor(
    "the detached child to be gone",
    async () => pidsWith(`sleep ${marker}`).length === 0,
    10_000,
  );
  const incident = await h.t.db.selectFrom("incidents").selectAll().executeTakeFirstOrThrow();
  expect(incident.state).toBe("needs_human");
  expect(h.github.prs).toEqual([]);
}, 90_000);
