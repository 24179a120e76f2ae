import type { HealerClient } from "./client.js";
import type { CliIo } from "./io.js";

/** How often `logs --follow` looks for more output. */
const FOLLOW_MS = 1000;

/**
 * `homelab-healer logs RUN_ID [--follow]`: the run's output (agent.log, validate.log). With
 * `--follow`, new output is printed as it comes until the run has finished.
 */
export async function followLog(c: HealerClient, runId: number, follow: boolean, io: CliIo): Promise<number> {
  const run = await c.run(runId);
  let printed = "";
  const printNew = async () => {
    const log = (await c.runLog(runId)) ?? "";
    // The log only grows (files are appended; a new file sorts after its header): print the rest.
    const next = log.startsWith(printed) ? log.slice(printed.length) : `\n${log}`;
    if (next) io.stdout(next);
    printed = log;
  };
  await printNew();
  if (!follow) {
    if (printed === "")
      io.stderr(`run ${runId} has no output${run.state === "queued" ? " yet (it is queued)" : ""}\n`);
    return 0;
  }
  for (let state = run.state; state !== "finished"; ) {
    await new Promise((r) => setTimeout(r, FOLLOW_MS));
    state = (await c.run(runId)).state;
    await printNew();
  }
  if (printed !== "" && !printed.endsWith("\n")) io.stdout("\n");
  return 0;
}
