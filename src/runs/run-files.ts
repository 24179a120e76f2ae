import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { runFiles } from "../agent/args.js";

/** `stateDir/runs/<id>`: a run's log, prompt, PR body and validation output. */
export function runDirOf(stateDir: string, runId: number): string {
  return join(stateDir, "runs", String(runId));
}

/** The PR body exactly as it went to the forge (title line, the agent's body, the footer). */
export function sentPrBodyPath(runDir: string): string {
  return join(runDir, "pr-sent.md");
}

/** A run's `*.log` files in name order, or undefined when the run has no directory. */
export async function readRunLogs(
  stateDir: string,
  runId: number,
): Promise<{ name: string; text: string }[] | undefined> {
  const dir = runDirOf(stateDir, runId);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith(".log")).sort();
  } catch {
    return undefined;
  }
  return Promise.all(names.map(async (name) => ({ name, text: (await readCapped(join(dir, name))) ?? "" })));
}

/** What the run page shows; each part undefined when the run never wrote it. */
export interface RunRecord {
  agentLog: string | undefined;
  validateLog: string | undefined;
  prompt: string | undefined;
  prBodyWritten: string | undefined;
  prBodySent: string | undefined;
}

/** Reads a run's files for display (each capped, the tail of a long log kept). */
export async function readRunRecord(stateDir: string, runId: number): Promise<RunRecord> {
  const dir = runDirOf(stateDir, runId);
  const f = runFiles(dir);
  return {
    agentLog: await readCapped(f.log),
    validateLog: await readCapped(join(dir, "validate.log")),
    prompt: await readCapped(f.prompt),
    prBodyWritten: await readCapped(f.prBody),
    prBodySent: await readCapped(sentPrBodyPath(dir)),
  };
}

const CAP = 4 * 1024 * 1024;

/** A file's text, or its last 4 MiB when longer (a runaway agent's log must not fill memory). */
async function readCapped(path: string): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, CAP);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, size - length);
    const text = buf.toString("utf8");
    return size > CAP ? `[… first ${size - CAP} bytes not shown …]\n${text}` : text;
  } finally {
    await fh.close();
  }
}
