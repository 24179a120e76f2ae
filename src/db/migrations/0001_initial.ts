import type { Kysely } from "kysely";
import { runScript } from "../script.js";

// Forward-only. Never edit once landed: add 0002_… instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(
    db,
    `
    CREATE TABLE deliveries (
      id             bigserial PRIMARY KEY,
      source         text NOT NULL,
      received_at    timestamptz NOT NULL,
      content_type   text,
      remote_addr    text,
      body           text NOT NULL,
      body_bytes     integer NOT NULL,
      alert_count    integer NOT NULL DEFAULT 0,
      duplicate_alerts integer NOT NULL DEFAULT 0,
      parse_error    text,
      test_notification boolean NOT NULL DEFAULT false
    );
    COMMENT ON TABLE deliveries IS 'Every authenticated webhook request, raw, stored before it is acknowledged';
    COMMENT ON COLUMN deliveries.source IS 'Route it came in on: openobserve, alertmanager, grafana, uptime-kuma, gatus, generic';
    COMMENT ON COLUMN deliveries.body IS 'Request body as received (UTF-8; invalid bytes and NUL replaced by U+FFFD)';
    COMMENT ON COLUMN deliveries.alert_count IS 'Alerts the body held';
    COMMENT ON COLUMN deliveries.duplicate_alerts IS 'Alerts already known from an earlier delivery (retries, repeats): not counted again';
    COMMENT ON COLUMN deliveries.parse_error IS 'Why the body could not be turned into alerts; NULL when it could';
    COMMENT ON COLUMN deliveries.test_notification IS 'A sender''s test message: logged, never an incident';
    COMMENT ON COLUMN deliveries.id IS 'Delivery id';
    COMMENT ON COLUMN deliveries.received_at IS 'When it was received';
    COMMENT ON COLUMN deliveries.content_type IS 'Content-Type header as sent';
    COMMENT ON COLUMN deliveries.remote_addr IS 'Sender address';
    COMMENT ON COLUMN deliveries.body_bytes IS 'Body size in bytes';
    CREATE INDEX deliveries_received_at ON deliveries (received_at);

    CREATE TABLE incidents (
      id             bigserial PRIMARY KEY,
      fingerprint    text NOT NULL,
      state          text NOT NULL CHECK (state IN
                       ('open','suppressed','fixing','pr_open','verifying','needs_human','resolved','dismissed')),
      source         text NOT NULL,
      title          text NOT NULL,
      service        text,
      host           text,
      alert_name     text NOT NULL,
      severity       text,
      occurrences    integer NOT NULL DEFAULT 0,
      first_seen_at  timestamptz NOT NULL,
      last_seen_at   timestamptz NOT NULL,
      state_changed_at timestamptz NOT NULL,
      triage_reason  text,
      pr_url         text,
      pr_number      integer,
      pr_state       text CHECK (pr_state IN ('open','merged','closed')),
      pr_merged_at   timestamptz,
      pr_commented_at timestamptz,
      branch         text,
      follow_ups     integer NOT NULL DEFAULT 0,
      previous_incident_id bigint REFERENCES incidents(id),
      resolved_at    timestamptz,
      resolved_by_source_at timestamptz
    );
    COMMENT ON TABLE incidents IS 'Repeats of one problem (one fingerprint), and what the healer did about it';
    COMMENT ON COLUMN incidents.fingerprint IS 'Stable hash of the source''s problem identity (never of counts, times or message text)';
    COMMENT ON COLUMN incidents.state IS 'open (settling), suppressed (noise), fixing, pr_open, verifying (PR merged), needs_human, resolved, dismissed';
    COMMENT ON COLUMN incidents.service IS 'systemd unit or service name, where the source knows it';
    COMMENT ON COLUMN incidents.occurrences IS 'Alerts attached (a retried delivery adds none)';
    COMMENT ON COLUMN incidents.state_changed_at IS 'When the current state was entered';
    COMMENT ON COLUMN incidents.triage_reason IS 'Why the incident is noise or actionable, or why no repair ran';
    COMMENT ON COLUMN incidents.pr_state IS 'Last known state of the PR: open, merged, closed';
    COMMENT ON COLUMN incidents.pr_merged_at IS 'When the PR was merged: the deploy grace and verification count from here';
    COMMENT ON COLUMN incidents.pr_commented_at IS 'Last "still happening" comment (at most one an hour)';
    COMMENT ON COLUMN incidents.branch IS 'healer/incident-<id>, or -<n> for follow-ups';
    COMMENT ON COLUMN incidents.follow_ups IS 'Follow-up runs started after merged fixes that did not hold';
    COMMENT ON COLUMN incidents.previous_incident_id IS 'The earlier incident of this fingerprint, when it came back';
    COMMENT ON COLUMN incidents.resolved_by_source_at IS 'When the source last said resolved (recorded even when it does not change the state)';
    COMMENT ON COLUMN incidents.id IS 'Incident id';
    COMMENT ON COLUMN incidents.source IS 'Source of its first alert';
    COMMENT ON COLUMN incidents.title IS 'Short title: alert name and service';
    COMMENT ON COLUMN incidents.host IS 'Host, where known';
    COMMENT ON COLUMN incidents.alert_name IS 'Alert rule name';
    COMMENT ON COLUMN incidents.severity IS 'Severity as the source says it';
    COMMENT ON COLUMN incidents.first_seen_at IS 'First alert';
    COMMENT ON COLUMN incidents.last_seen_at IS 'Latest alert (or repeat of a known one)';
    COMMENT ON COLUMN incidents.pr_url IS 'Pull request of the latest run that opened one';
    COMMENT ON COLUMN incidents.pr_number IS 'Its number';
    COMMENT ON COLUMN incidents.resolved_at IS 'When it reached resolved or dismissed';
    -- At most one live incident per fingerprint: the database decides, also across instances.
    CREATE UNIQUE INDEX incidents_one_live_per_fingerprint ON incidents (fingerprint)
      WHERE state NOT IN ('resolved','dismissed');
    CREATE INDEX incidents_state ON incidents (state);
    CREATE INDEX incidents_fingerprint ON incidents (fingerprint, id DESC);

    CREATE TABLE alerts (
      id              bigserial PRIMARY KEY,
      delivery_id     bigint NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
      incident_id     bigint REFERENCES incidents(id),
      source          text NOT NULL,
      fingerprint     text NOT NULL,
      idempotency_key text NOT NULL,
      status          text NOT NULL CHECK (status IN ('firing','resolved')),
      name            text NOT NULL,
      service         text,
      host            text,
      severity        text,
      summary         text,
      details         jsonb NOT NULL DEFAULT '{}',
      labels          jsonb NOT NULL DEFAULT '{}',
      starts_at       timestamptz,
      received_at     timestamptz NOT NULL
    );
    COMMENT ON TABLE alerts IS 'One row per alert occurrence, normalised from a delivery';
    COMMENT ON COLUMN alerts.idempotency_key IS 'Source-specific key of this occurrence: a retried delivery has the same key and is not stored twice';
    COMMENT ON COLUMN alerts.status IS 'firing or resolved, per alert (never the group status)';
    COMMENT ON COLUMN alerts.summary IS 'One line for humans';
    COMMENT ON COLUMN alerts.details IS 'Source-specific detail: log lines (untrusted text), values, URLs';
    COMMENT ON COLUMN alerts.labels IS 'Labels or attributes the source sent';
    COMMENT ON COLUMN alerts.id IS 'Alert id';
    COMMENT ON COLUMN alerts.delivery_id IS 'The delivery it came in';
    COMMENT ON COLUMN alerts.incident_id IS 'The incident it is attached to (NULL for test notifications)';
    COMMENT ON COLUMN alerts.source IS 'Alert source';
    COMMENT ON COLUMN alerts.fingerprint IS 'Problem identity; equals incidents.fingerprint';
    COMMENT ON COLUMN alerts.name IS 'Alert rule name';
    COMMENT ON COLUMN alerts.service IS 'systemd unit or service, where known';
    COMMENT ON COLUMN alerts.host IS 'Host, where known';
    COMMENT ON COLUMN alerts.severity IS 'Severity as the source says it';
    COMMENT ON COLUMN alerts.starts_at IS 'When the source says the problem started';
    COMMENT ON COLUMN alerts.received_at IS 'When it was received';
    CREATE UNIQUE INDEX alerts_idempotency_key ON alerts (idempotency_key);
    CREATE INDEX alerts_incident ON alerts (incident_id, id);
    CREATE INDEX alerts_received_at ON alerts (received_at);

    CREATE TABLE runs (
      id               bigserial PRIMARY KEY,
      incident_id      bigint NOT NULL REFERENCES incidents(id),
      kind             text NOT NULL CHECK (kind IN ('repair','follow_up')),
      state            text NOT NULL CHECK (state IN ('queued','running','finished')),
      attempt          integer NOT NULL DEFAULT 0,
      max_attempts     integer NOT NULL,
      run_after        timestamptz NOT NULL,
      outcome          text CHECK (outcome IN
                         ('pr_opened','no_change','refused','validation_failed','failed','timed_out','cancelled')),
      worktree         text,
      branch           text NOT NULL,
      lease_owner      text,
      lease_expires_at timestamptz,
      heartbeat_at     timestamptz,
      created_at       timestamptz NOT NULL,
      started_at       timestamptz,
      finished_at      timestamptz,
      worktree_removed_at timestamptz,
      exit_code        integer,
      error            text,
      pr_url           text,
      pr_number        integer,
      commit_sha       text,
      validation       text CHECK (validation IN ('passed','failed','skipped')),
      agent_stats      jsonb NOT NULL DEFAULT '{}'
    );
    COMMENT ON TABLE runs IS 'Repair attempts: Postgres-leased jobs that run the agent in a worktree and open a PR';
    COMMENT ON COLUMN runs.kind IS 'repair, or follow_up after a merged fix that did not hold';
    COMMENT ON COLUMN runs.state IS 'queued, running (leased), finished (see outcome)';
    COMMENT ON COLUMN runs.attempt IS 'Attempts claimed so far (counted at claim)';
    COMMENT ON COLUMN runs.run_after IS 'Not claimed before this time (backoff after a failed attempt)';
    COMMENT ON COLUMN runs.outcome IS 'pr_opened, no_change, refused (guard), validation_failed, failed, timed_out, cancelled';
    COMMENT ON COLUMN runs.lease_owner IS 'Worker holding the run; a lease past lease_expires_at is reaped';
    COMMENT ON COLUMN runs.worktree_removed_at IS 'When the worktree was removed (the log in stateDir/runs/<id>/ stays)';
    COMMENT ON COLUMN runs.validation IS 'Result of validate.command: passed, failed, skipped (none configured)';
    COMMENT ON COLUMN runs.agent_stats IS 'From the agent''s event stream: tool calls, tokens, cost';
    COMMENT ON COLUMN runs.id IS 'Run id (HEALER_RUN_ID); its log is in stateDir/runs/<id>/';
    COMMENT ON COLUMN runs.incident_id IS 'The incident it repairs';
    COMMENT ON COLUMN runs.max_attempts IS 'agent.maxAttempts when the run was queued';
    COMMENT ON COLUMN runs.worktree IS 'Path of its git worktree';
    COMMENT ON COLUMN runs.branch IS 'Branch it pushes: healer/incident-<id>[-<n>]';
    COMMENT ON COLUMN runs.lease_expires_at IS 'Lease end; renewed by the heartbeat';
    COMMENT ON COLUMN runs.heartbeat_at IS 'Last heartbeat of the worker holding it';
    COMMENT ON COLUMN runs.created_at IS 'When it was queued';
    COMMENT ON COLUMN runs.started_at IS 'When the current attempt was claimed';
    COMMENT ON COLUMN runs.finished_at IS 'When it finished';
    COMMENT ON COLUMN runs.exit_code IS 'Exit code of the agent';
    COMMENT ON COLUMN runs.error IS 'What went wrong, when something did';
    COMMENT ON COLUMN runs.pr_url IS 'The pull request it opened or reused';
    COMMENT ON COLUMN runs.pr_number IS 'Its number';
    COMMENT ON COLUMN runs.commit_sha IS 'The commit it pushed';
    -- One live run per incident: a second worker can never run the same incident twice.
    CREATE UNIQUE INDEX runs_one_live_per_incident ON runs (incident_id) WHERE state <> 'finished';
    CREATE INDEX runs_claimable ON runs (run_after, id) WHERE state = 'queued';
    CREATE INDEX runs_created_at ON runs (created_at);

    CREATE TABLE incident_events (
      id          bigserial PRIMARY KEY,
      incident_id bigint NOT NULL REFERENCES incidents(id),
      run_id      bigint REFERENCES runs(id),
      at          timestamptz NOT NULL,
      kind        text NOT NULL,
      message     text NOT NULL,
      data        jsonb NOT NULL DEFAULT '{}'
    );
    COMMENT ON TABLE incident_events IS 'Append-only audit trail: every state change and action, with why';
    COMMENT ON COLUMN incident_events.kind IS 'e.g. created, transition, run_queued, run_finished, pr_opened, comment, follow_up, cleanup';
    COMMENT ON COLUMN incident_events.id IS 'Event id, in order';
    COMMENT ON COLUMN incident_events.incident_id IS 'The incident';
    COMMENT ON COLUMN incident_events.run_id IS 'The run, when the event is about one';
    COMMENT ON COLUMN incident_events.at IS 'When it happened';
    COMMENT ON COLUMN incident_events.message IS 'What happened, for humans';
    COMMENT ON COLUMN incident_events.data IS 'Structured detail (from/to states, counts, URLs)';
    CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

    CREATE TABLE silences (
      id          bigserial PRIMARY KEY,
      service     text NOT NULL,
      alert_name  text,
      reason      text,
      created_at  timestamptz NOT NULL,
      expires_at  timestamptz NOT NULL
    );
    COMMENT ON TABLE silences IS 'Operator silences: matching incidents are suppressed until expires_at';
    COMMENT ON COLUMN silences.alert_name IS 'NULL: every alert of the service';
    COMMENT ON COLUMN silences.id IS 'Silence id';
    COMMENT ON COLUMN silences.service IS 'Service (systemd unit) it silences, exact match';
    COMMENT ON COLUMN silences.reason IS 'Why, as the operator said';
    COMMENT ON COLUMN silences.created_at IS 'When it was made';
    COMMENT ON COLUMN silences.expires_at IS 'When it stops applying; suppressed incidents are judged again then';
    CREATE INDEX silences_expires_at ON silences (expires_at);
  `,
  );
}
