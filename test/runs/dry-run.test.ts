import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { incidentText } from "../../src/cli/format.js";
import { notableEvents } from "../../src/lifecycle/lifecycle.repo.js";
import { notificationFor } from "../../src/lifecycle/notifications.js";
import { type Healer, startHealer } from "../support/serve.js";

const exec = promisify(execFile);

interface Detail {
  incident: { id: number; state: string; pr_url: string | null; triage_reason: string | null };
  runs: { id: number; state: string; outcome: string | null; commit_sha: string | null }[];
  events: { kind: string; message: string }[];
}

describe('forge.type "none": a dry run that committed its change', () => {
  let h: Healer;
  beforeAll(async () => {
    h = await startHealer({ config: (b) => ({ ...b, forge: { type: "none" } }) });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("ends as committed, waits for review in pr_open, says where the commit is; retry replaces it", async () => {
    const res = await h.post("generic", { name: "nginx-down", service: "nginx.service", host: "nas" });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { incidents: number[] }).incidents[0]!;
    const settled = (runs: number) =>
      h.waitFor(`incident ${id} after ${runs} run(s)`, async () => {
        const d = (await h.api<Detail>(`/incidents/${id}`)).body;
        return d.runs.length === runs &&
          d.runs.every((r) => r.state === "finished") &&
          d.incident.state !== "fixing"
          ? d
          : undefined;
      });
    const d = await settled(1);
    const branch = `healer/incident-${id}`;
    const mirror = join(h.config.stateDir, "mirror.git");

    // Its own outcome, not "refused", and not parked in needs_human.
    expect(d.runs[0]!.outcome).toBe("committed");
    expect(d.incident.state).toBe("pr_open");
    expect(d.incident.pr_url).toBeNull();
    const how = `git --git-dir ${mirror} show ${branch}`;
    expect(d.incident.triage_reason).toContain(
      `dry run (forge.type "none"): committed ${d.runs[0]!.commit_sha!.slice(0, 12)}`,
    );
    expect(d.incident.triage_reason).toContain(how);
    expect(d.incident.triage_reason).toContain(`homelab-healer retry ${id}\` replaces this commit`);
    expect(d.events.find((e) => e.kind === "committed")?.message).toContain(how);
    const text = incidentText(d as never);
    expect(text).toContain("finished/committed (dry run)");
    expect(text).toContain(`state        pr_open — dry run`);

    // The owner hears of it as of a PR (ntfy), with the same words.
    const notable = (await notableEvents(h.t.db, 0, Number.MAX_SAFE_INTEGER)).filter(
      (e) => e.incident_id === id,
    );
    const note = notable.map(notificationFor).find((n) => n?.title.startsWith("Change ready (dry run)"));
    expect(note?.message).toContain(how);

    // The command the incident names shows the change; nothing left the machine.
    const [cmd, ...args] = how.split(" ");
    const shown = (await exec(cmd!, args)).stdout;
    expect(shown).toContain(`Healer-Incident: ${id}`);
    expect(shown).toContain("+{ services.nginx.enable = true; }");
    expect(await h.remote.branches()).not.toContain(branch);
    expect(h.github.prs).toHaveLength(0);

    // retry says what it replaces, and the branch holds the new run's one commit, not two.
    const r = await h.api<{ runId: number; replaces?: string }>(`/incidents/${id}/retry`, {
      method: "POST",
      body: {},
    });
    expect(r.status).toBe(202);
    expect(r.body.replaces).toBe(`the dry-run commit ${d.runs[0]!.commit_sha!.slice(0, 12)} on ${branch}`);
    const again = await settled(2);
    expect(again.runs[1]!.outcome).toBe("committed");
    expect(again.incident.state).toBe("pr_open");
    expect(
      again.events.some(
        (e) => e.kind === "run_queued" && e.message.includes("it replaces the dry-run commit"),
      ),
    ).toBe(true);
    const count = (await exec("git", ["--git-dir", mirror, "rev-list", "--count", `origin/main..${branch}`]))
      .stdout;
    expect(count.trim()).toBe("1");
  });
});
