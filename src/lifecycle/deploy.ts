import type { Deployment } from "../db/tables.js";
import { mirrorPath } from "../forge/git.js";
import {
  hostHasReported,
  insertDeployment,
  latestFromSource,
  setDeploymentKnown,
} from "../hosts/deployments.repo.js";
import { type InspectorLike, pollHosts } from "../hosts/poll.js";
import { queryPrometheus } from "../hosts/prometheus.js";
import { type HostView, listHosts } from "../hosts/registry.js";
import type { Report } from "../hosts/report.js";
import { createRevisions, hostKey, type Revisions } from "../hosts/revisions.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { deployingIncidents } from "./deploy.repo.js";
import { type DeployJudge, judgeDeploying, reportToWaiting } from "./deploy-apply.js";

/** Whether an incident's host has a revision source, and which; or why not. */
export type Tracking = { tracked: true; sources: string[] } | { tracked: false; why: string };

/** Deployed revisions: stored, polled, and applied to the incidents waiting for them. */
export interface DeployTracker {
  /** Stores a report, checks its commit in the mirror, and applies it to the incidents waiting on its host. */
  record(report: Report): Promise<{ deployment: Deployment; known: boolean | null }>;
  /**
   * A host has a revision source when it has reported before (any source), is configured under
   * `hosts.*` (polled through the inspection channel), or Prometheus is configured and lists it
   * (asked once more right here before answering no). Without a host there is nothing to track.
   */
  tracking(host: string | null): Promise<Tracking>;
  /** Judges one incident now (right after it entered `deploying`: the host may run the fix already). */
  judge(incidentId: number): Promise<void>;
  /** One pass: polls the sources when due (at start, then every deploy.pollSeconds while some incident waits), judges every waiting incident. */
  tick(): Promise<void>;
  /** Every known host, its revision, drift and the incidents waiting on it (`GET /api/hosts`). */
  hosts(): Promise<HostView[]>;
  /** The mirror's answers (drift for prompts and `hosts`). */
  revisions: Revisions;
}

/** Builds the tracker; `inspector` is the inspection channel when hosts are configured. */
export function createDeployTracker(
  deps: IncidentDeps,
  opts: { inspector?: InspectorLike | undefined; revisions?: Revisions } = {},
): DeployTracker {
  const { config, log, db } = deps;
  const revisions =
    opts.revisions ??
    createRevisions({
      mirror: mirrorPath(config.stateDir),
      url: config.repo.url,
      git: {
        ...(config.repo.sshKeyFile ? { sshKeyFile: config.repo.sshKeyFile } : {}),
        ...(config.repo.knownHostsFile ? { knownHostsFile: config.repo.knownHostsFile } : {}),
      },
      refetchMs: config.deploy.pollSeconds * 1000,
      now: () => deps.clock.now().getTime(),
    });
  const containsCache = new Map<string, boolean>();
  const judge: DeployJudge = {
    deps,
    async known(d) {
      // A commit once found stays found; "unknown" is asked again (it may have been pushed since).
      if (d.known === true) return true;
      try {
        const known = await revisions.known(d.revision);
        if (known === undefined) return null;
        if (known !== d.known) await setDeploymentKnown(db, d.id, known);
        return known;
      } catch (err) {
        log.warn(
          { err, host: d.host, revision: d.revision },
          "checking a deployed revision in the mirror failed; trying again later",
        );
        return null;
      }
    },
    async contains(fix, revision) {
      const key = `${fix}:${revision}`;
      let hit = containsCache.get(key);
      if (hit === undefined) {
        hit = await revisions.contains(fix, revision);
        containsCache.set(key, hit);
      }
      return hit;
    },
  };
  const prometheus = config.deploy.prometheus;
  const inspector = opts.inspector;
  let lastPoll: number | undefined;

  const record = async (report: Report) => {
    const now = deps.clock.now();
    const deployment = await insertDeployment(db, {
      host: report.host,
      revision: report.revision,
      dirty: report.dirty,
      status: report.status,
      at: report.at ?? now,
      receivedAt: now,
      source: report.source,
    });
    log.info(
      {
        event: "deployment",
        host: deployment.host,
        revision: deployment.revision,
        dirty: deployment.dirty,
        status: deployment.status,
        source: deployment.source,
      },
      `${deployment.host} reports ${deployment.status} ${deployment.revision}${deployment.dirty ? "-dirty" : ""} (${deployment.source})`,
    );
    const known = await judge.known(deployment);
    try {
      await reportToWaiting(judge, { ...deployment, known }, await deployingIncidents(db));
    } catch (err) {
      // Stored is stored: the next pass judges the waiting incidents again.
      log.warn(
        { err, host: deployment.host },
        "applying a deployment to waiting incidents failed; the next pass retries",
      );
    }
    return { deployment, known };
  };

  /** A poller's report is stored only when it differs from that source's last one for the host. */
  const recordIfChanged = async (r: Report) => {
    const last = await latestFromSource(db, r.host, r.source);
    if (last && last.revision === r.revision && last.dirty === r.dirty && last.status === r.status) return;
    await record(r);
  };

  const pollPrometheus = async () => {
    if (!prometheus) return;
    const answer = await queryPrometheus(prometheus);
    if (!answer.ok) {
      log.warn(
        { event: "deploy_source_failed", source: "prometheus" },
        `deploy.prometheus: ${answer.error}; keeping the last known revisions`,
      );
      return;
    }
    for (const s of answer.skipped)
      log.warn({ event: "deploy_source_skipped", source: "prometheus" }, `deploy.prometheus: skipped ${s}`);
    for (const r of answer.reports) await recordIfChanged(r);
  };

  const poll = async () => {
    await pollPrometheus();
    if (inspector) for (const r of await pollHosts(inspector, log)) await recordIfChanged(r);
  };

  return {
    record,
    revisions,
    async hosts() {
      return listHosts({
        db,
        revisions,
        branch: config.repo.branch,
        now: deps.clock.now(),
        configured: inspector?.hosts() ?? [],
        waiting: await deployingIncidents(db),
      });
    },
    async tracking(host) {
      if (host === null || host.trim() === "") return { tracked: false, why: "the incident names no host" };
      const key = hostKey(host);
      const sources: string[] = [];
      if (inspector?.hosts().some((h) => hostKey(h) === key)) sources.push(`inspection (hosts.${key})`);
      if (prometheus && !(await hostHasReported(db, key))) await pollPrometheus();
      if (await hostHasReported(db, key)) sources.push("its deployment reports");
      if (sources.length > 0) return { tracked: true, sources };
      const prom = prometheus ? "Prometheus does not list it" : "deploy.prometheus is not set";
      return {
        tracked: false,
        why: `no revision source knows ${key}: it never posted to /hooks/deployment, it is not under hosts.*, and ${prom}`,
      };
    },
    async judge(incidentId) {
      const incident = (await deployingIncidents(db)).find((i) => i.id === incidentId);
      if (incident) await judgeDeploying(judge, incident);
    },
    async tick() {
      const waiting = await deployingIncidents(db);
      const now = deps.clock.now().getTime();
      const due =
        lastPoll === undefined || (waiting.length > 0 && now - lastPoll >= config.deploy.pollSeconds * 1000);
      if (due && (prometheus || inspector)) {
        lastPoll = now;
        await poll();
      } else if (due) lastPoll = now;
      for (const incident of await deployingIncidents(db)) {
        try {
          await judgeDeploying(judge, incident);
        } catch (err) {
          log.warn({ err, incident: incident.id }, "judging a deployment failed; the next pass retries");
        }
      }
    },
  };
}
