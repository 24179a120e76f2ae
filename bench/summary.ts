import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import type { BenchResults } from "./report.js";
import { ratio } from "./report.js";

/*
 * `npm run bench:summary -- [--title T] [--out FILE] a.json b.json c.json`: the median and the
 * range of each figure over consecutive bench runs (issue 25's rule: three runs, median and range).
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { title: { type: "string" }, out: { type: "string" } },
});
if (positionals.length === 0) {
  process.stderr.write("usage: npm run bench:summary -- [--title T] [--out FILE] RESULT.json ...\n");
  process.exit(2);
}
const runs = positionals.map((f) => JSON.parse(readFileSync(f, "utf8")) as BenchResults);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cell = (xs: (number | undefined)[], unit = "") => {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (v.length === 0) return "–";
  const r = (x: number) => Math.round(x * 100) / 100;
  return `${r(median(v))}${unit} (${r(Math.min(...v))}–${r(Math.max(...v))})`;
};

const scenarios = [
  ["repeated", "one alert repeated"],
  ["distinct", "distinct alerts"],
  ["batch50", "50 alerts a request"],
] as const;
const out: string[] = [];
out.push(`# ${values.title ?? "Bench summary"}`, "");
out.push(
  `Median (min–max) of ${runs.length} consecutive runs: ${positionals.map((f) => `\`${basename(f)}\``).join(", ")}.`,
  "",
);
out.push(
  "| scenario | ours/AM | our alerts/s | p99 ms at half rate | p50 ms at half rate | peak RSS MiB (max speed) |",
);
out.push("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const [key, label] of scenarios) {
  const full = runs.map((r) =>
    r.runs.find((m) => m.scenario === key && m.target === "healer" && m.rate === null),
  );
  const half = runs.map((r) =>
    r.runs.find((m) => m.scenario === key && m.target === "healer" && m.rate !== null),
  );
  out.push(
    `| ${label} | ${cell(
      runs.map((r) => ratio(r, key)),
      "×",
    )} | ${cell(full.map((m) => m?.alertsPerSecond))} | ${cell(half.map((m) => m?.p99Ms))} | ${cell(
      half.map((m) => m?.p50Ms),
    )} | ${cell(full.map((m) => m?.peakRssMiB))} |`,
  );
}
const floor = runs.map((r) => ratio(r, "repeated", "node-floor"));
if (floor.some((x) => x !== undefined))
  out.push(
    "",
    `One Node.js thread with node:http and nothing else (bench/floor-server.mjs), one alert repeated: ${cell(floor, "×")} Alertmanager.`,
  );
const pgFloor = (key: string) => runs.map((r) => ratio(r, key, "pg-floor"));
if (pgFloor("distinct").some((x) => x !== undefined))
  out.push(
    "",
    `Each body committed in PostgreSQL and nothing else (bench/pg-floor-server.mjs): distinct alerts ${cell(
      pgFloor("distinct"),
      "×",
    )}, 50 alerts a request ${cell(pgFloor("batch50"), "×")} Alertmanager.`,
  );
out.push("");
out.push(
  `Storm (100k alerts of one fingerprint): peak RSS ${cell(
    runs.map((r) => r.storm?.peakRssMiB),
    " MiB",
  )}, ` +
    `${cell(
      runs.map((r) => r.storm?.seconds),
      " s",
    )}, p99 ${cell(
      runs.map((r) => r.storm?.p99Ms),
      " ms",
    )}; ` +
    `incidents ${runs.map((r) => r.storm?.incidents ?? "–").join("/")}, runs ${runs.map((r) => r.storm?.runs ?? "–").join("/")}.`,
);
out.push(
  `Durable before 202: ${runs.every((r) => r.durability.every((d) => d.ok)) ? "ok in every run" : "MISMATCH in a run"}. ` +
    `Load before each run: ${runs.map((r) => r.machine.loadAvg[0]?.toFixed(2)).join(", ")}.`,
);
const md = `${out.join("\n")}\n`;
process.stdout.write(md);
if (values.out) writeFileSync(values.out, md);
