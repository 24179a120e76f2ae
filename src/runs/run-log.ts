import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Run } from "../db/tables.js";

/** `stateDir/runs/<id>`: where a run's agent.log and validate.log are written. */
export const runDir = (stateDir: string, runId: number) => join(stateDir, "runs", String(runId));

/**
 * A run's output, every `*.log` of its directory under a `==> name <==` header (as `tail` prints
 * several files); undefined when the run has no directory (never started, or cleaned up).
 */
export async function readRunLog(stateDir: string, runId: number): Promise<string | undefined> {
  const dir = runDir(stateDir, runId);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(".log")).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const parts = await Promise.all(
    files.map(async (f) => `==> ${f} <==\n${await readFile(join(dir, f), "utf8")}`),
  );
  return parts.join("\n");
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
    runDir(stateDir, run.id),
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
