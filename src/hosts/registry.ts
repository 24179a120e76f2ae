import type { Db } from "../db/database.js";
import type { Deployment, Incident } from "../db/tables.js";
import { latestPerHost } from "./deployments.repo.js";
import { type Drift, driftText, hostKey, type Revisions } from "./revisions.js";

/** One homelab host as `GET /api/hosts` and `homelab-healer hosts` show it. */
export interface HostView {
  host: string;
  /** The newest `done` revision (what it runs), `-dirty` when it was; null when none is known. */
  revision: string | null;
  /** The newest report of any status (a failed deployment after the running one shows here). */
  lastReport: {
    revision: string;
    status: string;
    source: string;
    at: string;
    known: boolean | null;
  } | null;
  source: string | null;
  deployedAt: string | null;
  ageSeconds: number | null;
  /** Whether the mirror has the running commit: false = unknown to the repository. */
  known: boolean | null;
  /** Commits behind `repo.branch` (null unless it is an ancestor of the branch). */
  behind: number | null;
  drift: Drift;
  driftText: string;
  /** Configured under `hosts.*` (polled through the inspection channel). */
  configured: boolean;
  /** Incidents in `deploying` that wait for this host. */
  waiting: { id: number; title: string; fix: string | null; mergedAt: string | null }[];
}

const full = (d: Deployment) => `${d.revision}${d.dirty ? "-dirty" : ""}`;

/**
 * Every known host: those that reported, those configured under `hosts.*`, and those incidents wait
 * on; sorted by name. Drift is read from the mirror as last fetched (listing fetches nothing).
 */
export async function listHosts(args: {
  db: Db;
  revisions: Revisions;
  branch: string;
  now: Date;
  configured: string[];
  waiting: Incident[];
}): Promise<HostView[]> {
  const running = new Map((await latestPerHost(args.db, "done")).map((d) => [d.host, d]));
  const newest = new Map((await latestPerHost(args.db)).map((d) => [d.host, d]));
  const configured = new Set(args.configured.map(hostKey));
  const names = new Set<string>([...newest.keys(), ...configured]);
  for (const i of args.waiting) if (i.host) names.add(hostKey(i.host));
  const views: HostView[] = [];
  for (const host of [...names].sort()) {
    const d = running.get(host);
    const last = newest.get(host);
    const drift: Drift = d
      ? await args.revisions
          .drift(d.revision, d.dirty, args.branch)
          .catch(
            (e: unknown): Drift => ({ kind: "unknown", why: `git: ${(e as Error).message.split("\n")[0]}` }),
          )
      : { kind: "unknown", why: "no revision reported yet" };
    views.push({
      host,
      revision: d ? full(d) : null,
      lastReport: last
        ? {
            revision: full(last),
            status: last.status,
            source: last.source,
            at: last.at.toISOString(),
            known: last.known,
          }
        : null,
      source: d?.source ?? null,
      deployedAt: d?.at.toISOString() ?? null,
      ageSeconds: d ? Math.max(0, Math.round((args.now.getTime() - d.at.getTime()) / 1000)) : null,
      known: d?.known ?? null,
      behind: drift.kind === "behind" ? drift.commits : drift.kind === "same" ? 0 : null,
      drift,
      driftText: driftText(drift, args.branch),
      configured: configured.has(host),
      waiting: args.waiting
        .filter((i) => i.host !== null && hostKey(i.host) === host)
        .map((i) => ({
          id: i.id,
          title: i.title,
          fix: i.pr_merge_sha,
          mergedAt: i.pr_merged_at?.toISOString() ?? null,
        })),
    });
  }
  return views;
}
