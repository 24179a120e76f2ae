// Loaded into the service with `node --import` by `npm run bench -- --profile`; never in production.
// SIGUSR2 opens a window, the next SIGUSR2 closes it and writes what the window held to
// `$HEALER_BENCH_PROBE_DIR/window-<n>.json` (event-loop delay, GC pauses by kind) and
// `window-<n>.cpuprofile` (V8's sampling profiler, the same format as `node --cpu-prof`).
// A window covers exactly one paced run, where `--cpu-prof` would cover the whole process.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

const dir = process.env.HEALER_BENCH_PROBE_DIR;
const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

const RESOLUTION_MS = 5;
let n = 0;
let open = null;

async function start() {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 250 });
  await session.post("Profiler.start");
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const gc = {};
  const pauses = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[e.detail?.kind] ?? "other";
      gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 };
      const g = gc[kind];
      g.count++;
      g.totalMs += e.duration;
      g.maxMs = Math.max(g.maxMs, e.duration);
      if (e.duration >= 5) pauses.push({ kind, atMs: Math.round(e.startTime), ms: round(e.duration) });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  // Peak of each part of the memory (RSS is all of it; V8's heap, and Buffers outside it).
  const memory = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(memory)) memory[k] = Math.max(memory[k], m[k]);
  };
  const sampler = setInterval(sample, 20);
  return {
    session,
    delay,
    gc,
    pauses,
    observer,
    memory,
    sampler,
    startedAt: performance.now(),
    cpu: process.cpuUsage(),
  };
}

async function stop(w, index) {
  const { profile } = await w.session.post("Profiler.stop");
  w.session.disconnect();
  w.observer.disconnect();
  w.delay.disable();
  clearInterval(w.sampler);
  // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
  const ms = (ns) => Math.max(0, round(ns / 1e6 - RESOLUTION_MS));
  const cpu = process.cpuUsage(w.cpu);
  const summary = {
    seconds: round((performance.now() - w.startedAt) / 1000),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
    eventLoopDelayMs: {
      p50: ms(w.delay.percentile(50)),
      p99: ms(w.delay.percentile(99)),
      max: ms(w.delay.max),
      over20ms: countOver(w.delay, (20 + RESOLUTION_MS) * 1e6),
    },
    gc: Object.fromEntries(
      Object.entries(w.gc).map(([k, g]) => [
        k,
        { count: g.count, totalMs: round(g.totalMs), maxMs: round(g.maxMs) },
      ]),
    ),
    gcPausesOver5ms: w.pauses.slice(0, 200),
    heapUsedMiB: round(process.memoryUsage().heapUsed / 2 ** 20),
    peakMiB: Object.fromEntries(Object.entries(w.memory).map(([k, v]) => [k, round(v / 2 ** 20)])),
  };
  writeFileSync(join(dir, `window-${index}.cpuprofile`), JSON.stringify(profile));
  writeFileSync(join(dir, `window-${index}.json`), JSON.stringify(summary));
}

/** Share of event-loop delay samples over `ns` (the histogram's own percentiles, interpolated). */
function countOver(h, ns) {
  let below = 0;
  for (const [p, v] of h.percentiles) if (v <= ns) below = p;
  return round(100 - below);
}

function round(x) {
  return Math.round(x * 100) / 100;
}

if (dir) {
  process.on("SIGUSR2", () => {
    if (!open) {
      const index = ++n;
      open = start().then((w) => ({ w, index }));
      return;
    }
    const closing = open;
    open = null;
    void closing.then(({ w, index }) => stop(w, index));
  });
}
