import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ALERTMANAGER_BIN,
  type Daemon,
  missingBinaries,
  PROMETHEUS_BIN,
  startAlertmanager,
  startPrometheus,
} from "../support/daemons.js";
import { type Healer, SERVE_TOKEN, startHealer } from "../support/serve.js";

/*
 * The chain a homelab owner runs (issue 9 part 2), with Debian's real binaries: an exporter (node:http
 * here) → Prometheus (scrape and evaluation every 1 s, SystemdUnitFailed `for: 0s`) → Alertmanager
 * (group_wait/group_interval 1 s, repeat_interval 2 s, send_resolved, bearer token from
 * credentials_file) → POST /hooks/alertmanager of the whole service on the real PostgreSQL. It guards
 * the parser against what Alertmanager really sends: grouping (a group change resends every alert of
 * the group), repeat notifications, and resolved notifications, per alert.
 * Installs nothing: `.ci/run` installs the packages; without them this file says so once and skips.
 */

const missing = missingBinaries(PROMETHEUS_BIN, ALERTMANAGER_BIN);
if (missing.length > 0) {
  console.log(
    `prometheus e2e skipped: ${missing.join(" and ")} not installed (apt-get install prometheus prometheus-alertmanager)`,
  );
}

interface AmBody {
  alerts: { status: string; labels: Record<string, string> }[];
}

/** A node-exporter stand-in: node_systemd_unit_state{state="failed"} for the units in `failed`. */
function startExporter(failed: Map<string, 0 | 1>): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    const lines = ["# TYPE node_systemd_unit_state gauge"];
    for (const [unit, value] of failed) {
      lines.push(`node_systemd_unit_state{name="${unit}",state="failed",type="simple"} ${value}`);
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(`${lines.join("\n")}\n`);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    ),
  );
}

const RULES = `groups:
  - name: systemd
    rules:
      - alert: SystemdUnitFailed
        expr: node_systemd_unit_state{state="failed"} == 1
        for: 0s
        labels:
          severity: critical
        annotations:
          summary: "systemd unit {{ $labels.name }} failed on {{ $labels.instance }}"
`;

