import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { listWorktrees, mirrorPath } from "../../src/forge/git.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { getRun } from "../../src/runs/queue.repo.js";
import { FORGE_KINDS } from "../support/forges.js";
import { OWNER } from "../support/git-remote.js";
import { createWorld, type World } from "./world.js";

const RETAIN = 3600;

describe("cleanup: worktrees and branches (real git, bare remote, fake GitHub / Forgejo)", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("removes finished runs' worktrees after the retention and orphaned folders, never a live run's", async () => {
    w = await createWorld({ lifecycle: { worktreeRetentionSeconds: RETAIN } }, { git: true });
    const done = await w.fire("nginx.service");
    const { runId } = await w.openPr(done, { keepWorktree: true });
    const kept = (await getRun(w.t.db, runId))?.worktree as string;
    expect(existsSync(kept)).toBe(true);
    // A run that is queued right now: its folder (made by an earlier attempt) must survive.
    const live = await w.fire("jellyfin.service");
    const liveDir = join(w.stateDir, "worktrees", `incident-${live}`);
    mkdirSync(liveDir, { recursive: true });
    writeFileSync(join(liveDir, "work.nix"), "{ }\n");
    const stray = join(w.stateDir, "worktrees", "incident-999");
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, "left-over"), "x");

    const first = await w.lifecycle.cleanup();
    expect(first).toMatchObject({ worktreesRemoved: 0, orphansRemoved: 1, errors: [] });
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(liveDir)).toBe(true);

    w.clock.advance(RETAIN);
    const second = await w.lifecycle.cleanup();
    expect(second).toMatchObject({ worktreesRemoved: 1, orphansRemoved: 0, errors: [] });
    expect(existsSync(kept)).toBe(false);
    expect(existsSync(liveDir)).toBe(true);
    expect((await getRun(w.t.db, runId))?.worktree_removed_at?.toISOString()).toBe(
      w.clock.now().toISOString(),
    );
    const registered = await listWorktrees(mirrorPath(w.stateDir));
    expect(registered.map((r) => r.path)).not.toContain(kept);

    // Safe to run again: nothing left to do.
    expect(await w.lifecycle.cleanup()).toMatchObject({ worktreesRemoved: 0, orphansRemoved: 0, errors: [] });
    expect(existsSync(liveDir)).toBe(true);
  });

  it.each(FORGE_KINDS)(
    "on %s: deletes the branch of a merged or closed PR, keeps an open one's, and keeps a human-touched one with an event",
    async (kind) => {
      w = await createWorld({}, { git: true, kind });
      const merged = await w.fire("nginx.service");
      const closed = await w.fire("jellyfin.service");
      const open = await w.fire("sonarr.service");
      const touched = await w.fire("radarr.service");
      const prs: Record<number, number> = {};
      for (const id of [merged, closed, open, touched]) prs[id] = (await w.openPr(id)).pr;
      await w.remote.commit(
        `healer/incident-${touched}`,
        { "hosts/media-01/extra.nix": "{ }\n" },
        { author: OWNER },
      );
      w.fake.merge(prs[merged] as number);
      w.fake.close(prs[closed] as number);
      w.fake.merge(prs[touched] as number);
      await w.lifecycle.tick(); // polls the PRs (and runs a first cleanup pass)
      expect((await w.incident(merged)).state).toBe("verifying");
      expect((await w.incident(closed)).state).toBe("dismissed");

      await w.lifecycle.cleanup();
      const branches = await w.remote.branches();
      expect(branches).not.toContain(`healer/incident-${merged}`);
      expect(branches).not.toContain(`healer/incident-${closed}`);
      expect(branches).toContain(`healer/incident-${open}`);
      expect(branches).toContain(`healer/incident-${touched}`);

      const cleanupEvents = async (id: number) =>
        (await incidentEvents(w.t.db, id)).filter((e) => e.kind === "branch_cleanup");
      expect((await cleanupEvents(merged)).map((e) => e.data)).toMatchObject([
        { result: "deleted", prState: "merged" },
      ]);
      expect((await cleanupEvents(closed)).map((e) => e.data)).toMatchObject([
        { result: "deleted", prState: "closed" },
      ]);
      expect(await cleanupEvents(open)).toHaveLength(0);
      const [kept] = await cleanupEvents(touched);
      expect(kept?.data).toMatchObject({ result: "foreign", authors: [OWNER.email] });
      expect(kept?.message).toContain("kept");

      // Twice is the same as once: no new events, the kept branch stays.
      const again = await w.lifecycle.cleanup();
      expect(again).toMatchObject({ branchesDeleted: 0, branchesKept: 0, branchesAbsent: 0, errors: [] });
      for (const id of [merged, closed, touched]) expect(await cleanupEvents(id)).toHaveLength(1);
      expect(await w.remote.branches()).toContain(`healer/incident-${touched}`);
    },
  );
});

describe("cleanup: retention", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("purges old deliveries and alerts, never those of live incidents", async () => {
    w = await createWorld({ lifecycle: { alertRetentionDays: 30 } });
    const gone = await w.fire("nginx.service");
    const live = await w.fire("jellyfin.service");
    await w.deps.db.updateTable("incidents").set({ state: "resolved" }).where("id", "=", gone).execute();
    const count = async (table: "alerts" | "deliveries") =>
      Number(
        (
          await w.deps.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count("alerts")).toBe(2);

    w.clock.advance(29 * 86_400);
    expect(await w.lifecycle.cleanup()).toMatchObject({ alertsPurged: 0, deliveriesPurged: 0 });
    w.clock.advance(2 * 86_400);
    const fresh = await w.fire("sonarr.service");
    const r = await w.lifecycle.cleanup();
    expect(r).toMatchObject({ alertsPurged: 1, deliveriesPurged: 1, errors: [] });
    const left = await w.deps.db.selectFrom("alerts").select("incident_id").orderBy("id").execute();
    expect(left.map((a) => a.incident_id)).toEqual([live, fresh]);
    expect(await count("deliveries")).toBe(2);
    expect(await w.lifecycle.cleanup()).toMatchObject({ alertsPurged: 0, deliveriesPurged: 0 });
  });
});
