import pino, { type Logger } from "pino";

/** JSON lines on stdout (journald keeps them); secret-bearing fields are redacted wherever they appear. */
export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
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
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
