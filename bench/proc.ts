import { readdirSync, readFileSync } from "node:fs";

// Linux reports utime and stime in clock ticks; 100 on every platform Node supports here.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces: the fields start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident memory of a process in MiB; 0 once it is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids of every process whose command name is `comm` (e.g. every PostgreSQL backend). */
export function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU seconds of every PostgreSQL process now, by pid. */
export function postgresCpu(): Map<number, number> {
  return new Map(pidsNamed("postgres").map((pid) => [pid, cpuSeconds(pid)]));
}

/**
 * PostgreSQL CPU used since `before`: per backend, so one that exits meanwhile cannot make the sum
 * negative (its last share is lost instead; the service's pool keeps its backends, so little is).
 */
export function postgresCpuSince(before: Map<number, number>): number {
  let sum = 0;
  for (const [pid, now] of postgresCpu()) sum += Math.max(0, now - (before.get(pid) ?? 0));
  return sum;
}

/** Samples a process's RSS every `ms` and keeps the peak, until stopped. */
export function rssSampler(pid: number, ms = 50): { stop(): number; peak(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, ms);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, rssMiB(pid));
      return peak;
    },
  };
}

/** CPU used by the service, PostgreSQL and this (client) process over an interval. */
export function cpuMeter(pid: number): { stop(): { server: number; postgres: number; client: number } } {
  const server = cpuSeconds(pid);
  const postgres = postgresCpu();
  const client = process.cpuUsage();
  return {
    stop() {
      const c = process.cpuUsage(client);
      return {
        server: cpuSeconds(pid) - server,
        postgres: postgresCpuSince(postgres),
        client: (c.user + c.system) / 1e6,
      };
    },
  };
}
