import type { Measurement } from "./measure.js";
import type { Profile } from "./profile.js";
import type { AgentStartResult, StormResult } from "./storm.js";

export interface BenchResults {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memMiB: number; loadAvg: number[]; node: string };
  postgres: { version: string; fsync: string; synchronousCommit: string };
  alertmanager: { version: string };
  settings: { seconds: number; connections: number; stormAlerts: number };
  /** Full-speed runs: ours and Alertmanager's per scenario, then ours at half its peak rate. */
  runs: Measurement[];
  /** Rows in `alerts` after each of our full-speed runs versus the alerts answered 202. */
  durability: { scenario: string; answered202: number; newRows: number; ok: boolean }[];
  storm?: StormResult;
  agentStart?: AgentStartResult;
  /** `--profile`: what each paced run's time went to. */
  profiles?: Profile[];
  /** `--profile`: the storm's memory and CPU. */
  stormProfile?: Pick<Profile, "service" | "parts" | "top">;
  notes: string[];
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString("en-US") : "–");

/** Our alerts/s over Alertmanager's for the same scenario. */
export function ratio(
  r: BenchResults,
  scenario: string,
  target: Measurement["target"] = "healer",
): number | undefined {
  const full = r.runs.filter((m) => m.scenario === scenario && m.rate === null);
  const ours = full.find((m) => m.target === target);
  const theirs = full.find((m) => m.target === "alertmanager");
  if (!ours || !theirs || theirs.alertsPerSecond === 0) return undefined;
  return Math.round((ours.alertsPerSecond / theirs.alertsPerSecond) * 100) / 100;
}

