import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { readSecretsOneByOne } from "../../src/preflight/secrets.js";
import type { PreflightContext } from "../../src/preflight/types.js";

/** A scratch dir outside /tmp (the sandbox mounts its own /tmp), removed by `cleanup`. */
export interface Scratch {
  dir: string;
  /** Writes a file (mode 0600) and returns its path. */
  file(name: string, text: string): string;
  /** A directory holding executable scripts: a PATH entry. */
  bin(scripts: Record<string, string>): string;
  /** The doctor's context for a config object, as `doctor --config` builds it. */
  ctx(raw: Record<string, unknown>, over?: Partial<PreflightContext>): PreflightContext;
  cleanup(): void;
}

/** Makes a scratch dir with a token file; configs made by `ctx` get a state dir inside it. */
export function scratch(): Scratch {
  const dir = mkdtempSync(join("/var/tmp", "healer-preflight-test-"));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const token = file("api-token", "api-token-value-1234\n");
  let bins = 0;
  return {
    dir,
    file,
    bin(scripts) {
      const b = join(dir, `bin${++bins}`);
      mkdirSync(b);
      for (const [name, text] of Object.entries(scripts)) {
        writeFileSync(join(b, name), text);
        chmodSync(join(b, name), 0o755);
      }
      return b;
    },
    ctx(raw, over = {}) {
      const configFile = file(
        `config-${Math.random().toString(36).slice(2)}.json`,
        JSON.stringify({ stateDir: join(dir, "state"), auth: { tokenFile: token }, ...raw }),
      );
      const { config } = loadConfig(configFile, { shapeOnly: true });
      const { secrets, problems } = readSecretsOneByOne(config, undefined);
      return {
        config,
        secrets,
        secretProblems: problems,
        path: process.env.PATH ?? "/usr/bin:/bin",
        ...over,
      };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** bubblewrap's message when the kernel refuses it a user namespace (bubblewrap.c, `die (…)`). */
export const BWRAP_USERNS_REFUSED =
  "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.";

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}
