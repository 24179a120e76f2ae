import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faults } from "../support/fake-github.js";
import { type Healer, startHealer } from "../support/serve.js";

interface Detail {
  incident: { id: number; state: string };
  runs: {
    id: number;
    state: string;
    attempt: number;
    outcome: string | null;
    error: string | null;
    commit_sha: string | null;
  }[];
  events: { kind: string; message: string }[];
}

describe("GitHub down after the commit", () => {
  let h: Healer;
  beforeAll(async () => {
    h = await startHealer({ agentMode: "change" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("defers the run without spending an attempt, then publishes the same commit without running the agent again", async () => {
    h.github.failNext(1000, faults.serverError());
    const res = await h.post("generic", { name: "nginx-down", service: "nginx.service", host: "nas" });
    const id = ((await res.json()) as { incidents: number[] }).incidents[0]!;
    const deferred = await h.waitFor(
      "the run to be deferred",
      async () => {
        const d = (await h.api<Detail>(`/incidents/${id}`)).body;
        const r = d.runs[0];
        return r?.state === "queued" && r.commit_sha ? d : undefined;
      },
      90_000,
    );
    const run = deferred.runs[0]!;
    expect(run.attempt).toBe(0);
    expect(run.error).toMatch(/5\d\d|unavailable|Server Error/i);
    expect(
      deferred.events.some((e) => e.kind === "run_retry" && /without spending an attempt/.test(e.message)),
    ).toBe(true);
    // The branch is already pushed; only the PR is missing.
    expect(await h.remote.head(`healer/incident-${id}`)).toBe(run.commit_sha);

    h.github.clearFaults();
    await h.t.db.updateTable("runs").set({ run_after: new Date() }).where("id", "=", run.id).execute();
    const done = await h.waitFor("the PR", async () => {
      const d = (await h.api<Detail>(`/incidents/${id}`)).body;
      return d.incident.state === "pr_open" ? d : undefined;
    });
    expect(done.runs).toHaveLength(1);
    expect(done.runs[0]).toMatchObject({ outcome: "pr_opened", attempt: 1, commit_sha: run.commit_sha });
    expect(h.github.prs).toHaveLength(1);
    // The agent ran once: one write in its log.
    const log = readFileSync(join(h.config.stateDir, "runs", String(run.id), "agent.log"), "utf8");
    expect(log.match(/"tool":"write"/g)).toHaveLength(1);
    // Octokit's retries of the 5xx answers take most of this test's time (about 27 s under load):
    // its budget is the deferral's wait and then some, not the 30 s default.
  }, 150_000);
});
