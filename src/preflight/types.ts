import type { Config, Secrets } from "../config/load.js";
import type { Db } from "../db/database.js";

/** ok · warn (works, but something is missing or unprotected) · fail (a required piece is broken). */
export type CheckStatus = "ok" | "warn" | "fail";

/** One check's verdict: what was found and, for a problem, the one thing to do. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  found: string;
  fix?: string;
}

/** Everything the checks read; built by `doctor` (secrets it could read) or by `serve` (its own). */
export interface PreflightContext {
  config: Config;
  /** The secrets that could be read; a key missing here has its problem in `secretProblems`. */
  secrets: Partial<Secrets>;
  /** Config key → why its secret file could not be read (doctor reads them one by one). */
  secretProblems: Record<string, string>;
  /** The service's PATH: where bwrap, git and the agent are found. */
  path: string;
  credentialsDir?: string | undefined;
  /** An open database (serve's own); without it, the check opens one (doctor). */
  db?: Db | undefined;
  /** Send one request to the model through the sandbox (doctor --probe-model only). */
  probeModel?: boolean;
  signal?: AbortSignal | undefined;
}

/** A group of checks: each returns one or more results and never throws. */
export type CheckGroup = (ctx: PreflightContext) => Promise<CheckResult[]>;

export const ok = (name: string, found: string): CheckResult => ({ name, status: "ok", found });
export const warn = (name: string, found: string, fix: string): CheckResult => ({
  name,
  status: "warn",
  found,
  fix,
});
export const fail = (name: string, found: string, fix: string): CheckResult => ({
  name,
  status: "fail",
  found,
  fix,
});
