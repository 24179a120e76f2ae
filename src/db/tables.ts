import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/** bigserial ids come back from pg as strings; we keep them as numbers (ids stay far below 2^53). */
type Id = ColumnType<number, number | undefined, never>;
type Json<T = unknown> = ColumnType<T, string | T, string | T>;
type Timestamp = ColumnType<Date, Date, Date>;

export const INCIDENT_STATES = [
  "open",
  "suppressed",
  "fixing",
  "pr_open",
  "deploying",
  "verifying",
  "needs_human",
  "resolved",
  "dismissed",
] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
export const TERMINAL_STATES: readonly IncidentState[] = ["resolved", "dismissed"];

export const RUN_OUTCOMES = [
  "pr_opened",
  "committed",
  "no_change",
  "refused",
  "validation_failed",
  "failed",
  "timed_out",
  "cancelled",
] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];
export type RunState = "queued" | "running" | "finished";
export type RunKind = "repair" | "follow_up";

export interface DeliveriesTable {
  id: Id;
  source: string;
  received_at: Timestamp;
  content_type: string | null;
  remote_addr: string | null;
  body: string;
  body_bytes: number;
  alert_count: Generated<number>;
  duplicate_alerts: Generated<number>;
  repeats: Generated<number>;
  last_repeat_at: Generated<Date | null>;
  parse_error: string | null;
  test_notification: Generated<boolean>;
}

export interface IncidentsTable {
  id: Id;
  fingerprint: string;
  state: IncidentState;
  source: string;
  title: string;
  service: string | null;
  host: string | null;
  alert_name: string;
  severity: string | null;
  occurrences: Generated<number>;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  state_changed_at: Timestamp;
  triage_reason: string | null;
  pr_url: string | null;
  pr_number: number | null;
  pr_state: "open" | "merged" | "closed" | null;
  pr_merged_at: Timestamp | null;
  pr_commented_at: Timestamp | null;
  branch: string | null;
  follow_ups: Generated<number>;
  previous_incident_id: number | null;
  resolved_at: Timestamp | null;
  resolved_by_source_at: Timestamp | null;
  pr_merge_sha: Generated<string | null>;
  deployed_at: Generated<Date | null>;
  deployed_revision: Generated<string | null>;
  deploy_warned_at: Generated<Date | null>;
}

export interface AlertsTable {
  id: Id;
  delivery_id: number;
  incident_id: number | null;
  source: string;
  fingerprint: string;
  idempotency_key: string;
  status: "firing" | "resolved";
  name: string;
  service: string | null;
  host: string | null;
  severity: string | null;
  summary: string | null;
  details: Json<Record<string, unknown>>;
  labels: Json<Record<string, string>>;
  starts_at: Timestamp | null;
  received_at: Timestamp;
}

export interface RunsTable {
  id: Id;
  incident_id: number;
  kind: RunKind;
  state: RunState;
  attempt: Generated<number>;
  max_attempts: number;
  run_after: Timestamp;
  outcome: RunOutcome | null;
  worktree: string | null;
  branch: string;
  lease_owner: string | null;
  lease_expires_at: Timestamp | null;
  heartbeat_at: Timestamp | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  worktree_removed_at: Timestamp | null;
  exit_code: number | null;
  error: string | null;
  pr_url: string | null;
  pr_number: number | null;
  commit_sha: string | null;
  validation: "passed" | "failed" | "skipped" | null;
  agent_stats: Json<Record<string, unknown>>;
  model: Generated<string | null>;
  tokens_input: Generated<number>;
  tokens_output: Generated<number>;
  tokens_reasoning: Generated<number>;
  tokens_cache_read: Generated<number>;
  tokens_cache_write: Generated<number>;
  cost: Generated<number>;
  agent_seconds: Generated<number>;
}

export interface IncidentEventsTable {
  id: Id;
  incident_id: number;
  run_id: number | null;
  at: Timestamp;
  kind: string;
  message: string;
  data: Json<Record<string, unknown>>;
}

export interface SilencesTable {
  id: Id;
  service: string;
  alert_name: string | null;
  reason: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export type DeploymentStatus = "done" | "failed";
export type DeploymentSource = "hook" | "inspect" | "prometheus";

export interface DeploymentsTable {
  id: Id;
  host: string;
  revision: string;
  dirty: Generated<boolean>;
  status: DeploymentStatus;
  at: Timestamp;
  received_at: Timestamp;
  source: DeploymentSource;
  known: Generated<boolean | null>;
}

export interface Database {
  deliveries: DeliveriesTable;
  incidents: IncidentsTable;
  alerts: AlertsTable;
  runs: RunsTable;
  incident_events: IncidentEventsTable;
  silences: SilencesTable;
  deployments: DeploymentsTable;
}

export type Incident = Selectable<IncidentsTable>;
export type NewIncident = Insertable<IncidentsTable>;
export type IncidentUpdate = Updateable<IncidentsTable>;
export type Alert = Selectable<AlertsTable>;
export type Run = Selectable<RunsTable>;
export type IncidentEvent = Selectable<IncidentEventsTable>;
export type Silence = Selectable<SilencesTable>;
export type Delivery = Selectable<DeliveriesTable>;
export type Deployment = Selectable<DeploymentsTable>;
