import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.js";
import type { Secrets } from "../../src/config/load.js";
import type { Incident } from "../../src/db/tables.js";
import { createForge } from "../../src/forge/forge.js";
import { commitAll, createWorktree, ensureMirror, mirrorPath, pushBranch } from "../../src/forge/git.js";
import type { IncidentDeps } from "../../src/incidents/deps.js";
import { getIncident, incidentEvents } from "../../src/incidents/incidents.repo.js";
import { ingestDelivery } from "../../src/ingest/ingest.js";
import { createLifecycle, type Lifecycle, type LifecycleOptions } from "../../src/lifecycle/lifecycle.js";
import { finishAndTransition } from "../../src/runs/finish.js";
import { claimNextRun } from "../../src/runs/queue.repo.js";
import { memoryLogger, testConfig } from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { createFakeForge, type FakeForge, type ForgeKind, fakeForgeConfig } from "../support/forges.js";
import { createHomelabRemote, type HomelabRemote } from "../support/git-remote.js";

export const WEBHOOK_SECRET = "webhook-secret-for-tests";

/** A database, a manual clock, a bare homelab repo, a fake forge (GitHub or Forgejo) and the lifecycle wired to them. */
export interface World {
  t: TestDatabase;
  clock: ManualClock;
  deps: IncidentDeps;
  lines: Record<string, unknown>[];
  /** The fake forge the world's PRs live on. */
  fake: FakeForge;
  remote: HomelabRemote;
  dir: string;
  stateDir: string;
  lifecycle: Lifecycle;
  /** One firing occurrence of the alert for `service` (a distinct occurrence each call); its incident id. */
  fire(service: string): Promise<number>;
  /** Plays the worker for the incident's queued run: pushes a change, opens the PR, finishes the run. */
  openPr(incidentId: number, opts?: { keepWorktree?: boolean }): Promise<{ runId: number; pr: number }>;
  incident(id: number): Promise<Incident>;
  kinds(id: number): Promise<string[]>;
  close(): Promise<void>;
}

let occurrence = 0;

/** Builds a World; `raw` is merged into the config (lifecycle keys, notify). */
export async function createWorld(
  raw: Record<string, unknown> = {},
  opts: LifecycleOptions & { secrets?: Partial<Secrets>; git?: boolean; kind?: ForgeKind } = {},
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "healer-lifecycle-"));
  const stateDir = join(dir, "state");
  const t = await createTestDatabase();
  const remote = await createHomelabRemote(dir);
  // Without git, the fake forge makes up head shas and PRs need no pushed branch (fast).
  const fake = await createFakeForge(opts.kind ?? "github", opts.git ? { bareRepo: remote.path } : {});
  const clock = new ManualClock();
  const { log, lines } = memoryLogger();
  const config = testConfig(
    {
      repo: { url: remote.url, branch: "main" },
      forge: fakeForgeConfig(fake, join(dir, "forge-token")),
      triage: { settleSeconds: 0 },
      ...raw,
    },
    t.url,
    stateDir,
  );
  const deps: IncidentDeps = { db: t.db, log, clock, config, wakeRuns: () => {} };
  const secrets: Secrets = {
    token: "t",
    sourceTokens: {},
    agentEnv: {},
    forgeToken: fake.token,
    githubWebhookSecret: WEBHOOK_SECRET,
    forgejoWebhookSecret: WEBHOOK_SECRET,
    ...opts.secrets,
  };
  const forge =
    opts.forge ?? createForge(config, secrets, { retry: { retries: 0, baseDelayMs: 1, paceWrites: false } });
  const lifecycle = createLifecycle({ ...deps, secrets }, { ...opts, forge });
  Object.assign(deps, lifecycle.hooks);
  const mirror = mirrorPath(stateDir);

  const w: World = {
    t,
    clock,
    deps,
    lines,
    fake,
    remote,
    dir,
    stateDir,
    lifecycle,
    async fire(service) {
      const body = JSON.stringify({
        name: "ServiceDown",
        service,
        host: "lab",
        summary: `${service} is down`,
        idempotencyKey: `occ-${process.pid}-${++occurrence}`,
      });
      const r = await ingestDelivery(deps, {
        source: "generic",
        body,
        bodyBytes: body.length,
        contentType: "application/json",
        remoteAddr: "127.0.0.1",
      });
      if (r.kind !== "accepted" || r.incidents.length !== 1)
        throw new Error(`not accepted: ${JSON.stringify(r)}`);
      return r.incidents[0] as number;
    },
    async openPr(incidentId, o = {}) {
      const run = await claimNextRun(t.db, {
        workerId: "test-worker",
        now: clock.now(),
        leaseSeconds: 600,
        maxConcurrentRuns: 10,
      });
      if (!run || run.incident_id !== incidentId) throw new Error(`no queued run for incident ${incidentId}`);
      if (!opts.git) {
        const pr = await forge.createPr({
          head: run.branch,
          base: "main",
          title: "fix",
          body: "b",
          draft: false,
        });
        if (!pr) throw new Error("no PR");
        await finishAndTransition(
          deps,
          { id: run.id, incidentId, workerId: "test-worker" },
          { outcome: "pr_opened", message: `opened PR ${pr.url}`, prUrl: pr.url, prNumber: pr.number },
        );
        return { runId: run.id, pr: pr.number };
      }
      await ensureMirror({ mirror, url: remote.url });
      const wt = await createWorktree(
        mirror,
        { branch: run.branch, base: "origin/main", path: join(stateDir, "worktrees", run.branch.slice(7)) },
        {},
      );
      writeFileSync(join(wt.path, `fix-${run.id}.nix`), `{ run = ${run.id}; }\n`);
      await commitAll(wt.path, {
        message: `fix incident ${incidentId}`,
        authorName: config.repo.authorName,
        authorEmail: config.repo.authorEmail,
        incidentId,
      });
      await pushBranch(mirror, run.branch, { forceWithLease: true });
      const pr = await forge.createPr({
        head: run.branch,
        base: "main",
        title: "fix",
        body: "b",
        draft: false,
      });
      if (!pr) throw new Error("no PR");
      if (!o.keepWorktree) rmSync(wt.path, { recursive: true, force: true });
      await finishAndTransition(
        deps,
        { id: run.id, incidentId, workerId: "test-worker" },
        {
          outcome: "pr_opened",
          message: `opened PR ${pr.url}`,
          prUrl: pr.url,
          prNumber: pr.number,
          worktree: wt.path,
        },
      );
      return { runId: run.id, pr: pr.number };
    },
    async incident(id) {
      const i = await getIncident(t.db, id);
      if (!i) throw new Error(`no incident ${id}`);
      return i;
    },
    kinds: async (id) => (await incidentEvents(t.db, id)).map((e) => e.kind),
    async close() {
      await lifecycle.idle();
      await fake.stop();
      await t.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return w;
}
