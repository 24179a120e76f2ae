import type { Db } from "../db/database.js";
import { revisionAges } from "../hosts/deployments.repo.js";
import { countIncidentsByState, countPrsByState } from "../incidents/incidents.repo.js";
import type { PreflightState } from "../preflight/monitor.js";
import { countByOutcome } from "../runs/queue.repo.js";
import { usageTotals } from "../runs/usage.repo.js";

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Prometheus counters kept in process, plus gauges read from the database at scrape time. */
export class Metrics {
  private readonly deliveries = new Map<string, number>();

  /** `preflight`: serve's checks, exposed as one gauge per check. */
  constructor(private readonly preflight?: Pick<PreflightState, "results">) {}
  private readonly alerts = new Map<string, number>();

  /** Counts one delivery by source and outcome, and the alerts it brought. */
  delivery(source: string, status: string, accepted = 0, duplicates = 0): void {
    const key = `source="${esc(source)}",status="${esc(status)}"`;
    this.deliveries.set(key, (this.deliveries.get(key) ?? 0) + 1);
    if (accepted) this.add(this.alerts, `source="${esc(source)}",kind="new"`, accepted);
    if (duplicates) this.add(this.alerts, `source="${esc(source)}",kind="duplicate"`, duplicates);
  }

  private add(m: Map<string, number>, key: string, n: number): void {
    m.set(key, (m.get(key) ?? 0) + n);
  }

  /** The text exposition format; `now` times the ages (the service's clock). */
  async render(db: Db, now: Date = new Date()): Promise<string> {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string, rows: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) lines.push(labels ? `${name}{${labels}} ${v}` : `${name} ${v}`);
    };
    family("homelab_healer_deliveries_total", "counter", "Webhook deliveries by source and outcome.", [
      ...this.deliveries,
    ]);
    family("homelab_healer_alerts_total", "counter", "Alerts received: new, or duplicates of stored ones.", [
      ...this.alerts,
    ]);
    const states = await countIncidentsByState(db);
    family(
      "homelab_healer_incidents",
      "gauge",
      "Incidents by state.",
      states.map((s) => [`state="${s.state}"`, s.n]),
    );
    family(
      "homelab_healer_incidents_waiting_deploy",
      "gauge",
      "Incidents whose merged fix is not running on their host yet (state deploying).",
      [["", states.find((s) => s.state === "deploying")?.n ?? 0]],
    );
    const ages = await revisionAges(db, now);
    family(
      "homelab_healer_host_revision_age_seconds",
      "gauge",
      "Seconds since the host's newest done deployment.",
      ages.map((a) => [`host="${esc(a.host)}"`, a.seconds]),
    );
    const outcomes = await countByOutcome(db);
    family(
      "homelab_healer_runs",
      "gauge",
      "Runs by state and outcome.",
      outcomes.map((o) => [`state="${o.state}",outcome="${o.outcome ?? ""}"`, o.count]),
    );
    const prs = await countPrsByState(db);
    family(
      "homelab_healer_pull_requests",
      "gauge",
      "Pull requests by last known state.",
      prs.map((p) => [`state="${p.state}"`, p.n]),
    );
    const usage = await usageTotals(db);
    const t = usage.tokens;
    family("homelab_healer_agent_tokens_total", "counter", "Tokens the agent's provider reported, by kind.", [
      ['kind="input"', t.input],
      ['kind="output"', t.output],
      ['kind="reasoning"', t.reasoning],
      ['kind="cache_read"', t.cacheRead],
      ['kind="cache_write"', t.cacheWrite],
    ]);
    family(
      "homelab_healer_agent_cost_total",
      "counter",
      "Cost the agent's provider reported (its unit, usually USD).",
      [["", usage.cost]],
    );
    const checks = this.preflight?.results();
    if (checks !== undefined) {
      // Several results may share a check name: it is ok only when all of them are.
      const byName = new Map<string, number>();
      for (const r of checks)
        byName.set(r.name, Math.min(byName.get(r.name) ?? 1, r.status === "fail" ? 0 : 1));
      family(
        "homelab_healer_preflight_ok",
        "gauge",
        "1 when the preflight check passed at its last run (ok or warn), 0 when it failed.",
        [...byName].map(([name, v]) => [`check="${esc(name)}"`, v]),
      );
    }
    return `${lines.join("\n")}\n`;
  }
}
