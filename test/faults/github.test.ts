import { afterEach, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { faults } from "../support/fake-github.js";
import { type Healer, startHealer } from "../support/serve.js";
import { finishedRun, PROBLEM } from "./support.js";

/* GitHub answering 500 or 429: retried, and the agent's attempts are not spent on it. */

let h: Healer | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** How many times the agent ran: the script agent writes one tool_use line a turn. */
async function agentTurns(healer: Healer, runId: number): Promise<number> {
  const res = await fetch(`${healer.url}/api/runs/${runId}/log`, {
    headers: { authorization: "Bearer serve-test-token-abcdef" },
  });
  return ((await res.text()).match(/"tool_use"/g) ?? []).length;
}

it("retries 500s and a 429 with Retry-After inside one attempt, then opens the PR", async () => {
  h = await startHealer({ agentMode: "change" });
  h.github.failNext(2, faults.serverError());
  h.github.failNext(1, faults.secondaryRateLimit(1));
  expect((await h.post("generic", PROBLEM)).status).toBe(202);

  const run = await finishedRun(h);
  expect(run.outcome).toBe("pr_opened");
  expect(run.attempt).toBe(1);
  expect(await agentTurns(h, run.id)).toBe(1);
  const statuses = h.github.requests.map((r) => r.status);
  expect(statuses.filter((s) => s === 500)).toHaveLength(2);
  expect(statuses.filter((s) => s === 429)).toHaveLength(1);
  expect(h.github.prs).toHaveLength(1);
}, 90_000);

it("defers the run when GitHub stays down, without spending an attempt or rerunning the agent", async () => {
  const clock = new ManualClock(new Date());
  h = await startHealer({ agentMode: "change", clock });
  h.github.failNext(50, faults.unavailable());
  expect((await h.post("generic", PROBLEM)).status).toBe(202);

  const deferred = await h.waitFor("the run to be deferred", async () => {
    const run = await h!.t.db.selectFrom("runs").selectAll().executeTakeFirst();
    return run?.state === "queued" && run.error ? run : undefined;
  });
  // The attempt taken at claim is given back on release.
  expect(deferred.attempt).toBe(0);
  expect(deferred.lease_owner).toBeNull();
  h.github.clearFaults();
  clock.advance(120);

  const run = await finishedRun(h);
  expect(run.outcome).toBe("pr_opened");
  expect(run.attempt).toBe(1);
  // The commit was kept: the second pass pushes and opens the PR without a new agent turn.
  expect(await agentTurns(h, run.id)).toBe(1);
  expect(h.github.prs).toHaveLength(1);
}, 120_000);
