import { readdirSync, readFileSync } from "node:fs";
import type { Run } from "../../src/db/tables.js";
import type { Healer } from "../support/serve.js";

/** Pids of processes whose command line contains `needle` (a marker argument). */
export function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Waits until the first run is finished, and returns it. */
export async function finishedRun(h: Healer, timeoutMs = 60_000): Promise<Run> {
  return h.waitFor(
    "the run to finish",
    async () => {
      const run = await h.t.db.selectFrom("runs").selectAll().orderBy("id").executeTakeFirst();
      return run?.state === "finished" ? run : undefined;
    },
    timeoutMs,
  );
}

/** One problem, as the generic hook takes it. */
export const PROBLEM = {
  alerts: [{ name: "nginx-down", service: "nginx.service", host: "nas", summary: "nginx is down" }],
};
