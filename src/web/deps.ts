import type { Secrets } from "../config/load.js";
import type { HostView } from "../hosts/registry.js";
import type { IncidentDeps } from "../incidents/deps.js";

/** What the web page needs, built once in run.ts (through createApp). */
export interface WebDeps extends IncidentDeps {
  secrets: Secrets;
  /** The hosts and their deployed revisions (the lifecycle's deploy tracker, as `GET /api/hosts`). */
  hosts?: () => Promise<HostView[]>;
}
