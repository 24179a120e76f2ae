import { afterEach, describe, expect, it } from "vitest";
import { dismissIncident } from "../../src/incidents/actions.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { incidentTick } from "../../src/incidents/maintenance.js";
import { listRunsForIncident } from "../../src/runs/queue.repo.js";
import { FORGE_KINDS, forgeFaults } from "../support/forges.js";
import { createWorld, type World } from "./world.js";

const GRACE = 1800;
const VERIFY = 7200;

describe.each(FORGE_KINDS)("recurrences after a PR on %s (SPEC §6 rules 1, 4, 5)", (kind) => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });
  const world = (lifecycle: Record<string, number> = {}) =>
    createWorld(
      { lifecycle: { deployGraceSeconds: GRACE, verifySeconds: VERIFY, maxFollowUps: 2, ...lifecycle } },
      { kind },
    );
  /** An incident with a merged PR, in verifying. */
  const verifying = async (service = "nginx.service") => {
    const id = await w.fire(service);
    const { pr } = await w.openPr(id);
    w.fake.merge(pr);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("verifying");
    return { id, pr };
  };

  it("while pr_open: one 'still happening' comment per hour, counting since the PR opened", async () => {
    w = await world();
    const id = await w.fire("nginx.service");
    w.clock.advance(120); // the run takes a while: the first alert is from before the PR
    const { pr } = await w.openPr(id);
    w.clock.advance(60);
    await w.fire("nginx.service");
    await w.lifecycle.idle();
    w.clock.advance(600);
    await w.fire("nginx.service");
    await w.lifecycle.idle();
    expect(w.fake.comments.filter((c) => c.issue === pr)).toHaveLength(1);
    expect(w.fake.comments[0]?.body).toContain("1 time(s) since this PR was opened");

    w.clock.advance(3600 - 600);
    await w.fire("nginx.service");
    await w.lifecycle.idle();
    const comments = w.fake.comments.filter((c) => c.issue === pr);
    expect(comments).toHaveLength(2);
    expect(comments[1]?.body).toContain("3 time(s) since this PR was opened");
    const events = (await incidentEvents(w.t.db, id)).filter((e) => e.kind === "comment");
    expect(events.map((e) => e.data)).toMatchObject([
      { pr, since: 1 },
      { pr, since: 3 },
    ]);
    expect((await w.incident(id)).state).toBe("pr_open");
  });

  it("a comment the forge refused gives the hour back: the next recurrence comments", async () => {
    w = await world();
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    w.fake.failNext(1, forgeFaults.serverError(kind));
    await w.fire("nginx.service");
    await w.lifecycle.idle();
    expect(w.fake.comments).toHaveLength(0);
    expect((await w.incident(id)).pr_commented_at).toBeNull();
    await w.fire("nginx.service");
    await w.lifecycle.idle();
    expect(w.fake.comments.filter((c) => c.issue === pr)).toHaveLength(1);
  });

  it("verifying: inside the deploy grace a recurrence only attaches; after it a follow-up run starts", async () => {
    w = await world();
    const { id } = await verifying();
    w.clock.advance(GRACE - 1);
    await w.fire("nginx.service");
    let i = await w.incident(id);
    expect(i.state).toBe("verifying");
    expect(i.occurrences).toBe(2);
    expect((await incidentEvents(w.t.db, id)).at(-1)).toMatchObject({ kind: "recurrence" });

    w.clock.advance(2);
    await w.fire("nginx.service");
    i = await w.incident(id);
    expect(i).toMatchObject({ state: "fixing", follow_ups: 1, branch: `healer/incident-${id}-1` });
    const runs = await listRunsForIncident(w.t.db, id);
    expect(runs.map((r) => [r.kind, r.state, r.branch])).toEqual(
      expect.arrayContaining([["follow_up", "queued", `healer/incident-${id}-1`]]),
    );
    const follow = (await incidentEvents(w.t.db, id)).find((e) => e.kind === "follow_up");
    expect(follow?.message).toContain("did not hold");
    expect(follow?.message).toContain("follow-up 1 of 2");
  });

  it("the follow-up cap: after maxFollowUps merged fixes that did not hold, needs_human", async () => {
    w = await world({ maxFollowUps: 1 });
    const { id } = await verifying();
    w.clock.advance(GRACE + 1);
    await w.fire("nginx.service");
    expect((await w.incident(id)).state).toBe("fixing");
    const { pr } = await w.openPr(id);
    w.fake.merge(pr);
    w.clock.advance(300);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("verifying");

    w.clock.advance(GRACE + 1);
    await w.fire("nginx.service");
    const i = await w.incident(id);
    expect(i).toMatchObject({ state: "needs_human", follow_ups: 1 });
    expect(i.triage_reason).toContain("follow-ups spent");
    expect((await listRunsForIncident(w.t.db, id)).filter((r) => r.state !== "finished")).toHaveLength(0);
  });

  it("quiet for verifySeconds after the merge: resolved; a later recurrence opens a new linked incident", async () => {
    w = await world();
    const { id } = await verifying();
    const since = w.clock.now();
    w.clock.advance(VERIFY - 10);
    await incidentTick(w.deps, since);
    expect((await w.incident(id)).state).toBe("verifying");
    w.clock.advance(11);
    await incidentTick(w.deps, since);
    expect((await w.incident(id)).state).toBe("resolved");
    expect(await w.kinds(id)).toContain("verified");

    w.clock.advance(60);
    const next = await w.fire("nginx.service");
    expect(next).not.toBe(id);
    expect((await w.incident(next)).previous_incident_id).toBe(id);
  });

  it("a PR closed unmerged: a recurrence inside the dismiss cooldown opens a suppressed incident saying so", async () => {
    w = await world({ dismissCooldownSeconds: 86_400 });
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    w.fake.close(pr);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("dismissed");

    w.clock.advance(3600);
    const again = await w.fire("nginx.service");
    const i = await w.incident(again);
    expect(i).toMatchObject({ state: "suppressed", previous_incident_id: id });
    expect(i.triage_reason).toContain(`incident ${id} was dismissed`);

    // After the cooldown the same problem is actionable again.
    w.clock.advance(86_400);
    await dismissIncident(w.deps, again, "clear the way");
    const third = await w.fire("nginx.service");
    expect((await w.incident(third)).state).toBe("suppressed");
    w.clock.advance(86_401);
    const fourth = await w.fire("nginx.service");
    expect(fourth).toBe(third);
    expect((await w.incident(third)).state).toBe("fixing");
  });

  it("dismiss with closePr closes the PR on the forge and records it", async () => {
    w = await world();
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    const r = await dismissIncident(w.deps, id, "not worth it", { closePr: true });
    expect(r).toMatchObject({ closedPr: { pr, closed: true } });
    expect(w.fake.prs.find((p) => p.number === pr)).toMatchObject({ state: "closed", merged: false });
    expect(await w.incident(id)).toMatchObject({ state: "dismissed", pr_state: "closed" });
    expect(await w.kinds(id)).toEqual(expect.arrayContaining(["dismissed", "pr_closed"]));

    // Without closePr the PR is left open.
    const other = await w.fire("jellyfin.service");
    const second = await w.openPr(other);
    const plain = await dismissIncident(w.deps, other, undefined);
    expect(plain).not.toHaveProperty("closedPr");
    expect(w.fake.prs.find((p) => p.number === second.pr)?.state).toBe("open");
  });
});
