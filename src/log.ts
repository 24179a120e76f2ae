import pino, { type Logger } from "pino";
import { humanDestination } from "./log-line.js";

/**
 * JSON lines on stdout (journald and pipes keep them), or one short human line per event when stdout
 * is a terminal; secret-bearing fields are redacted wherever they appear.
 */
export function createLogger(
  opts: { level?: string; destination?: pino.DestinationStream; terminal?: boolean } = {},
): Logger {
  const terminal = opts.terminal ?? process.stdout.isTTY === true;
  return pino(
    {
      level: opts.level ?? "info",
      base: { service: "homelab-healer" },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          "token",
          "*.token",
          "secrets",
          "*.secrets",
        ],
        censor: "[redacted]",
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ??
      (terminal
        ? humanDestination((line) => process.stdout.write(line), true)
        : pino.destination({ fd: 1, sync: false })),
  );
}
