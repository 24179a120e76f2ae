import { isIP } from "node:net";

/** A host and port the agent's sandbox asks the proxy to reach. */
export interface Destination {
  host: string;
  port: number;
}

/** One `agent.allowedHosts` entry: an exact host or `*.` suffix, and a port or any port. */
export interface HostPattern {
  /** Lower case; a leading `*.` matches any subdomain (not the bare domain). */
  host: string;
  /** `"*"`: any port. */
  port: number | "*";
}

/** `host:port` as the owner reads it (`[::1]:443` for IPv6). */
export function formatDestination(d: Destination): string {
  return `${isIP(d.host) === 6 ? `[${d.host}]` : d.host}:${d.port}`;
}

/** Lower case, no trailing dot, no IPv6 brackets: how names are compared. */
export function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

const HOST_CHARS = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * Parses `host[:port]`: `host` alone means port 443, `host:*` any port, `*.example.com` any
 * subdomain, `[v6]:port` an IPv6 address. Returns the problem as a string when it does not parse.
 */
export function parseHostPattern(raw: string): HostPattern | string {
  const s = raw.trim();
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+|\*))?$/.exec(s) ?? /^([^:[\]]+)(?::(\d+|\*))?$/.exec(s);
  if (!m) return `"${raw}" is not host[:port]`;
  const host = normalizeHost(m[1]!);
  if (isIP(host) === 0 && !HOST_CHARS.test(host)) return `"${raw}" has no valid host name`;
  const portText = m[2] ?? "443";
  if (portText === "*") return { host, port: "*" };
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${raw}" has no valid port`;
  return { host, port };
}

/** Whether a destination matches a pattern. */
export function matches(p: HostPattern, d: Destination): boolean {
  if (p.port !== "*" && p.port !== d.port) return false;
  const host = normalizeHost(d.host);
  if (p.host.startsWith("*.")) return host.endsWith(p.host.slice(1)) && host.length > p.host.length - 1;
  return host === p.host;
}

/**
 * The API endpoints of providers OpenCode reaches without a `baseURL` in its config. A provider not
 * listed here (Bedrock, Azure, Vertex: region- or account-specific) needs a `baseURL` or an
 * `agent.allowedHosts` entry.
 */
export const KNOWN_PROVIDER_HOSTS: Readonly<Record<string, string>> = {
  anthropic: "api.anthropic.com",
  openai: "api.openai.com",
  openrouter: "openrouter.ai",
  google: "generativelanguage.googleapis.com",
  mistral: "api.mistral.ai",
  groq: "api.groq.com",
  deepseek: "api.deepseek.com",
  xai: "api.x.ai",
  togetherai: "api.together.xyz",
  fireworks: "api.fireworks.ai",
  cerebras: "api.cerebras.ai",
  opencode: "opencode.ai",
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `{env:NAME}` in a config value, as OpenCode substitutes it from the agent's environment (a missing
 * name becomes empty, as in OpenCode).
 */
function substituteEnv(value: string, env: Record<string, string>): string {
  return value.replace(/\{env:([^}]+)\}/g, (_, name: string) => env[name] ?? "");
}

/** The host:port of a URL, with the scheme's default port; undefined when it is not http(s). */
export function urlDestination(url: string): Destination | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
  const port = u.port === "" ? (u.protocol === "https:" ? 443 : 80) : Number(u.port);
  return { host: normalizeHost(u.hostname), port };
}

/**
 * Where the model lives, from the effective per-run OpenCode config: the `baseURL` of every provider
 * entry, and the known endpoint of the provider of `model` and `small_model` when it has no
 * `baseURL`. `env` resolves `{env:…}` in a baseURL as OpenCode would.
 */
export function modelDestinations(
  opencodeConfig: Record<string, unknown>,
  env: Record<string, string> = {},
): Destination[] {
  const out: Destination[] = [];
  const providers = isObject(opencodeConfig.provider) ? opencodeConfig.provider : {};
  const withBaseUrl = new Set<string>();
  for (const [id, def] of Object.entries(providers)) {
    const options = isObject(def) && isObject(def.options) ? def.options : {};
    if (typeof options.baseURL !== "string") continue;
    const d = urlDestination(substituteEnv(options.baseURL, env));
    if (d) {
      out.push(d);
      withBaseUrl.add(id);
    }
  }
  for (const key of ["model", "small_model"]) {
    const model = opencodeConfig[key];
    if (typeof model !== "string" || !model.includes("/")) continue;
    const provider = model.slice(0, model.indexOf("/"));
    const known = KNOWN_PROVIDER_HOSTS[provider];
    if (!withBaseUrl.has(provider) && known !== undefined) out.push({ host: known, port: 443 });
  }
  return out;
}

/** The run's allowlist: the model's endpoints exactly, plus the owner's `agent.allowedHosts`. */
export function buildAllowlist(model: Destination[], allowedHosts: string[]): HostPattern[] {
  const patterns: HostPattern[] = model.map((d) => ({ host: normalizeHost(d.host), port: d.port }));
  for (const raw of allowedHosts) {
    const p = parseHostPattern(raw);
    // The config schema already refused what does not parse.
    if (typeof p !== "string") patterns.push(p);
  }
  return patterns;
}

/** Whether any pattern lets the destination through. */
export function allowed(patterns: HostPattern[], d: Destination): boolean {
  return patterns.some((p) => matches(p, d));
}
