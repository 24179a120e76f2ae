#!/usr/bin/env node
import { runCli } from "./cli/cli.js";
import { ConfigError } from "./config/load.js";

/** Entry point: argv in, exit code out. Everything else lives in cli/ and run.ts. */
async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  try {
    return await runCli(command, rest, {
      env: {
        HOMELAB_HEALER_CONFIG: process.env.HOMELAB_HEALER_CONFIG,
        CREDENTIALS_DIRECTORY: process.env.CREDENTIALS_DIRECTORY,
        PATH: process.env.PATH ?? "/usr/bin:/bin",
      },
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    process.stderr.write(`homelab-healer: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exitCode = 1;
  },
);
