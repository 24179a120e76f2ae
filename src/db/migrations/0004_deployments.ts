import type { Kysely } from "kysely";
import { runScript } from "../script.js";

// Forward-only. Never edit once landed. Existing incidents keep their state: the new CHECK only adds
// `deploying`, so a `verifying` incident carries over as it is (untracked, timed from its merge).
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(
    db,
    `
    ALTER TABLE incidents DROP CONSTRAINT incidents_state_check;
    ALTER TABLE incidents ADD CONSTRAINT incidents_state_check CHECK (state IN
      ('open','suppressed','fixing','pr_open','deploying','verifying','needs_human','resolved','dismissed'));
    COMMENT ON COLUMN incidents.state IS 'open (settling), suppressed (noise), fixing, pr_open, deploying (PR merged, the fix not yet running on the incident''s host), verifying (fix deployed, or deployment not tracked), needs_human, resolved, dismissed';

    ALTER TABLE incidents
      ADD COLUMN pr_merge_sha      text,
      ADD COLUMN deployed_at       timestamptz,
      ADD COLUMN deployed_revision text,
      ADD COLUMN deploy_warned_at  timestamptz;
    COMMENT ON COLUMN incidents.pr_merge_sha IS 'The commit the merge put on repo.branch (the forge''s merge_commit_sha; the PR head when the forge gave none): what the host must run';
    COMMENT ON COLUMN incidents.deployed_at IS 'When the host reported a revision containing pr_merge_sha (verification is timed from it); NULL: not deployed yet, or not tracked';
    COMMENT ON COLUMN incidents.deployed_revision IS 'The host''s revision that contained the fix (40 hex, -dirty when it was)';
    COMMENT ON COLUMN incidents.deploy_warned_at IS 'Last "merged but still not deployed" warning (lifecycle.deployWarnSeconds; at most daily)';

    CREATE TABLE deployments (
      id          bigserial PRIMARY KEY,
      host        text NOT NULL,
      revision    text NOT NULL CHECK (revision ~ '^[0-9a-f]{40}$'),
      dirty       boolean NOT NULL DEFAULT false,
      status      text NOT NULL CHECK (status IN ('done','failed')),
      at          timestamptz NOT NULL,
      received_at timestamptz NOT NULL,
      source      text NOT NULL CHECK (source IN ('hook','inspect','prometheus')),
      known       boolean
    );
    COMMENT ON TABLE deployments IS 'What each homelab host reported running: one row per report (hook) or per change seen (inspection, Prometheus)';
    COMMENT ON COLUMN deployments.id IS 'Deployment id';
    COMMENT ON COLUMN deployments.host IS 'Host name as alerts carry it, lower case';
    COMMENT ON COLUMN deployments.revision IS 'The flake repo commit the host runs (40 hex, without -dirty)';
    COMMENT ON COLUMN deployments.dirty IS 'The host runs uncommitted changes on top of revision (-dirty): counted by its base commit, flagged';
    COMMENT ON COLUMN deployments.status IS 'done (the host runs it) or failed (the deployment of it failed)';
    COMMENT ON COLUMN deployments.at IS 'When it was deployed (the sender''s time, else when it was first seen)';
    COMMENT ON COLUMN deployments.received_at IS 'When homelab-healer learned of it';
    COMMENT ON COLUMN deployments.source IS 'hook (POST /hooks/deployment), inspect (nixos-version over the inspection channel), prometheus (deploy.prometheus)';
    COMMENT ON COLUMN deployments.known IS 'Whether the mirror has the commit (after a fetch): false = unknown to the repository, never counted as containing a fix; NULL = not checked yet';
    CREATE INDEX deployments_host_at ON deployments (host, at DESC, id DESC);
    `,
  );
}
