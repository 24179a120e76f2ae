import type { DestinationStream } from "pino";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const COLORS: Record<number, string> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[31m" };
/** Fields a terminal reader needs next to the message; the rest stays in the JSON (pipes, journald). */
const CONTEXT = ["incident", "run"] as const;

/** One pino record as one short line: `07:36:11 WARN  preflight sandbox: … → fix` (no stack, no PATH dump). */
export function humanLine(rec: Record<string, unknown>, color = false): string {
  const level = typeof rec.level === "number" ? rec.level : 30;
  const time = typeof rec.time === "string" || typeof rec.time === "number" ? new Date(rec.time) : new Date();
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const shownLevel = color && COLORS[level] ? `${COLORS[level]}${name}\x1b[0m` : name;
  let msg = typeof rec.msg === "string" ? rec.msg : "";
  const err = rec.err as { message?: unknown } | undefined;
  if (err && typeof err.message === "string" && !msg.includes(err.message)) msg += `: ${err.message}`;
  const context = CONTEXT.filter((k) => rec[k] !== undefined && !msg.includes(`${k} ${rec[k]}`)).map(
    (k) => `${k}=${String(rec[k])}`,
  );
  const fix = typeof rec.fix === "string" ? ` → ${rec.fix}` : "";
  const text = `${msg}${context.length ? ` [${context.join(" ")}]` : ""}${fix}`.replace(/\s*\n\s*/g, " ");
  return `${time.toISOString().slice(11, 19)} ${shownLevel} ${text}\n`;
}

/** A pino destination that writes `humanLine`s (for a terminal) instead of JSON. */
export function humanDestination(write: (s: string) => void, color: boolean): DestinationStream {
  return {
    write(line: string) {
      try {
        write(humanLine(JSON.parse(line) as Record<string, unknown>, color));
      } catch {
        write(line);
      }
    },
  };
}
