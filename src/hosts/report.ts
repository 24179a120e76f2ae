import type { DeploymentSource, DeploymentStatus } from "../db/tables.js";
import { hostKey, parseRevision } from "./revisions.js";

/** What a host runs, as one source reported it, checked and normalised. */
export interface Report {
  /** `hostKey` of the name: lower case, no `:port`. */
  host: string;
  revision: string;
  dirty: boolean;
  status: DeploymentStatus;
  /** When it was deployed, if the source says; else when it was seen. */
  at?: Date;
  source: DeploymentSource;
}

/** A report refused, naming the field at fault (the hook answers 422 with it). */
export interface ReportProblem {
  field: string;
  message: string;
}

// Bytes 0x00–0x1f and 0x7f: a name with them would forge log lines and terminal output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks a report's fields: the host name, `<40 hex>[-dirty]`, `done|failed`. */
export function checkReport(raw: {
  host: string;
  revision: string;
  status: string;
  at?: Date;
  source: DeploymentSource;
}): Report | ReportProblem {
  if (CONTROL.test(raw.host)) return { field: "host", message: "contains a control character" };
  const host = hostKey(raw.host);
  if (host === "") return { field: "host", message: "is empty" };
  if (host.length > 253) return { field: "host", message: "is longer than 253 characters" };
  const rev = parseRevision(raw.revision);
  if (!rev) return { field: "revision", message: "must be 40 hex digits, optionally followed by -dirty" };
  if (raw.status !== "done" && raw.status !== "failed")
    return { field: "status", message: 'must be "done" or "failed"' };
  return {
    host,
    ...rev,
    status: raw.status,
    ...(raw.at ? { at: raw.at } : {}),
    source: raw.source,
  };
}

/** Narrows checkReport's answer. */
export function isProblem(r: Report | ReportProblem): r is ReportProblem {
  return "field" in r;
}
