import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Run } from "../db/tables.js";
import { readRunLogs, runDirOf } from "./run-files.js";

/**
 * A run's output, every `*.log` of its directory under a `==> name <==` header (as `tail` prints
 * several files); undefined when the run has no directory (never started, or cleaned up).
 */
export async function readRunLog(stateDir: string, runId: number): Promise<string | undefined> {
  const logs = await readRunLogs(stateDir, runId);
  return logs?.map((l) => `==> ${l.name} <==\n${l.text}`).join("\n");
}

/** Outcomes worth showing the agent's last words for. */
const FAILED = new Set(["failed", "timed_out", "validation_failed", "refused"]);

/**
 * The last `lines` lines a failed run wrote (validate.log when validation failed, else agent.log),
 * each cut to 300 characters; undefined for a run that did not fail or left no log (or none readable).
 */
export async function failedRunTail(stateDir: string, run: Pick<Run, "id" | "outcome">, lines = 8) {
  if (run.outcome === null || !FAILED.has(run.outcome)) return undefined;
  const file = join(
    runDirOf(stateDir, run.id),
    run.outcome === "validation_failed" ? "validate.log" : "agent.log",
  );
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  const all = text.split("\n").filter((l) => l.trim() !== "");
  return all.slice(-lines).map((l) => (l.length > 300 ? `${l.slice(0, 299)}…` : l));
}
