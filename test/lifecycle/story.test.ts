import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { FORGE_KINDS } from "../support/forges.js";
import { type Healer, startHealer } from "../support/serve.js";

const SECRET = "story-webhook-secret";
const POLL = 300;
const GRACE = 1800;
const VERIFY = 7200;

interface Detail {
  incident: { id: number; state: string; pr_number: number | null; follow_ups: number };
  runs: { id: number; kind: string; outcome: string | null; branch: string }[];
  events: { kind: string; data: { to?: string; via?: string } }[];
}

describe.each(FORGE_KINDS)(
  "the loop closes on %s: a fix that did not hold gets a follow-up, the second one holds",
  (kind) => {
    let h: Healer;
    let secrets: string;
    const clock = new ManualClock();
    let n = 0;
    const fire = async () => {
      const res = await h.post("generic", {
        name: "ServiceDown",
        service: "nginx.service",
        host: "nas",
        summary: "nginx is down",
        idempotencyKey: `story-${++n}`,
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { incidents: number[] }).incidents[0] as number;
    };
    const detail = async (id: number) => (await h.api<Detail>(`/incidents/${id}`)).body;
    const stateIs = (id: number, state: string) =>
      h.waitFor(`incident ${id} in ${state}`, async () => {
        const d = await detail(id);
        return d.incident.state === state ? d : undefined;
      });
    /** The merge as the forge's webhook sends it (Forgejo: pretty-printed, the branch in head.label). */
    const mergeWebhook = (pr: number, branch: string) => {
      const payload = {
        action: "closed",
        number: pr,
        pull_request: {
          number: pr,
          merged: true,
          head: kind === "forgejo" ? { label: branch, ref: `refs/pull/${pr}/head` } : { ref: branch },
        },
        repository: { full_name: `${h.github.owner}/${h.github.repo}` },
      };
      const body = JSON.stringify(payload, null, kind === "forgejo" ? 2 : undefined);
      return fetch(`${h.url}/hooks/${kind}`, {
        method: "POST",
        headers: h.github.webhookHeaders("pull_request", body, SECRET),
        body,
      });
    };

    beforeAll(async () => {
      secrets = mkdtempSync(join(tmpdir(), "healer-story-"));
      writeFileSync(join(secrets, "webhook"), SECRET);
      h = await startHealer({
        forge: kind,
        clock,
        tickMs: 100,
        config: (b) => ({
          ...b,
          auth: { ...(b.auth as object), [kind]: { webhookSecretFile: join(secrets, "webhook") } },
          lifecycle: {
            prPollSeconds: POLL,
            deployGraceSeconds: GRACE,
            verifySeconds: VERIFY,
            maxFollowUps: 2,
          },
        }),
      });
    });
    afterAll(async () => {
      await h?.stop();
      rmSync(secrets, { recursive: true, force: true });
    });

    it("open → fixing → pr_open → verifying → (recurrence after the grace) fixing → pr_open → verifying → resolved", async () => {
      const id = await fire();
      const first = await stateIs(id, "pr_open");
      const pr1 = first.incident.pr_number as number;
      expect(h.github.prs.find((p) => p.number === pr1)?.head).toBe(`healer/incident-${id}`);

      // The owner merges; polling notices once its interval has passed.
      h.github.merge(pr1);
      clock.advance(POLL);
      await stateIs(id, "verifying");

      // Inside the deploy grace a recurrence only attaches.
      clock.advance(60);
      await fire();
      expect((await detail(id)).incident.state).toBe("verifying");

      // After the grace it did not hold: a follow-up run on its own branch, a second PR.
      clock.advance(GRACE);
      await fire();
      const second = await stateIs(id, "pr_open");
      const pr2 = second.incident.pr_number as number;
      expect(pr2).not.toBe(pr1);
      expect(second.incident.follow_ups).toBe(1);
      expect(second.runs.map((r) => [r.kind, r.outcome, r.branch])).toEqual([
        ["repair", "pr_opened", `healer/incident-${id}`],
        ["follow_up", "pr_opened", `healer/incident-${id}-1`],
      ]);

      // This time the signed webhook brings the merge.
      h.github.merge(pr2);
      const hook = await mergeWebhook(pr2, `healer/incident-${id}-1`);
      expect(hook.status).toBe(200);
      expect((await detail(id)).incident.state).toBe("verifying");

      // Quiet for verifySeconds: resolved.
      clock.advance(VERIFY + 1);
      const done = await stateIs(id, "resolved");
      const path = done.events.filter((e) => e.data.to !== undefined).map((e) => e.data.to);
      expect(path).toEqual(["fixing", "pr_open", "verifying", "fixing", "pr_open", "verifying", "resolved"]);
      const kinds = done.events.map((e) => e.kind);
      expect(kinds.indexOf("recurrence")).toBeGreaterThan(kinds.indexOf("pr_merged"));
      expect(done.events.filter((e) => e.kind === "pr_merged").map((e) => e.data.via)).toEqual([
        "poll",
        "webhook",
      ]);

      // Cleanup deletes both merged branches (ours alone) and says so.
      const cleanup = await h.api<{ cleanup: { branchesDeleted: number; errors: string[] } }>("/cleanup", {
        method: "POST",
      });
      expect(cleanup.status).toBe(200);
      const after = await detail(id);
      expect(after.events.filter((e) => e.kind === "branch_cleanup")).toHaveLength(2);
      const branches = await h.remote.branches();
      expect(branches).not.toContain(`healer/incident-${id}`);
      expect(branches).not.toContain(`healer/incident-${id}-1`);
    });
  },
);
