import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { LoadOptions, LoadResult } from "./load.js";

/*
 * Latency at a fixed rate needs requests sent evenly. autocannon's rate limit is a quota a second
 * per connection: each connection sends at full speed until its quota is used, then waits for the
 * next second, so "half the peak rate" is really bursts at the peak rate. This generator is open
 * loop: request i is due at start + i/rate (checked every millisecond), whatever came back, and its
 * latency counts from when it was due (a request that waits for a free connection is late, and that
 * wait is part of its latency, so a slow server cannot hide behind fewer sends).
 */

const RESOLUTION_MS = 5;
const lagMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);

/** Drives `o.url` at `o.rate` requests a second over at most `o.connections` keep-alive connections. */
export async function drivePaced(o: LoadOptions & { rate: number }): Promise<LoadResult> {
  const seconds = o.seconds ?? 10;
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const url = new URL(o.url);
  const [head, ...rest] = o.body.split("[<id>]");
  const prefix = `${process.pid.toString(36)}p${Date.now().toString(36)}n`;
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let pending = 0;
  const total = Math.round(o.rate * seconds);
  // This process's own stalls make requests late, and lateness counts as latency: reported apart.
  // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const start = performance.now();

  const send = (dueAt: number, n: number) => {
    const body = o.distinct ? `${head}${rest.map((part) => `${prefix}${n}${part}`).join("")}` : o.body;
    pending++;
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...o.headers,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          pending--;
          const code = String(res.statusCode);
          codes[code] = (codes[code] ?? 0) + 1;
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
            ok++;
            latencies.push(performance.now() - dueAt);
          } else non2xx++;
        });
      },
    );
    req.on("error", () => {
      pending--;
      errors++;
    });
    req.end(body);
  };

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsed / 1000) * o.rate) + 1);
      while (sent < due) {
        sent++;
        send(start + ((sent - 1) / o.rate) * 1000, sent);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  // The answers still on their way (bounded: 30 s, as autocannon's timeout).
  const until = performance.now() + 30_000;
  while (pending > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  agent.destroy();
  delay.disable();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies.length
      ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!)
      : 0;
  return {
    requests: sent,
    ok,
    non2xx,
    errors: errors + pending,
    seconds: Math.min(elapsed, seconds),
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.length ? Math.round(latencies[latencies.length - 1]!) : 0,
    statusCodes: codes,
    generatorDelayMs: { p99: lagMs(delay.percentile(99)), max: lagMs(delay.max) },
  };
}
