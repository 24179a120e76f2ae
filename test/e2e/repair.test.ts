import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORGE_KINDS } from "../support/forges.js";
import { type Healer, startHealer } from "../support/serve.js";

const JELLYFIN = readFileSync(
  new URL(
    "../fixtures/alerts/openobserve/recommended.jellyfin-ffmpeg-permission-denied.json",
    import.meta.url,
  ),
  "utf8",
);
const DISPATCH = new URL("../support/agents/dispatch-agent.mjs", import.meta.url).pathname;

interface Detail {
  incident: {
    id: number;
    state: string;
    pr_url: string | null;
    occurrences: number;
    triage_reason: string | null;
  };
  runs: {
    id: number;
    outcome: string | null;
    state: string;
    attempt: number;
    error: string | null;
    validation: string | null;
  }[];
  events: { kind: string; message: string }[];
}

describe.each(FORGE_KINDS)(
  "an alert becomes a pull request on %s (script agent, real Postgres, bare repo, fake forge)",
  (kind) => {
    let h: Healer;
    beforeAll(async () => {
      h = await startHealer({
        forge: kind,
        agentMode: "slow",
        config: (b) => ({
          ...b,
          agent: {
            ...(b.agent as object),
            args: [new URL("../support/agents/script-agent.mjs", import.meta.url).pathname, "slow", "3"],
          },
        }),
      });
    });
    afterAll(async () => {
      await h?.stop();
    });

    it("one incident, one run, a pushed branch with the change, one PR with a filled body; 50 more alerts start no second run", async () => {
      const res = await h.post("openobserve", JELLYFIN);
      expect(res.status).toBe(202);
      const { incidents } = (await res.json()) as { incidents: number[] };
      const id = incidents[0]!;
      await h.waitFor(
        "the run to start",
        async () => (await h.api<Detail>(`/incidents/${id}`)).body.runs[0]?.state === "running",
      );
      // While the agent works: 50 more occurrences of the same problem (distinct deliveries).
      const base = JSON.parse(JELLYFIN) as { rows: { ts: string }[] };
      const more = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const body = structuredClone(base);
          for (const r of body.rows) r.ts = String(Number(r.ts) + (i + 1) * 1_000_000);
          return h.post("openobserve", body);
        }),
      );
      expect(more.map((r) => r.status)).toEqual(Array(50).fill(202));

      const detail = await h.waitFor("the PR", async () => {
        const d = (await h.api<Detail>(`/incidents/${id}`)).body;
        return d.incident.state === "pr_open" ? d : undefined;
      });
      expect(detail.incident.occurrences).toBe(51);
      expect(detail.runs).toHaveLength(1);
      expect(detail.runs[0]).toMatchObject({ outcome: "pr_opened", attempt: 1 });
      expect(h.github.prs).toHaveLength(1);
      const pr = h.github.prs[0]!;
      expect(pr.head).toBe(`healer/incident-${id}`);
      expect(pr.base).toBe("main");
      expect(pr.title).toContain("nas: enable nginx again");
      expect(pr.body).toContain("## Root cause");
      expect(pr.body).toContain(`incident ${id}`);
      expect(h.github.labels(pr.number)).toEqual(["homelab-healer"]);
      expect(detail.incident.pr_url).toBe(pr.html_url ?? detail.incident.pr_url);

      expect(await h.remote.readFile(`healer/incident-${id}`, "hosts/nas/nginx.nix")).toContain(
        "nginx.enable = true",
      );
      const [commit] = await h.remote.log(`healer/incident-${id}`);
      expect(commit?.body).toContain(`Healer-Incident: ${id}`);
      expect(commit?.authorEmail).toBe("homelab-healer@localhost");
      const kinds = detail.events.map((e) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(["created", "run_queued", "pr_opened"]));
      // The journal line for the transition carries the incident and run.
      expect(
        h.lines.some((l) => l.incident === id && l.run === detail.runs[0]!.id && l.to === "pr_open"),
      ).toBe(true);
    });
  },
);

