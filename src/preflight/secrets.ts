import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Config, parseEnvFile, type Secrets, secretFileKeys, secretPath } from "../config/load.js";
import type { Source } from "../config/schema.js";

/**
 * Reads each secret file the config names on its own, so one unreadable file becomes a problem named
 * by its key instead of stopping everything (as loading for `serve` does). Values stay in memory.
 */
export function readSecretsOneByOne(
  config: Config,
  credentialsDir: string | undefined,
): { secrets: Partial<Secrets>; problems: Record<string, string> } {
  const secrets: Partial<Secrets> = { sourceTokens: {}, agentEnv: {} };
  const problems: Record<string, string> = {};
  for (const [key, name] of secretFileKeys(config)) {
    if (name === undefined) continue;
    const path = key === "repo.sshKeyFile" ? name : secretPath(name, credentialsDir);
    let value: string;
    try {
      value = readFileSync(path, "utf8").trim();
    } catch (e) {
      problems[key] = `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
      continue;
    }
    if (value === "") {
      problems[key] = `${path} is empty`;
      continue;
    }
    if (key === "auth.tokenFile") secrets.token = value;
    else if (key === "auth.github.webhookSecretFile") secrets.githubWebhookSecret = value;
    else if (key === "auth.forgejo.webhookSecretFile") secrets.forgejoWebhookSecret = value;
    else if (key === "forge.tokenFile") secrets.forgeToken = value;
    else if (key === "notify.ntfy.tokenFile") secrets.ntfyToken = value;
    else if (key === "agent.environmentFile") secrets.agentEnv = parseEnvFile(value);
    else if (key.startsWith("auth.sources.")) {
      const source = key.split(".")[2] as Source;
      secrets.sourceTokens = { ...secrets.sourceTokens, [source]: value };
    }
  }
  if (config.auth.tokenFile === undefined) {
    // The embedded default: serve generates the token on its first start.
    try {
      secrets.token = readFileSync(join(config.stateDir, "token"), "utf8").trim();
    } catch {
      // not generated yet: not a problem
    }
  }
  return { secrets, problems };
}

/** Every secret value known, for tests and for scrubbing output: never printed. */
export function secretValues(secrets: Partial<Secrets>): string[] {
  const values = [
    secrets.token,
    secrets.githubWebhookSecret,
    secrets.forgejoWebhookSecret,
    secrets.forgeToken,
    secrets.ntfyToken,
    ...Object.values(secrets.sourceTokens ?? {}),
    ...Object.values(secrets.agentEnv ?? {}),
  ];
  return values.filter((v): v is string => typeof v === "string" && v.length >= 4);
}
