import { systemClock } from "../clock.js";
import type { Config } from "../config/load.js";
import { openDatabase } from "../db/database.js";
import type { Incident, Run, Silence } from "../db/tables.js";
import { parseDuration } from "../duration.js";
import { mirrorPath } from "../forge/git.js";
import { type HostView, listHosts } from "../hosts/registry.js";
import { createRevisions } from "../hosts/revisions.js";
import { dismissIncident, incidentDetail, incidentList, retryIncident } from "../incidents/actions.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { createSilence, endSilence, listSilences } from "../incidents/silences.js";
import type { CleanupReport } from "../lifecycle/cleanup.js";
import { deployingIncidents } from "../lifecycle/deploy.repo.js";
import { createLogger } from "../log.js";
import { getRun } from "../runs/queue.repo.js";
import { readRunLog } from "../runs/run-log.js";
import { notifyRunQueued } from "../runs/wakeup.js";

export type Detail = Awaited<ReturnType<typeof incidentDetail>>;

/** What the CLI asks of the service: over HTTP, or straight from Postgres when the service is down. */
export interface HealerClient {
  list(state: string | undefined): Promise<Incident[]>;
  detail(id: number): Promise<Detail>;
  retry(id: number): Promise<{ runId: number; replaces?: string }>;
  dismiss(id: number, reason: string | undefined, closePr: boolean): Promise<unknown>;
  silence(s: {
    service: string;
    alertName?: string | undefined;
    for: string;
    reason?: string | undefined;
  }): Promise<{ silence: Silence }>;
  silences(): Promise<Silence[]>;
  unsilence(id: number): Promise<{ silence: Silence }>;
  run(id: number): Promise<Run>;
  /** The run's output; undefined when it has none (yet). */
  runLog(id: number): Promise<string | undefined>;
  cleanup(): Promise<{ cleanup: CleanupReport }>;
  /** Known hosts, their deployed revisions and the incidents waiting on them. */
  hosts(): Promise<HostView[]>;
  close(): Promise<void>;
}

/** A refusal to show as it is: the service's or the client's own message, no status code or stack. */
export class ClientError extends Error {}

/** The running service's API, with the configured token. */
export function httpClient(config: Config, token: string): HealerClient {
  const host = ["0.0.0.0", "::", ""].includes(config.listen.host) ? "127.0.0.1" : config.listen.host;
  const base = `http://${host.includes(":") ? `[${host}]` : host}:${config.listen.port}/api`;
  const request = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.ok) return res;
    const json = (await res.json().catch(() => ({}))) as { message?: string };
    // The service's message says what is wrong; the status is for scripts, not for people.
    throw Object.assign(
      new ClientError(json.message ?? `the service answered ${res.status} ${res.statusText}`),
      {
        status: res.status,
      },
    );
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
    (await (await request(method, path, body)).json()) as T;
  return {
    list: async (state) =>
      (
        await call<{ incidents: Incident[] }>(
          "GET",
          `/incidents${state ? `?state=${encodeURIComponent(state)}` : ""}`,
        )
      ).incidents,
    detail: (id) => call("GET", `/incidents/${id}`),
    retry: (id) => call("POST", `/incidents/${id}/retry`),
    dismiss: (id, reason, closePr) =>
      call("POST", `/incidents/${id}/dismiss`, {
        ...(reason ? { reason } : {}),
        ...(closePr ? { closePr } : {}),
      }),
    silence: (s) => call("POST", "/silences", s),
    silences: async () => (await call<{ silences: Silence[] }>("GET", "/silences")).silences,
    unsilence: (id) => call("DELETE", `/silences/${id}`),
    run: async (id) => (await call<{ run: Run }>("GET", `/runs/${id}`)).run,
    runLog: async (id) => {
      try {
        return await (await request("GET", `/runs/${id}/log`)).text();
      } catch (e) {
        if ((e as { status?: number }).status === 404) return undefined;
        throw e;
      }
    },
    cleanup: () => call("POST", "/cleanup"),
    hosts: async () => (await call<{ hosts: HostView[] }>("GET", "/hosts")).hosts,
    close: async () => {},
  };
}

/** Straight to Postgres (psql-like): works while the service is down. Not for PGlite (one process only). */
export function directClient(config: Config): HealerClient {
  const db = openDatabase(config.databaseUrl, { max: 2 });
  // The NOTIFY that wakes the service's worker is awaited before the pool closes.
  let notified: Promise<void> = Promise.resolve();
  const deps: IncidentDeps = {
    db,
    log: createLogger({ level: "warn" }),
    clock: systemClock,
    config,
    wakeRuns: () => {
      notified = notifyRunQueued(db).catch(() => {});
    },
  };
  return {
    list: (state) => incidentList(deps, { state }),
    detail: (id) => incidentDetail(deps, id),
    retry: (id) => retryIncident(deps, id),
    dismiss: (id, reason, closePr) => {
      if (closePr) throw new ClientError("--close-pr needs the running service (it holds the forge token)");
      return dismissIncident(deps, id, reason);
    },
    silence: async (s) => {
      const d = parseDuration(s.for);
      if ("error" in d) throw new ClientError(`--for: ${d.error}`);
      return { silence: await createSilence(deps, { ...s, seconds: d.seconds }) };
    },
    silences: () => listSilences(deps),
    unsilence: async (id) => ({ silence: await endSilence(deps, id) }),
    run: async (id) => {
      const run = await getRun(db, id);
      if (!run) throw new ClientError(`no run ${id}`);
      return run;
    },
    runLog: async (id) => {
      try {
        return await readRunLog(config.stateDir, id);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new ClientError(
          err.code === "EACCES"
            ? `cannot read the run's log in ${config.stateDir}: permission denied (run the command as the service's user)`
            : err.message,
        );
      }
    },
    cleanup: async () => {
      throw new ClientError("cleanup needs the running service (homelab-healer serve)");
    },
    // Drift from the mirror as the service last fetched it; hosts only the service polls show there.
    hosts: async () =>
      listHosts({
        db,
        revisions: createRevisions({ mirror: mirrorPath(config.stateDir), url: undefined }),
        branch: config.repo.branch,
        now: new Date(),
        configured: Object.keys(config.hosts),
        waiting: await deployingIncidents(db),
      }),
    close: async () => {
      await notified;
      await db.destroy();
    },
  };
}
