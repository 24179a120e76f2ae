import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/load.js";
import { secretPath } from "../config/load.js";
import { isDbUnavailable } from "../db/unavailable.js";
import { ClientError, directClient, type HealerClient, httpClient } from "./client.js";
import {
  cleanupText,
  hostsTable,
  incidentsTable,
  incidentText,
  silenceLine,
  silencesTable,
} from "./format.js";
import type { CliIo } from "./io.js";
import { followLog } from "./logs.js";

/** The commands that read or act on incidents, silences and runs (the service's data). */
export const OPERATOR_COMMANDS = [
  "incidents",
  "incident",
  "retry",
  "dismiss",
  "silence",
  "silences",
  "unsilence",
  "logs",
  "cleanup",
  "hosts",
] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

type Values = Record<string, string | boolean | undefined>;

/** What a command that needs PostgreSQL says when it cannot reach it (migrate, serve's start, direct reads). */
export function unreachable(e: unknown): string {
  return `the database is unreachable (${e instanceof Error ? e.message : String(e)}): is PostgreSQL running?\n`;
}

/**
 * Runs an operator command through the running service's API (PGlite, or what needs the service's
 * git and forge) or straight on PostgreSQL. Refusals are printed as the service words them.
 */
export async function operator(
  command: OperatorCommand,
  ids: Record<string, number>,
  o: Values,
  config: Config,
  io: CliIo,
): Promise<number> {
  const json = (v: unknown) => io.stdout(`${JSON.stringify(v, null, 2)}\n`);
  const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const call = async (c: HealerClient): Promise<number> => {
    switch (command) {
      case "incidents": {
        const list = await c.list(str("state"));
        if (o.json) json(list);
        else io.stdout(incidentsTable(list));
        return 0;
      }
      case "incident": {
        const d = await c.detail(ids.ID!);
        if (o.json) json(d);
        else io.stdout(incidentText(d));
        return 0;
      }
      case "retry": {
        const r = await c.retry(ids.ID!);
        io.stdout(
          `queued run ${r.runId}${r.replaces ? `; it replaces ${r.replaces}` : ""}; follow it with \`homelab-healer logs ${r.runId} --follow\`\n`,
        );
        return 0;
      }
      case "dismiss":
        await c.dismiss(ids.ID!, str("reason"), o["close-pr"] === true);
        io.stdout(`incident ${ids.ID} dismissed\n`);
        return 0;
      case "silence": {
        const service = str("service");
        const duration = str("for");
        if (!service || !duration)
          throw new ClientError("silence needs --service S and --for DURATION (e.g. 2h)");
        const r = await c.silence({ service, alertName: str("alert"), for: duration, reason: str("reason") });
        io.stdout(silenceLine(r.silence, "created"));
        return 0;
      }
      case "silences": {
        const list = await c.silences();
        if (o.json) json(list);
        else io.stdout(silencesTable(list));
        return 0;
      }
      case "unsilence":
        io.stdout(silenceLine((await c.unsilence(ids.ID!)).silence, "ended"));
        return 0;
      case "logs":
        return followLog(c, ids.RUN_ID!, o.follow === true, io);
      case "cleanup":
        io.stdout(cleanupText((await c.cleanup()).cleanup));
        return 0;
      case "hosts": {
        const hosts = await c.hosts();
        if (o.json) json(hosts);
        else io.stdout(hostsTable(hosts));
        return 0;
      }
    }
  };
  // PGlite allows one process: the CLI must go through the running service. PostgreSQL is read
  // directly, which works while the service is down; `cleanup` needs the service's git and forge.
  const viaApi =
    config.databaseUrl.startsWith("pglite://") ||
    command === "cleanup" ||
    (command === "dismiss" && o["close-pr"] === true);
  if (viaApi) {
    try {
      return await call(httpClient(config, readApiToken(config, io.env.CREDENTIALS_DIRECTORY)));
    } catch (e) {
      if ((e as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED") {
        io.stderr(
          `the service is not answering on ${config.listen.host}:${config.listen.port}: is \`homelab-healer serve\` running?\n`,
        );
        return 1;
      }
      io.stderr(`${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  }
  const direct = directClient(config);
  try {
    return await call(direct);
  } catch (e) {
    io.stderr(isDbUnavailable(e) ? unreachable(e) : `${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await direct.close();
  }
}

/** The API token: the configured auth.tokenFile, or the one the embedded default generated. */
function readApiToken(config: Config, credentialsDir: string | undefined): string {
  const file =
    config.auth.tokenFile === undefined
      ? join(config.stateDir, "token")
      : secretPath(config.auth.tokenFile, credentialsDir);
  try {
    return readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new ClientError(
      `cannot read the API token from ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
}