function prometheusConfig(exporterPort: number, alertmanagerUrl: string): string {
  return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["${new URL(alertmanagerUrl).host}"]
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:${exporterPort}"]
    relabel_configs:
      # As a homelab names its node-exporter targets: the host is what the alert must name.
      - target_label: instance
        replacement: media-01:9100
`;
}

/** The receiver block the README shows, pointed at this healer. */
function alertmanagerConfig(healerUrl: string, tokenFile: string): string {
  return `route:
  receiver: homelab-healer
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: homelab-healer
    webhook_configs:
      - url: "${healerUrl}/hooks/alertmanager"
        send_resolved: true
        http_config:
          authorization:
            credentials_file: "${tokenFile}"
`;
}

describe.skipIf(missing.length > 0)("Prometheus → Alertmanager → healer (real binaries)", () => {
  const daemons: Daemon[] = [];
  let exporter: Server | undefined;
  let h: Healer | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    // Every process by its PID, whatever failed above; then the service, its database and the dirs.
    for (const d of daemons.reverse()) await d.stop();
    await new Promise<void>((resolve) => (exporter ? exporter.close(() => resolve()) : resolve()));
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("makes one incident per failed unit on its host, ignores repeats, and honours resolved per SPEC §6 rule 3", {
    timeout: 60_000,
  }, async () => {
    const deadline = Date.now() + 55_000;
    dir = mkdtempSync(join(tmpdir(), "healer-prom-"));
    // settleSeconds 1 h: incidents stay `open` unless the operator starts a run (the second case).
    const healer = await startHealer({
      agentMode: "no-change",
      config: (base) => ({ ...base, triage: { settleSeconds: 3600 } }),
    });
    h = healer;
    const failed = new Map<string, 0 | 1>([["jellyfin.service", 1]]);
    const started = await startExporter(failed);
    exporter = started.server;
    const tokenFile = join(dir, "healer-token");
    writeFileSync(tokenFile, `${SERVE_TOKEN}\n`, { mode: 0o600 });
    const am = await startAlertmanager(dir, alertmanagerConfig(healer.url, tokenFile));
    daemons.push(am);
    writeFileSync(join(dir, "rules.yml"), RULES);
    daemons.push(await startPrometheus(dir, prometheusConfig(started.port, am.url)));

    const waitFor = <T>(what: string, check: () => Promise<T | undefined | null | false>) =>
      healer.waitFor(what, check, Math.max(1000, deadline - Date.now())).catch((cause: unknown) => {
        const logs = daemons.map((d) => d.stderr()).join("\n");
        throw new Error(`${String(cause)}\n${logs}`.slice(0, 4000));
      });
    const db = healer.t.db;
    const incidentOf = (service: string) =>
      db.selectFrom("incidents").selectAll().where("service", "=", service).orderBy("id").execute();
    const deliveries = async () =>
      (
        await db
          .selectFrom("deliveries")
          .select(["body", "alert_count", "duplicate_alerts", "parse_error", "repeats"])
          .where("source", "=", "alertmanager")
          .orderBy("id")
          .execute()
      ).map((d) => ({ ...d, parsed: JSON.parse(d.body) as AmBody }));
    const firingUnits = (b: AmBody) =>
      b.alerts.filter((a) => a.status === "firing").map((a) => a.labels.name ?? "");

    // 1. One incident for jellyfin.service on media-01 (instance without its port).
    const [jellyfin] = await waitFor("an incident for jellyfin.service", async () => {
      const rows = await incidentOf("jellyfin.service");
      return rows.length > 0 && rows;
    });
    expect(jellyfin).toMatchObject({
      service: "jellyfin.service",
      host: "media-01",
      alert_name: "SystemdUnitFailed",
      severity: "critical",
      state: "open",
      source: "alertmanager",
    });

    // 2. Repeat notifications (repeat_interval 2 s) carry the same alert: never a new occurrence.
    // They are exact repeats: answered from memory and counted on the first delivery (written
    // each second), not stored again.
    await waitFor("two repeat notifications counted", async () => (await deliveries())[0]!.repeats >= 2);
    const repeats = await deliveries();
    expect(repeats).toHaveLength(1);
    expect(repeats[0]!.parse_error).toBeNull();
    expect(firingUnits(repeats[0]!.parsed)).toEqual(["jellyfin.service"]);
    const [afterRepeats] = await incidentOf("jellyfin.service");
    expect(afterRepeats).toMatchObject({ id: jellyfin!.id, occurrences: 1 });

    // 3. A second unit joins the group: Alertmanager resends the whole group, jellyfin included.
    failed.set("sonarr.service", 1);
    const [sonarr] = await waitFor("an incident for sonarr.service", async () => {
      const rows = await incidentOf("sonarr.service");
      return rows.length > 0 && rows;
    });
    expect(sonarr).toMatchObject({ host: "media-01", state: "open" });
    expect(sonarr!.id).not.toBe(jellyfin!.id);
    const both = await waitFor("a notification of the grown group", async () =>
      (await deliveries()).some((d) => firingUnits(d.parsed).length === 2),
    );
    expect(both).toBe(true);
    expect((await incidentOf("jellyfin.service"))[0]).toMatchObject({ occurrences: 1 });

    // The operator starts a run for sonarr: its incident moves on (fixing, then needs_human: no change).
    const retry = await healer.api(`/incidents/${sonarr!.id}/retry`, { method: "POST" });
    expect(retry.status).toBeLessThan(300);

    // 4. jellyfin recovers while its incident is still settling (open): the resolve resolves it.
    failed.set("jellyfin.service", 0);
    const resolvedJellyfin = await waitFor("jellyfin's incident resolved", async () => {
      const [row] = await incidentOf("jellyfin.service");
      return row?.state === "resolved" && row;
    });
    expect(resolvedJellyfin.resolved_by_source_at).not.toBeNull();
    const jellyfinAlerts = await db
      .selectFrom("alerts")
      .select(["status", "incident_id"])
      .where("fingerprint", "=", jellyfin!.fingerprint)
      .orderBy("id")
      .execute();
    expect(jellyfinAlerts).toEqual([
      { status: "firing", incident_id: jellyfin!.id },
      { status: "resolved", incident_id: jellyfin!.id },
    ]);

    // 5. sonarr recovers after its incident moved on: the resolve is recorded, the state stays.
    await waitFor("sonarr's run to end in needs_human", async () => {
      const [row] = await incidentOf("sonarr.service");
      return row?.state === "needs_human";
    });
    failed.set("sonarr.service", 0);
    // The alert row commits first; judging the resolve follows it, so wait for its event.
    await waitFor("sonarr's source_resolved event", async () => {
      const row = await db
        .selectFrom("incident_events")
        .select("id")
        .where("incident_id", "=", sonarr!.id)
        .where("kind", "=", "source_resolved")
        .executeTakeFirst();
      return row !== undefined;
    });
    const sonarrAlerts = await db
      .selectFrom("alerts")
      .select(["status", "incident_id"])
      .where("fingerprint", "=", sonarr!.fingerprint)
      .orderBy("id")
      .execute();
    expect(sonarrAlerts).toEqual([
      { status: "firing", incident_id: sonarr!.id },
      { status: "resolved", incident_id: sonarr!.id },
    ]);
    const [after] = await incidentOf("sonarr.service");
    expect(after).toMatchObject({ id: sonarr!.id, state: "needs_human" });
    expect(after!.resolved_by_source_at).not.toBeNull();

    // Through it all: one occurrence per unit (resolves are not occurrences), however often
    // Alertmanager sent it.
    const counts = await db
      .selectFrom("incidents")
      .select(["service", "occurrences"])
      .where("source", "=", "alertmanager")
      .orderBy("id")
      .execute();
    expect(counts).toEqual([
      { service: "jellyfin.service", occurrences: 1 },
      { service: "sonarr.service", occurrences: 1 },
    ]);
    // However often Alertmanager sent it: stored once, the rest counted as repeats.
    const all = await deliveries();
    expect(all.length + all.reduce((n, d) => n + d.repeats, 0)).toBeGreaterThanOrEqual(6);
    expect(all.some((d) => d.parsed.alerts.some((a) => a.status === "resolved"))).toBe(true);
  });
});
