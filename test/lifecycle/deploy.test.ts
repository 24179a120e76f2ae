import { afterEach, describe, expect, it } from "vitest";
import { buildContext, buildPrompt } from "../../src/agent/prompt.js";
import { ensureMirror, mirrorPath } from "../../src/forge/git.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { incidentTick } from "../../src/incidents/maintenance.js";
import { promptInput } from "../../src/runs/agent-turn.js";
import { gatherContext, type RunContext } from "../../src/runs/context.js";
import { listRunsForIncident } from "../../src/runs/queue.repo.js";
import { git, OWNER } from "../support/git-remote.js";
import { createWorld, type World } from "./world.js";

const VERIFY = 7200;
const WARN = 3600;
const HOST = "media-01";

/*
 * Verification waits for the fix to run (issue 21): a real bare repo as the homelab remote, the fake
 * GitHub merging for real into it (a merge commit on main), the deployment hook saying what media-01
 * runs, and `git merge-base --is-ancestor` in the service's mirror deciding.
 */
describe("deploying: verification starts when the host runs the fix", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });
  const world = () =>
    createWorld(
      {
        lifecycle: {
          verifySeconds: VERIFY,
          deployGraceSeconds: 1800,
          deployWarnSeconds: WARN,
          maxFollowUps: 2,
        },
      },
      { git: true },
    );
  const report = async (revision: string, status = "done", at?: Date) => {
    const res = await w.deployed({ host: HOST, revision, status, ...(at ? { at: at.toISOString() } : {}) });
    expect(res.status).toBe(202);
    return (await res.json()) as { deployment: number; known: boolean | null; dirty: boolean };
  };
  /** media-01 runs main as it is, an incident on it gets a PR, and the owner merges it for real. */
  const mergedOnMedia = async () => {
    const old = (await w.remote.head("main")) as string;
    await report(old);
    return { ...(await w.fixAndMerge("jellyfin.service", HOST)), old };
  };
  const events = async (id: number) => await incidentEvents(w.t.db, id);
  /** A commit on top of `parent` in the remote that no branch points to (not pushed, not fetched). */
  const commitOnTop = async (parent: string, message: string) => {
    const who = { GIT_AUTHOR_NAME: OWNER.name, GIT_AUTHOR_EMAIL: OWNER.email };
    const env = { ...who, GIT_COMMITTER_NAME: OWNER.name, GIT_COMMITTER_EMAIL: OWNER.email };
    return (
      await git(w.remote.path, ["commit-tree", `${parent}^{tree}`, "-p", parent, "-m", message], env)
    ).trim();
  };

  it("waits while an older revision runs, starts nothing on recurrences, verifies from the deploy, then resolves", async () => {
    w = await world();
    const { id, old, merge } = await mergedOnMedia();
    const i = await w.incident(id);
    expect(i.state).toBe("deploying");
    expect(i.pr_merge_sha).toBe(merge);
    const merged = (await events(id)).find((e) => e.kind === "pr_merged");
    expect(merged?.message).toContain(`waiting until ${HOST} runs ${merge.slice(0, 12)}`);

    // The host still runs the old revision; the alert keeps firing: attached, no run.
    w.clock.advance(600);
    await report(old);
    await w.fire("jellyfin.service", HOST);
    w.clock.advance(3000); // past the old deploy grace: it no longer applies
    await w.fire("jellyfin.service", HOST);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("deploying");
    expect((await listRunsForIncident(w.t.db, id)).map((r) => r.kind)).toEqual(["repair"]);
    const attached = (await events(id)).filter((e) => e.kind === "recurrence");
    expect(attached).toHaveLength(2);
    expect(attached[0]?.message).toContain("waits for its deployment on media-01");

    // The owner pushes another commit on top of the merge and deploys that: it contains the fix.
    w.clock.advance(600);
    const later = await w.remote.commit("main", { "hosts/media-01/extra.nix": "{ }\n" });
    const deployAt = new Date(w.clock.now().getTime() - 120_000);
    const r = await report(later, "done", deployAt);
    expect(r.known).toBe(true); // fetched: the mirror had not seen that commit yet
    const moved = await w.incident(id);
    expect(moved.state).toBe("verifying");
    expect(moved.deployed_at?.toISOString()).toBe(deployAt.toISOString());
    expect(moved.deployed_revision).toBe(later);
    const deployed = (await events(id)).find((e) => e.kind === "deployed");
    expect(deployed?.message).toContain(`runs on ${HOST}: revision ${later.slice(0, 12)}`);
    expect(deployed?.data).toMatchObject({ host: HOST, source: "hook", deployedAt: deployAt.toISOString() });

    // verifySeconds from the deploy time (not from the merge, not from when we heard of it).
    w.clock.advance(VERIFY - 120 - 1);
    await incidentTick(w.deps, w.clock.now());
    expect((await w.incident(id)).state).toBe("verifying");
    w.clock.advance(2);
    await incidentTick(w.deps, w.clock.now());
    const done = await w.incident(id);
    expect(done.state).toBe("resolved");
    const verified = (await events(id)).find((e) => e.kind === "verified");
    expect(verified?.message).toContain("after the deploy");
  });

  it("a revision without the fix keeps it deploying and warns once a day; a failed deploy of the fix is an event", async () => {
    w = await world();
    const { id, old, merge } = await mergedOnMedia();
    // A commit on top of the old revision, on another branch: it does not contain the merge commit.
    const elsewhere = await commitOnTop(old, "local experiment");
    await git(w.remote.path, ["update-ref", "refs/heads/testing", elsewhere]);
    await report(elsewhere);
    expect((await w.incident(id)).state).toBe("deploying");

    // Deploying the merge commit failed: an event naming it; still deploying.
    await report(merge, "failed");
    const failed = (await events(id)).filter((e) => e.kind === "deploy_failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.message).toContain(`deploying ${merge.slice(0, 12)} on ${HOST} failed`);
    expect((await w.incident(id)).state).toBe("deploying");

    // deployWarnSeconds after the merge: one warning naming what the host runs, then not again that day.
    w.clock.advance(WARN);
    await w.lifecycle.tick();
    await w.lifecycle.tick();
    let warned = (await events(id)).filter((e) => e.kind === "deploy_overdue");
    expect(warned).toHaveLength(1);
    expect(warned[0]?.message).toMatch(/^merged 1 h ago, media-01 still runs [0-9a-f]{12}/);
    expect(warned[0]?.message).toContain(elsewhere.slice(0, 12));
    w.clock.advance(86_400 - 60);
    await w.lifecycle.tick();
    expect((await events(id)).filter((e) => e.kind === "deploy_overdue")).toHaveLength(1);
    w.clock.advance(61);
    await w.lifecycle.tick();
    warned = (await events(id)).filter((e) => e.kind === "deploy_overdue");
    expect(warned).toHaveLength(2);
    expect((await w.incident(id)).state).toBe("deploying");
    expect(old).not.toBe(merge);
  });

  it("dirty counts by its base and is flagged; an unknown revision is recorded and never counts", async () => {
    w = await world();
    const { id, merge } = await mergedOnMedia();
    const unknown = "0123456789abcdef0123456789abcdef01234567";
    const r = await report(unknown);
    expect(r.known).toBe(false);
    const rows = await w.t.db.selectFrom("deployments").selectAll().where("revision", "=", unknown).execute();
    expect(rows.map((d) => [d.host, d.known, d.source])).toEqual([[HOST, false, "hook"]]);
    expect((await w.incident(id)).state).toBe("deploying");
    expect((await events(id)).find((e) => e.kind === "deploy_unknown_revision")?.message).toContain(
      "unknown to the repository",
    );

    const dirty = await report(`${merge.toUpperCase()}-dirty`);
    expect(dirty.dirty).toBe(true);
    const i = await w.incident(id);
    expect(i.state).toBe("verifying");
    expect(i.deployed_revision).toBe(`${merge}-dirty`);
    expect((await events(id)).find((e) => e.kind === "deployed")?.message).toContain("dirty");
  });

  it("a revision pushed only after the host reported it counts once a later fetch finds it", async () => {
    w = await world();
    const { id, merge } = await mergedOnMedia();
    // The owner deployed a local commit on top of the merge before pushing it.
    const local = await commitOnTop(merge, "local tweak");
    expect((await report(local)).known).toBe(false);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("deploying");
    // Pushed now; the next fetch for it (after deploy.pollSeconds) finds it, and it contains the fix.
    await git(w.remote.path, ["update-ref", "refs/heads/main", local, merge]);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("deploying");
    w.clock.advance(300);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("verifying");
    const row = await w.t.db
      .selectFrom("deployments")
      .selectAll()
      .where("revision", "=", local)
      .executeTakeFirst();
    expect(row?.known).toBe(true);
  });

  it("untracked: a host that never reported verifies at merge, on the timers, and says so", async () => {
    w = await world();
    const { id } = await w.fixAndMerge("nginx.service", "nas-01");
    const i = await w.incident(id);
    expect(i.state).toBe("verifying");
    const untracked = (await events(id)).find((e) => e.kind === "deploy_untracked");
    expect(untracked?.message).toContain("deployment not tracked");
    expect(untracked?.message).toContain("nas-01");
    // Today's rule: inside the grace a recurrence only attaches.
    w.clock.advance(60);
    await w.fire("nginx.service", "nas-01");
    expect((await w.incident(id)).state).toBe("verifying");
  });

  /** The prompt and context file a run of the incident gets (as agent-turn.ts builds them). */
  const promptFor = async (id: number, kind: "repair" | "follow_up") => {
    const runs = await listRunsForIncident(w.t.db, id);
    const ctx: RunContext = await gatherContext(
      w.t.db,
      await w.incident(id),
      runs.at(-1)?.id ?? 0,
      mirrorPath(w.stateDir),
      "main",
    );
    const input = promptInput(w.deps.config, { kind }, ctx, {
      worktree: "/tmp/wt",
      prBodyFile: "/tmp/pr.md",
    });
    return { prompt: buildPrompt(input), context: buildContext(input), ctx };
  };

  it("a follow-up's prompt says what was observed, and every prompt what the host runs against main", async () => {
    w = await world();
    const { id, merge } = await mergedOnMedia();
    w.clock.advance(60); // comin deployed it 30 s ago, after the old revision's report
    const deployAt = new Date(w.clock.now().getTime() - 30_000);
    await report(merge, "done", deployAt);
    expect((await w.incident(id)).state).toBe("verifying");
    // It came back after the deploy: no grace for a tracked deployment, a follow-up starts at once.
    w.clock.advance(120);
    await w.fire("jellyfin.service", HOST);
    const back = await w.incident(id);
    expect(back.state).toBe("fixing");
    expect((await listRunsForIncident(w.t.db, id)).map((r) => r.kind)).toEqual(["repair", "follow_up"]);

    const { prompt, context, ctx } = await promptFor(id, "follow_up");
    expect(ctx.deployment.drift).toEqual({ kind: "same", dirty: false });
    expect(prompt).toContain(
      `${HOST} runs ${merge} (reported by hook at ${deployAt.toISOString()}): same commit as main`,
    );
    expect(prompt).toContain(
      `observed deployed on ${HOST} at revision ${merge} at ${deployAt.toISOString()}; the alert came back at ${back.last_seen_at.toISOString()}`,
    );
    expect(prompt).not.toContain("merged and deployed");
    expect(context.deployment).toMatchObject({ earlierFix: expect.stringContaining("observed deployed") });

    // main moves on: the host is now behind it.
    await w.remote.commit("main", { "a.nix": "{ }\n" });
    await w.remote.commit("main", { "b.nix": "{ }\n" });
    await ensureMirror({ mirror: mirrorPath(w.stateDir), url: w.remote.url });
    const behind = await promptFor(id, "follow_up");
    expect(behind.prompt).toContain(
      `${HOST} runs ${merge} (reported by hook at ${deployAt.toISOString()}): 2 commit(s) behind main`,
    );
  });

  it("an untracked follow-up never says deployed; a host without reports is 'unknown'", async () => {
    w = await world();
    const { id } = await w.fixAndMerge("nginx.service", "nas-01");
    w.clock.advance(1801);
    await w.fire("nginx.service", "nas-01");
    expect((await w.incident(id)).state).toBe("fixing");
    const { prompt } = await promptFor(id, "follow_up");
    expect(prompt).toContain("nas-01: unknown (nas-01 has reported no revision)");
    expect(prompt).toContain("no deployment of it on nas-01 was observed");
    expect(prompt).not.toMatch(/\bdeployed on\b|merged and deployed/);
  });
});