describe("every run outcome", () => {
  let h: Healer;
  let seq = 0;
  // A fresh problem per call: the same alert twice within a minute would be one occurrence.
  const alert = (mode: string) => ({
    name: `probe-${mode}-${++seq}`,
    service: `mode-${mode}.service`,
    host: "lab",
  });
  const fire = async (mode: string) => {
    const res = await h.post("generic", alert(mode));
    expect(res.status).toBe(202);
    return ((await res.json()) as { incidents: number[] }).incidents[0]!;
  };
  const settled = (id: number) =>
    h.waitFor(`incident ${id} to settle`, async () => {
      const d = (await h.api<Detail>(`/incidents/${id}`)).body;
      return d.runs.length > 0 && d.runs.every((r) => r.state === "finished") && d.incident.state !== "fixing"
        ? d
        : undefined;
    });

  beforeAll(async () => {
    h = await startHealer({
      config: (b) => ({
        ...b,
        agent: {
          ...(b.agent as object),
          args: [DISPATCH],
          idleTimeoutSeconds: 6,
          maxAttempts: 2,
          maxConcurrentRuns: 2,
        },
        repo: { ...(b.repo as object), maxChangedFiles: 10 },
        // Validation fails when the agent wrote broken.nix (a stand-in for `nix flake check`).
        validate: {
          command: [
            "sh",
            "-c",
            "if [ -e broken.nix ]; then echo 'error: syntax error in broken.nix'; exit 1; fi",
          ],
        },
        forge: { ...(b.forge as object), draftOnValidationFailure: false },
      }),
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each([
    ["no-change", "no_change", /without changing/],
    ["protected", "refused", /protected/],
    ["big-change", "refused", /files/],
    ["break-validation", "validation_failed", /validation failed/],
  ])("%s → %s, incident needs_human", async (mode, outcome, reason) => {
    const id = await fire(mode);
    const d = await settled(id);
    expect(d.runs).toHaveLength(1);
    expect(d.runs[0]!.outcome).toBe(outcome);
    expect(d.incident.state).toBe("needs_human");
    expect(d.incident.triage_reason).toMatch(reason);
    expect(await h.remote.branches()).not.toContain(`healer/incident-${id}`);
  });

  it("fail → retried once with backoff, then failed", async () => {
    const id = await fire("fail");
    await h.waitFor("the first attempt to fail", async () => {
      const r = (await h.api<Detail>(`/incidents/${id}`)).body.runs[0];
      return r?.state === "queued" && r.attempt === 1 ? r : undefined;
    });
    // The backoff (30 s) is the queue's: make the retry due now instead of waiting.
    await h.t.db.updateTable("runs").set({ run_after: new Date() }).where("incident_id", "=", id).execute();
    const d = await settled(id);
    expect(d.runs[0]).toMatchObject({ outcome: "failed", attempt: 2 });
    expect(d.runs[0]!.error).toMatch(/exited with 3/);
    expect(d.incident.state).toBe("needs_human");
    expect(d.events.some((e) => e.kind === "run_retry")).toBe(true);
  });

  it("hang → killed at the idle timeout: timed_out", async () => {
    await h.t.db.updateTable("runs").set({ max_attempts: 1 }).execute();
    const id = await fire("hang");
    await h.waitFor("attempt 1 to time out", async () => {
      const r = (await h.api<Detail>(`/incidents/${id}`)).body.runs[0];
      return r?.error?.includes("idle") ? r : undefined;
    });
    await h.t.db.updateTable("runs").set({ run_after: new Date() }).where("incident_id", "=", id).execute();
    const d = await settled(id);
    expect(d.runs[0]!.outcome).toBe("timed_out");
    expect(d.incident.state).toBe("needs_human");
  });

  it("dismiss during a run → cancelled; the incident is dismissed", async () => {
    const id = await fire("slow");
    await h.waitFor(
      "the run to start",
      async () => (await h.api<Detail>(`/incidents/${id}`)).body.runs[0]?.state === "running",
    );
    const r = await h.api(`/incidents/${id}/dismiss`, { method: "POST", body: { reason: "not now" } });
    expect(r.status).toBe(200);
    const d = (await h.api<Detail>(`/incidents/${id}`)).body;
    expect(d.incident.state).toBe("dismissed");
    expect(d.runs[0]!.outcome).toBe("cancelled");
    // The worker notices at its next heartbeat, or at the beat it takes before pushing: nothing
    // leaves the machine.
    await new Promise((res) => setTimeout(res, 4000));
    expect(h.github.prs.find((p) => p.head === `healer/incident-${id}`)).toBeUndefined();
    expect(await h.remote.head(`healer/incident-${id}`)).toBeUndefined();
  });

  it("retry queues a new run for a needs_human incident", async () => {
    const id = await fire("no-change");
    await settled(id);
    const r = await h.api<{ runId: number }>(`/incidents/${id}/retry`, { method: "POST" });
    expect(r.status).toBe(202);
    const d = await h.waitFor("the second run", async () => {
      const x = (await h.api<Detail>(`/incidents/${id}`)).body;
      return x.runs.length === 2 && x.runs.every((run) => run.state === "finished") ? x : undefined;
    });
    expect(d.runs.map((run) => run.outcome)).toEqual(["no_change", "no_change"]);
  });
});
