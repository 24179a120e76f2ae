import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { describeIssues, jsonSyntaxProblem } from "./problems.js";
import { type ConfigFile, configSchema, type Source } from "./schema.js";

/** Secret values read from their files. Never logged, never in API answers. */
export interface Secrets {
  token: string;
  sourceTokens: Partial<Record<Source, string>>;
  githubWebhookSecret?: string;
  forgejoWebhookSecret?: string;
  forgeToken?: string;
  ntfyToken?: string;
  /** auth.viewerTokenFile: signs in to the web page read-only. */
  viewerToken?: string;
  /** KEY=value pairs from agent.environmentFile: given to the agent only. */
  agentEnv: Record<string, string>;
}

/** The loaded configuration: the file with defaults, absolute paths, and the secrets it names. */
export interface Config extends ConfigFile {
  databaseUrl: string;
  /** Every secret file path the config names, resolved: hidden from the agent's sandbox. */
  secretPaths: string[];
  /** Set when the embedded default generated a token on this start: printed once. */
  generatedToken?: string;
}

export class ConfigError extends Error {
  readonly code = "config_invalid";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Parses a config object (already JSON-decoded); throws ConfigError naming every problem. */
export function parseConfig(raw: unknown): ConfigFile {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, raw));
  return parsed.data;
}

/** Resolves a `*File` key: absolute as is, relative under $CREDENTIALS_DIRECTORY (else the cwd). */
export function secretPath(name: string, credentialsDir: string | undefined): string {
  if (isAbsolute(name)) return name;
  return credentialsDir ? join(credentialsDir, name) : resolve(name);
}

function readSecret(path: string, key: string, problems: string[]): string | undefined {
  try {
    const value = readFileSync(path, "utf8").trim();
    if (value === "") problems.push(`${key}: ${path} is empty`);
    return value;
  } catch (e) {
    problems.push(`${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    return undefined;
  }
}

/** Parses `KEY=value` lines (systemd EnvironmentFile style: comments, blank lines, optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2] ?? "";
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    env[m[1]!] = value;
  }
  return env;
}

interface LoadOptions {
  /** Where relative secret names are looked up ($CREDENTIALS_DIRECTORY). */
  credentialsDir?: string | undefined;
  /** Read no secret file and create nothing: the build-time check. */
  shapeOnly?: boolean;
}

/** Loads the config file (or the embedded default when `file` is undefined) and its secrets. */
export function loadConfig(
  file: string | undefined,
  opts: LoadOptions = {},
): { config: Config; secrets: Secrets } {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError([`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError([jsonSyntaxProblem(file, text, e as Error)]);
    }
  }
  const parsed = parseConfig(raw);
  return resolveConfig(parsed, file === undefined, opts);
}

/** Every `*File` key of the config with the name it holds (undefined when unset). */
export function secretFileKeys(file: ConfigFile): [string, string | undefined][] {
  return [
    ["auth.tokenFile", file.auth.tokenFile],
    ...Object.entries(file.auth.sources).map(([s, v]): [string, string] => [
      `auth.sources.${s}.tokenFile`,
      v.tokenFile,
    ]),
    ["auth.github.webhookSecretFile", file.auth.github.webhookSecretFile],
    ["auth.viewerTokenFile", file.auth.viewerTokenFile],
    ["auth.forgejo.webhookSecretFile", file.auth.forgejo.webhookSecretFile],
    ["forge.tokenFile", file.forge.tokenFile],
    ["notify.ntfy.tokenFile", file.notify.ntfy?.tokenFile],
    ["repo.sshKeyFile", file.repo.sshKeyFile],
    ["agent.environmentFile", file.agent.environmentFile],
  ];
}

export function resolveConfig(
  file: ConfigFile,
  embedded: boolean,
  opts: LoadOptions,
): { config: Config; secrets: Secrets } {
  const stateDir = resolve(file.stateDir);
  const creds = opts.credentialsDir;
  const problems: string[] = [];
  const config: Config = {
    ...file,
    stateDir,
    databaseUrl: file.database.url ?? `pglite://${join(stateDir, "db")}`,
    secretPaths: [],
  };
  const secrets: Secrets = { token: "", sourceTokens: {}, agentEnv: {} };

  const paths = new Map<string, string>();
  for (const [key, name] of secretFileKeys(file)) {
    if (name !== undefined) paths.set(key, secretPath(name, creds));
  }
  config.secretPaths = [...new Set(paths.values())];
  if (creds) config.secretPaths.push(resolve(creds));
  if (file.repo.sshKeyFile) config.repo = { ...config.repo, sshKeyFile: paths.get("repo.sshKeyFile")! };

  if (file.auth.tokenFile === undefined && !embedded) problems.push("auth.tokenFile: required");
  if (opts.shapeOnly) {
    if (problems.length) throw new ConfigError(problems);
    return { config: Object.freeze(config), secrets };
  }

  if (file.auth.tokenFile !== undefined) {
    secrets.token = readSecret(paths.get("auth.tokenFile")!, "auth.tokenFile", problems) ?? "";
  } else {
    // Embedded default: a token generated into the state dir, printed once when it is made.
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tokenPath = join(stateDir, "token");
    config.secretPaths.push(tokenPath);
    if (!existsSync(tokenPath)) {
      const token = randomBytes(24).toString("base64url");
      writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
      config.generatedToken = token;
    }
    secrets.token = readFileSync(tokenPath, "utf8").trim();
  }
  for (const [source, v] of Object.entries(file.auth.sources)) {
    const value = readSecret(secretPath(v.tokenFile, creds), `auth.sources.${source}.tokenFile`, problems);
    if (value !== undefined) secrets.sourceTokens[source as Source] = value;
  }
  const optional = (key: string) => {
    const p = paths.get(key);
    return p === undefined ? undefined : readSecret(p, key, problems);
  };
  const webhook = optional("auth.github.webhookSecretFile");
  if (webhook !== undefined) secrets.githubWebhookSecret = webhook;
  const viewer = optional("auth.viewerTokenFile");
  // The same value would sign a "viewer" in with every action.
  if (viewer !== undefined && viewer === secrets.token)
    problems.push("auth.viewerTokenFile: holds the same token as auth.tokenFile; a viewer token must differ");
  else if (viewer !== undefined) secrets.viewerToken = viewer;
  const forgejoHook = optional("auth.forgejo.webhookSecretFile");
  if (forgejoHook !== undefined) secrets.forgejoWebhookSecret = forgejoHook;
  const forgeToken = optional("forge.tokenFile");
  if (forgeToken !== undefined) secrets.forgeToken = forgeToken;
  const ntfy = optional("notify.ntfy.tokenFile");
  if (ntfy !== undefined) secrets.ntfyToken = ntfy;
  const envFile = optional("agent.environmentFile");
  if (envFile !== undefined) secrets.agentEnv = parseEnvFile(envFile);
  const ssh = paths.get("repo.sshKeyFile");
  if (ssh !== undefined && !existsSync(ssh)) problems.push(`repo.sshKeyFile: ${ssh} does not exist`);

  if (problems.length) throw new ConfigError(problems);
  return { config: Object.freeze(config), secrets };
}

/** A URL with the password of its user info replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}

/** The config as printed by check-config: secret file names kept, no secret value anywhere. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const { generatedToken: _g, secretPaths: _s, ...rest } = config;
  return {
    ...rest,
    database: { ...rest.database, ...(rest.database.url ? { url: redactUrl(rest.database.url) } : {}) },
    databaseUrl: redactUrl(config.databaseUrl),
  };
}
