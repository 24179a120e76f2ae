import { connect, type Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { LoadOptions, LoadResult } from "./load.js";

/*
 * Latency at a fixed rate needs requests sent evenly. autocannon's rate limit is a quota a second
 * per connection: each connection sends at full speed until its quota is used, then waits for the
 * next second, so "half the peak rate" is really bursts at the peak rate. This generator is open
 * loop: request i is due at start + i/rate (checked every millisecond), whatever came back, and its
 * latency counts from when it was due (a request that waits for a free connection is late, and that
 * wait is part of its latency, so a slow server cannot hide behind fewer sends).
 *
 * It writes HTTP/1.1 on keep-alive sockets itself and reads only the status and Content-Length of
 * each answer, as autocannon does: node:http's client cost 70–140 µs a request here, so at the
 * repeated alert's half rate (8–10k requests a second) the generator alone needed more than a core
 * and its own queue became the measured tail (p50 1.1 s in one run). An answer without a length
 * (chunked) is counted as an error and its socket closed.
 */

const RESOLUTION_MS = 5;
const lagMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);
const HEADER_END = Buffer.from("\r\n\r\n");

interface Conn {
  socket: Socket;
  /** When the request written on it and not yet answered was due (one at a time: no pipelining). */
  dueAt: number | null;
  buf: Buffer;
}

/** Drives `o.url` at `o.rate` requests a second over at most `o.connections` keep-alive connections. */
export async function drivePaced(o: LoadOptions & { rate: number }): Promise<LoadResult> {
  const seconds = o.seconds ?? 10;
  const url = new URL(o.url);
  const [head, ...rest] = o.body.split("[<id>]");
  const prefix = `${process.pid.toString(36)}p${Date.now().toString(36)}n`;
  const extra = Object.entries(o.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const requestHead = (length: number) =>
    `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: keep-alive\r\n` +
    `content-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let answered = 0;
  const total = Math.round(o.rate * seconds);
  const idle: Conn[] = [];
  const waiting: { dueAt: number; n: number }[] = [];
  let open = 0;
  const all = new Set<Conn>();

  const write = (c: Conn, dueAt: number, n: number) => {
    const body = o.distinct ? `${head}${rest.map((part) => `${prefix}${n}${part}`).join("")}` : o.body;
    c.dueAt = dueAt;
    c.socket.write(requestHead(Buffer.byteLength(body)) + body);
  };
  const next = (c: Conn) => {
    const w = waiting.shift();
    if (w) write(c, w.dueAt, w.n);
    else idle.push(c);
  };
  const fail = (c: Conn) => {
    if (c.dueAt !== null) {
      errors++;
      answered++;
      c.dueAt = null;
    }
    all.delete(c);
    open--;
    c.socket.destroy();
    if (waiting.length) openConn();
  };
  const onData = (c: Conn, chunk: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk;
    for (;;) {
      const end = c.buf.indexOf(HEADER_END);
      if (end < 0) return;
      const headText = c.buf.toString("latin1", 0, end);
      const status = Number(headText.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
      if (!m || c.dueAt === null) return fail(c);
      const size = end + 4 + Number(m[1]);
      if (c.buf.length < size) return;
      c.buf = c.buf.subarray(size);
      codes[status] = (codes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        ok++;
        latencies.push(performance.now() - c.dueAt);
      } else non2xx++;
      answered++;
      c.dueAt = null;
      next(c);
    }
  };
  function openConn() {
    if (open >= o.connections) return;
    open++;
    const conn: Conn = { socket: connect(Number(url.port), url.hostname), dueAt: null, buf: Buffer.alloc(0) };
    all.add(conn);
    conn.socket.setNoDelay(true);
    conn.socket.on("connect", () => next(conn));
    conn.socket.on("data", (chunk: Buffer) => onData(conn, chunk));
    conn.socket.on("error", () => fail(conn));
    conn.socket.on("close", () => all.has(conn) && fail(conn));
  }
  const send = (dueAt: number, n: number) => {
    const c = idle.pop();
    if (c) return write(c, dueAt, n);
    waiting.push({ dueAt, n });
    openConn();
  };

  // This process's own stalls make requests late, and lateness counts as latency: reported apart.
  // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const start = performance.now();
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
  while (answered < sent && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  const unanswered = sent - answered;
  for (const c of all) c.socket.destroy();
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
    errors: errors + unanswered,
    seconds: Math.min(elapsed, seconds),
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.length ? Math.round(latencies[latencies.length - 1]!) : 0,
    statusCodes: codes,
    generatorDelayMs: { p99: lagMs(delay.percentile(99)), max: lagMs(delay.max) },
  };
}
