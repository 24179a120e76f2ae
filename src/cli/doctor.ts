import { withResolvedAgent } from "../agent/bundled.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { findOnPath } from "../preflight/exec.js";
import { formatResults, runPreflight } from "../preflight/runner.js";
import { readSecretsOneByOne } from "../preflight/secrets.js";
import type { CheckResult } from "../preflight/types.js";
import type { CliIo } from "./io.js";

/**
 * `homelab-healer doctor`: every dependency of the repair path, one line each; exit 1 when a required
 * one fails. A config that cannot be read is a FAIL per problem, naming the key.
 */
export async function doctor(
  configFile: string | undefined,
  opts: { json: boolean; probeModel: boolean },
  io: CliIo,
): Promise<number> {
  let results: CheckResult[];
  try {
    // Shape only: secret files are read one by one below, so each unreadable one is named.
    const { config } = loadConfig(configFile, {
      credentialsDir: io.env.CREDENTIALS_DIRECTORY,
      shapeOnly: true,
    });
    const { secrets, problems } = readSecretsOneByOne(config, io.env.CREDENTIALS_DIRECTORY);
    results = [
      { name: "config", status: "ok", found: configFile ?? "embedded default (no config file)" },
      // The one place the PATH is printed: "not found on PATH" lines (and /readyz, logs) refer to it.
      { name: "PATH", status: "ok", found: io.env.PATH },
      ...(await runPreflight({
        // As serve runs it: the default `opencode`, missing from PATH, is the bundled one.
        config: withResolvedAgent(config, (name) => findOnPath(name, io.env.PATH)),
        secrets,
        secretProblems: problems,
        path: io.env.PATH,
        credentialsDir: io.env.CREDENTIALS_DIRECTORY,
        probeModel: opts.probeModel,
      })),
    ];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The problem already names the key and what is wrong with it: the fix says where to mend it.
    const where = configFile ?? "$HOMELAB_HEALER_CONFIG";
    results = e.problems.map((p) => ({
      name: "config",
      status: "fail",
      found: p,
      fix: `edit ${where} (README "Configuration reference": every key, its type and default); then \`homelab-healer doctor --config ${where}\` again`,
    }));
  }
  if (opts.json)
    io.stdout(
      `${JSON.stringify({ ok: !results.some((r) => r.status === "fail"), checks: results }, null, 2)}\n`,
    );
  else io.stdout(`${formatResults(results)}\n`);
  return results.some((r) => r.status === "fail") ? 1 : 0;
}
