import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { latestDeployment } from "../../src/hosts/deployments.repo.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { createWorld, type World } from "../lifecycle/world.js";
import { type Daemon, missingBinaries, PROMETHEUS_BIN, startPrometheus } from "../support/daemons.js";

/*
 * deploy.prometheus with Debian's real Prometheus (issue 21): it scrapes a tiny exporter serving
 * comin's gauge (`comin_deployment_info{commit_id, status}`, here with a `host` label as a homelab's
 * relabelling gives it), and the healer's query moves an incident from deploying to verifying once
 * the host's commit contains the merge. `.ci/run` installs prometheus; without it this says so once.
 */

const missing = missingBinaries(PROMETHEUS_BIN);
if (missing.length > 0)
  console.log(`prometheus deploy e2e skipped: ${PROMETHEUS_BIN} not installed (apt-get install prometheus)`);

/** A comin stand-in's /metrics: the deployed commit of media-01 as comin labels it. */
function startExporter(state: { commit: string }): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(
      `# HELP comin_deployment_info Info of the last deployment.\n# TYPE comin_deployment_info gauge\ncomin_deployment_info{commit_id="${state.commit}",status="done",host="media-01"} 1\n`,
    );
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    ),
  );
}

/** Waits until Prometheus's own answer carries `commit` (scrapes are every second). */
async function scraped(url: string, commit: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const q = new URL("/api/v1/query", url);
    q.searchParams.set("query", 'comin_deployment_info{status="done"}');
    const body = (await (await fetch(q)).json()) as {
      data?: { result?: { metric: Record<string, string> }[] };
    };
    if (body.data?.result?.some((r) => r.metric.commit_id === commit)) return;
    if (Date.now() > deadline)
      throw new Error(`Prometheus never showed commit ${commit}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const POLL = 300;

describe.skipIf(missing.length > 0)("deploy.prometheus against Debian's Prometheus", () => {
  let prometheus: Daemon | undefined;
  let exporter: Server | undefined;
  let w: World | undefined;
  const dir = mkdtempSync(join(tmpdir(), "healer-prom-deploy-"));
  afterAll(async () => {
    await prometheus?.stop();
    await new Promise<void>((resolve) => (exporter ? exporter.close(() => resolve()) : resolve()));
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("moves an incident from deploying to verifying once media-01's commit contains the merge", {
    timeout: 60_000,
  }, async () => {
    const state = { commit: "0".repeat(40) };
    const started = await startExporter(state);
    exporter = started.server;
    prometheus = await startPrometheus(
      dir,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: comin\n    static_configs:\n      - targets: ["127.0.0.1:${started.port}"]\n`,
    );
    w = await createWorld(
      { deploy: { pollSeconds: POLL, prometheus: { url: prometheus.url } } },
      { git: true },
    );
    // media-01 runs main as it is.
    state.commit = (await w.remote.head("main")) as string;
    await scraped(prometheus.url, state.commit);

    await w.lifecycle.tick(); // once at start
    expect(await latestDeployment(w.t.db, "media-01", "done")).toMatchObject({
      revision: state.commit,
      source: "prometheus",
      known: true,
    });
    const { id, merge } = await w.fixAndMerge("jellyfin.service", "media-01");
    expect((await w.incident(id)).state).toBe("deploying");

    // comin deploys the merge; Prometheus scrapes it; the next poll sees it.
    state.commit = merge;
    await scraped(prometheus.url, merge);
    w.clock.advance(POLL);
    await w.lifecycle.tick();
    const i = await w.incident(id);
    expect(i.state).toBe("verifying");
    expect(i.deployed_revision).toBe(merge);
    const deployed = (await incidentEvents(w.t.db, id)).find((e) => e.kind === "deployed");
    expect(deployed?.data).toMatchObject({ host: "media-01", source: "prometheus" });
  });
});

describe("a Prometheus that is down or answers garbage", () => {
  let w: World | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await w?.close();
  });

  it("is a warning; the last known revisions stay and nothing crashes", async () => {
    let answer = JSON.stringify({
      status: "success",
      data: {
        resultType: "vector",
        result: [
          {
            metric: { commit_id: "a".repeat(40), status: "done", instance: "media-01:4243" },
            value: [1, "1"],
          },
          { metric: { commit_id: "not-a-sha", status: "done", host: "nas-01" }, value: [1, "1"] },
        ],
      },
    });
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(answer);
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    w = await createWorld({ deploy: { pollSeconds: 1, prometheus: { url } } });
    await w.lifecycle.tick();
    // The host from `instance` without its port; the series with a bad commit id skipped, said so.
    expect(await latestDeployment(w.t.db, "media-01")).toMatchObject({
      revision: "a".repeat(40),
      source: "prometheus",
    });
    expect(
      w.lines.some((l) => String(l.msg).includes('skipped "nas-01": revision must be 40 hex digits')),
    ).toBe(true);

    const warnings = () =>
      w!.lines.filter((l) => l.event === "deploy_source_failed").map((l) => String(l.msg));
    answer = "<html>garbage</html>";
    // An incident waits, so polling goes on every pollSeconds.
    await w.t.db
      .updateTable("deployments")
      .set({ at: new Date(0) })
      .execute();
    const id = await w.fire("x.service", "media-01");
    await w.t.db
      .updateTable("incidents")
      .set({ state: "deploying", pr_merge_sha: "b".repeat(40) })
      .where("id", "=", id)
      .execute();
    w.clock.advance(1);
    await w.lifecycle.tick();
    answer = JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error" });
    w.clock.advance(1);
    await w.lifecycle.tick();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    w.clock.advance(1);
    await w.lifecycle.tick();
    expect(warnings()).toHaveLength(3);
    expect(warnings()[0]).toMatch(/deploy\.prometheus: .*JSON.*keeping the last known revisions$/);
    expect(warnings()[1]).toContain("not a Prometheus vector answer");
    expect(warnings()[2]).toMatch(/fetch failed|ECONNREFUSED/);
    const rows = await w.t.db.selectFrom("deployments").selectAll().execute();
    expect(rows.map((r) => r.revision)).toEqual(["a".repeat(40)]);
    expect((await w.incident(id)).state).toBe("deploying");
  });
});