/** The results as a Markdown report (also what the terminal shows). */
export function markdown(r: BenchResults): string {
  const out: string[] = [];
  out.push(`# homelab-healer vs Alertmanager ${r.alertmanager.version} — ${r.startedAt}`);
  out.push("");
  out.push(
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${fmt(r.machine.memMiB)} MiB, load before ${r.machine.loadAvg.map((l) => l.toFixed(1)).join(" ")}; ` +
      `Node ${r.machine.node}; PostgreSQL ${r.postgres.version} (fsync ${r.postgres.fsync}, synchronous_commit ${r.postgres.synchronousCommit}); ` +
      `${r.settings.connections} connections, ${r.settings.seconds} s a run.`,
  );
  out.push("");
  out.push(
    "| scenario | target | rate asked | alerts/s | p50 ms | p99 ms | peak RSS MiB | CPU µs/alert server · postgres · client | non-2xx | ours/AM |",
  );
  out.push("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
  for (const m of r.runs) {
    const q = m.rate === null ? "max" : `${fmt(m.rate)} req/s`;
    const cpu = `${m.cpuUsPerAlert.server} · ${m.cpuUsPerAlert.postgres} · ${m.cpuUsPerAlert.client}`;
    const rt = m.target !== "alertmanager" && m.rate === null ? ratio(r, m.scenario, m.target) : undefined;
    out.push(
      `| ${m.label} | ${m.target} | ${q} | ${fmt(m.alertsPerSecond)} | ${m.p50Ms} | ${m.p99Ms} | ${m.peakRssMiB} | ${cpu} | ${fmt(m.load.non2xx + m.load.errors)} | ${rt === undefined ? "" : `${rt}×`} |`,
    );
  }
  const paced = r.runs.filter((m) => m.rate !== null && m.load.generatorDelayMs);
  if (paced.length) {
    out.push("");
    out.push(
      `Load generator's own event-loop delay in the paced runs (its stalls count as latency), p99/max ms: ${paced
        .map((m) => `${m.label} ${m.load.generatorDelayMs!.p99}/${m.load.generatorDelayMs!.max}`)
        .join(", ")}.`,
    );
  }
  out.push("");
  out.push("Durable before 202 (rows in `alerts` after our run vs alerts answered 202):");
  for (const d of r.durability) {
    out.push(
      `- ${d.scenario}: ${fmt(d.newRows)} rows for ${fmt(d.answered202)} → ${d.ok ? "ok" : "MISMATCH"}`,
    );
  }
  if (r.storm) {
    const s = r.storm;
    out.push("");
    out.push(
      `Storm: ${fmt(s.alerts)} alerts of one fingerprint (50 a request, at most ${s.limitSeconds} s): ${fmt(s.accepted202)} answered 202 in ${s.seconds} s ` +
        `(${fmt(s.alertsPerSecond)} alerts/s, p99 ${s.p99Ms} ms); ${s.incidents} incident(s), ${s.runs} run(s), ` +
        `${fmt(s.occurrences)} occurrences; peak RSS ${s.peakRssMiB} MiB.`,
    );
  }
  if (r.agentStart) {
    const a = r.agentStart;
    out.push("");
    out.push(
      `Decision to act → agent start (bubblewrap lane, agent.network ${a.network ?? "allowlist"}, ${a.samples} samples): median ${a.medianMs} ms, max ${a.maxMs} ms (${a.all.join(", ")}).`,
    );
  }
  for (const p of r.profiles ?? []) out.push("", ...profileMarkdown(p));
  const sp = r.stormProfile;
  if (sp?.service) {
    const w = sp.service;
    const peak = Object.entries(w.peakMiB ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    const gc = Object.entries(w.gc)
      .map(([k, g]) => `${k} ${g.count}× (longest ${g.maxMs} ms)`)
      .join(", ");
    out.push(
      "",
      "### Profile: the storm",
      "",
      `Peak memory, MiB (sampled every 20 ms): ${peak}. ${w.cpuSeconds} CPU s in ${w.seconds} s; event-loop delay p99 ${w.eventLoopDelayMs.p99} ms, max ${w.eventLoopDelayMs.max} ms; GC: ${gc}.`,
      "",
      `CPU by part: ${sp.parts.map((x) => `${x.part} ${x.percent}%`).join(", ")}.`,
    );
  }
  if (r.notes.length) {
    out.push("");
    for (const n of r.notes) out.push(`- ${n}`);
  }
  return `${out.join("\n")}\n`;
}

/** One profiled paced run: the service's event loop, GC and CPU, and PostgreSQL's statements and waits. */
function profileMarkdown(p: Profile): string[] {
  const out = [`### Profile: ${p.label}, paced at half the peak`, ""];
  const w = p.service;
  if (w) {
    const gc = Object.entries(w.gc)
      .map(([k, g]) => `${k} ${g.count}× (${g.totalMs} ms in all, longest ${g.maxMs} ms)`)
      .join(", ");
    out.push(
      `Service: ${w.cpuSeconds} CPU s in ${w.seconds} s; event-loop delay p50 ${w.eventLoopDelayMs.p50} ms, p99 ${w.eventLoopDelayMs.p99} ms, max ${w.eventLoopDelayMs.max} ms; GC: ${gc || "none"}; ${w.gcPausesOver5ms.length} pause(s) of 5 ms or more${w.gcPausesOver5ms.length ? ` (longest ${Math.max(...w.gcPausesOver5ms.map((g) => g.ms))} ms)` : ""}.`,
    );
  }
  out.push(
    `Load generator: event-loop delay p99 ${p.generatorDelayMs.p99} ms, max ${p.generatorDelayMs.max} ms.`,
    "",
  );
  out.push(
    `Service CPU by part (self time, idle excluded): ${p.parts.map((x) => `${x.part} ${x.percent}%`).join(", ")}.`,
    "",
  );
  out.push("Functions with the most self time:", "");
  for (const f of p.top.slice(0, 10)) out.push(`- ${f.percent}% \`${f.fn}\``);
  out.push("");
  if (typeof p.statements === "string") out.push(`PostgreSQL statements: ${p.statements}.`);
  else {
    out.push("| statement (pg_stat_statements) | calls | mean ms | max ms | total ms | rows |");
    out.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const s of p.statements)
      out.push(
        `| \`${s.query.replace(/\|/g, "\\|").replace(/`/g, "'")}\` | ${fmt(s.calls)} | ${s.meanMs} | ${s.maxMs} | ${fmt(s.totalMs)} | ${fmt(s.rows)} |`,
      );
  }
  out.push("");
  out.push(
    `Active backends of our database, sampled every 10 ms (average number in each state × 100): ${p.waits.map((x) => `${x.wait} ${x.percent}`).join(", ") || "none active"}.`,
  );
  return out;
}
