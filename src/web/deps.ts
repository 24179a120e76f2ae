import type { Secrets } from "../config/load.js";
import type { IncidentDeps } from "../incidents/deps.js";
import type { HostRow } from "./home.js";

/** What the web page needs, built once in run.ts (through createApp). */
export interface WebDeps extends IncidentDeps {
  secrets: Secrets;
  /** The hosts and their deployed revisions, once that part is wired in (see `hostsPanel`). */
  hosts?: () => Promise<HostRow[]>;
}
