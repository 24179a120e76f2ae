import { join } from "node:path";
import { withResolvedAgent } from "../agent/bundled.js";
import { type Config, ConfigError, loadConfig, redactedConfig, type Secrets } from "../config/load.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { isDbUnavailable } from "../db/unavailable.js";
import { BindError } from "../listen.js";
import { createLogger } from "../log.js";
import { findOnPath } from "../preflight/exec.js";
import { run } from "../run.js";
import { ClientError } from "./client.js";
import { commandUsage, parseCommand, UsageError, usage } from "./commands.js";
import { doctor } from "./doctor.js";
import type { CliIo } from "./io.js";
import { OPERATOR_COMMANDS, type OperatorCommand, operator, unreachable } from "./operator.js";

export type { CliIo } from "./io.js";

/** Runs one command; returns the exit code (2: the command line itself is wrong). */
export async function runCli(command: string | undefined, argv: string[], io: CliIo): Promise<number> {
  if (command === "help" || command === "--help" || command === "-h") {
    io.stdout(usage());
    return 0;
  }
  if (command === undefined || command.startsWith("-")) {
    io.stderr(
      `${command === undefined ? "a command is missing" : `the command comes first, before ${command}`}\n\n${usage()}`,
    );
    return 2;
  }
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(command, argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const spec = /^unknown command/.test(e.message) ? usage() : commandUsageOf(command);
    io.stderr(`${e.message}\n\n${spec}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout(commandUsage(parsed.command));
    return 0;
  }
  try {
    return await dispatch(command, parsed.values, parsed.ids, io);
  } catch (e) {
    if (isDbUnavailable(e)) {
      io.stderr(unreachable(e));
      return 1;
    }
    if (!(e instanceof ConfigError) && !(e instanceof ClientError)) throw e;
    io.stderr(`${e.message}\n`);
    return 1;
  }
}

function commandUsageOf(name: string): string {
  const p = parseCommand(name, ["--help"]);
  return commandUsage(p.command);
}

async function dispatch(
  command: string,
  o: Record<string, string | boolean | undefined>,
  ids: Record<string, number>,
  io: CliIo,
): Promise<number> {
  const configFile = (o.config as string | undefined) ?? io.env.HOMELAB_HEALER_CONFIG;
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
    default:
      if (!(OPERATOR_COMMANDS as readonly string[]).includes(command))
        throw new Error(`command without a handler: ${command}`);
      // No secret is read up front: PostgreSQL is reached directly (peer auth, like psql), and only
      // the API path needs the token.
      return operator(command as OperatorCommand, ids, o, load(true).config, io);
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
      // The default `opencode`, missing from PATH, is the bundled one (src/agent/bundled.ts).
      config: withResolvedAgent(config, (name) => findOnPath(name, io.env.PATH)),
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
