import type { Run } from "../../src/db/tables.js";
import type { Healer } from "../support/serve.js";

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
