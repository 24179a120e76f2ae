import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type Config,
  ConfigError,
  loadConfig,
  redactedConfig,
  type Secrets,
  secretPath,
} from "../config/load.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { isDbUnavailable } from "../db/unavailable.js";
import { BindError } from "../listen.js";
import { createLogger } from "../log.js";
import { run } from "../run.js";
import { ClientError, directClient, type HealerClient, httpClient } from "./client.js";
import { doctor } from "./doctor.js";
import { incidentsTable, incidentText } from "./format.js";
import type { CliIo } from "./io.js";

export type { CliIo } from "./io.js";

const USAGE = `usage: homelab-healer <command> [options]
  serve [--config FILE]                 migrate, then serve hooks, API, runs and maintenance
  migrate [--config FILE]               apply database migrations and exit
  check-config [--config FILE] [--shape-only]
  incidents [--state S] [--json]        list incidents
  incident ID [--json]                  one incident: alerts, triage, runs, PRs, events
  retry ID                              queue a new run
  dismiss ID [--reason R] [--close-pr]  dismiss (cancels a live run; --close-pr closes its PR)
  silence --service S [--alert A] --for 2h [--reason R]
  cleanup                               one maintenance pass now
  doctor [--json] [--probe-model]       check every dependency of the repair path; exit 1 on a FAIL
The config is --config FILE, else $HOMELAB_HEALER_CONFIG, else the embedded default (./.homelab-healer, PGlite).
`;

const OPTIONS = {
  config: { type: "string" },
  "shape-only": { type: "boolean" },
  "close-pr": { type: "boolean" },
  json: { type: "boolean" },
  "probe-model": { type: "boolean" },
  state: { type: "string" },
  reason: { type: "string" },
  service: { type: "string" },
  alert: { type: "string" },
  for: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs one command; returns the exit code. */
export async function runCli(command: string | undefined, argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(command, argv, io);
  } catch (e) {
    if (isDbUnavailable(e)) {
      io.stderr(unreachable(e));
      return 1;
    }
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`${e.message}\n`);
    return 1;
  }
}

async function dispatch(command: string | undefined, argv: string[], io: CliIo): Promise<number> {
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.stdout(USAGE);
    return command === undefined ? 2 : 0;
  }
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const configFile = o.config ?? io.env.HOMELAB_HEALER_CONFIG;
  const load = (shapeOnly = false) =>
    loadConfig(configFile, { credentialsDir: io.env.CREDENTIALS_DIRECTORY, shapeOnly });

  switch (command) {
    case "serve":
      return serve(load(), io);
    case "migrate": {
      const { config } = load();
      const db = openDatabase(config.databaseUrl, { max: 1 });
      try {
        const applied = await migrateToLatest(db as never);
        io.stdout(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
      } finally {
        await db.destroy();
      }
      return 0;
    }
    case "check-config": {
      const { config } = load(o["shape-only"] === true);
      io.stdout(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
      return 0;
    }
    case "doctor":
      return doctor(configFile, { json: o.json === true, probeModel: o["probe-model"] === true }, io);
    case "incidents":
    case "incident":
    case "retry":
    case "dismiss":
    case "silence":
    case "cleanup":
      // No secret is read up front: PostgreSQL is reached directly (peer auth, like psql), and only
      // the API path needs the token.
      return operator(command, positionals, o, load(true).config, io);
    default:
      io.stderr(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

async function serve({ config, secrets }: { config: Config; secrets: Secrets }, io: CliIo): Promise<number> {
  const log = createLogger();
  if (config.generatedToken) {
    io.stderr(
      `Generated an API token (saved in ${join(config.stateDir, "token")}; shown only now):\n  ${config.generatedToken}\n`,
    );
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    await run({
      config,
      secrets,
      log,
      signal: controller.signal,
      servicePath: io.env.PATH,
      onListening: ({ host, port }) =>
        io.stderr(`homelab-healer listening on http://${host}:${port} (state in ${config.stateDir})\n`),
    });
  } catch (e) {
    if (!(e instanceof BindError)) throw e;
    // Nothing was started: no database opened, no loop, so there is nothing to stop.
    io.stderr(`${e.message}\n`);
    return 1;
  } finally {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
  }
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  return 0;
}

/** What a command that needs PostgreSQL says when it cannot reach it (migrate, serve's start, direct reads). */
function unreachable(e: unknown): string {
  return `the database is unreachable (${e instanceof Error ? e.message : String(e)}): is PostgreSQL running?\n`;
}

function needId(positionals: string[]): number {
  const id = Number(positionals[0]);
  if (!Number.isInteger(id) || id < 1) throw new ClientError("an incident ID is required");
  return id;
}

async function operator(
  command: string,
  positionals: string[],
  o: {
    json?: boolean | undefined;
    state?: string | undefined;
    reason?: string | undefined;
    service?: string | undefined;
    alert?: string | undefined;
    for?: string | undefined;
    "close-pr"?: boolean | undefined;
  },
  config: Config,
  io: CliIo,
): Promise<number> {
  const json = (v: unknown) => io.stdout(`${JSON.stringify(v, null, 2)}\n`);
  const call = async (c: HealerClient): Promise<number> => {
    switch (command) {
      case "incidents": {
        const list = await c.list(o.state);
        if (o.json) json(list);
        else io.stdout(incidentsTable(list));
        return 0;
      }
      case "incident": {
        const d = await c.detail(needId(positionals));
        if (o.json) json(d);
        else io.stdout(incidentText(d));
        return 0;
      }
      case "retry": {
        const r = await c.retry(needId(positionals));
        io.stdout(`queued run ${r.runId}\n`);
        return 0;
      }
      case "dismiss":
        await c.dismiss(needId(positionals), o.reason, o["close-pr"] === true);
        io.stdout("dismissed\n");
        return 0;
      case "silence": {
        if (!o.service || !o.for)
          throw new ClientError("silence needs --service S and --for DURATION (e.g. 2h)");
        json(await c.silence({ service: o.service, alertName: o.alert, for: o.for, reason: o.reason }));
        return 0;
      }
      default:
        json(await c.cleanup());
        return 0;
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
