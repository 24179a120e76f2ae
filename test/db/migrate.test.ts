import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { migrateToLatest, migrateUpTo } from "../../src/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { adminUrl, dropDatabase, urlFor } from "../support/pg-admin.js";

describe("migrations", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });

  it("every table and column of SPEC §5 exists and carries a comment", async () => {
    const rows = await sql<{ table_name: string; column_name: string; comment: string | null }>`
      SELECT c.table_name, c.column_name,
             col_description(format('%I', c.table_name)::regclass, c.ordinal_position) AS comment
      FROM information_schema.columns c
      WHERE c.table_schema = 'public' AND c.table_name IN
        ('deliveries','alerts','incidents','runs','incident_events','silences','deployments')`.execute(t.db);
    const byTable = new Map<string, string[]>();
    for (const r of rows.rows)
      byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), r.column_name]);
    expect(byTable.get("incidents")).toEqual(
      expect.arrayContaining([
        "id",
        "fingerprint",
        "state",
        "title",
        "service",
        "host",
        "alert_name",
        "severity",
        "occurrences",
        "first_seen_at",
        "last_seen_at",
        "triage_reason",
        "pr_url",
        "pr_number",
        "branch",
        "follow_ups",
        "previous_incident_id",
      ]),
    );
    expect(byTable.get("runs")).toEqual(
      expect.arrayContaining([
        "id",
        "incident_id",
        "kind",
        "state",
        "attempt",
        "outcome",
        "worktree",
        "branch",
        "lease_owner",
        "lease_expires_at",
        "heartbeat_at",
        "started_at",
        "finished_at",
        "exit_code",
        "error",
        "pr_url",
      ]),
    );
    expect(byTable.get("alerts")).toEqual(
      expect.arrayContaining([
        "incident_id",
        "fingerprint",
        "status",
        "name",
        "service",
        "host",
        "severity",
        "summary",
        "details",
        "labels",
        "starts_at",
      ]),
    );
    const tableComments = await sql<{ relname: string; comment: string | null }>`
      SELECT relname, obj_description(oid) AS comment FROM pg_class
      WHERE relname IN ('deliveries','alerts','incidents','runs','incident_events','silences','deployments')`.execute(
      t.db,
    );
    expect(tableComments.rows).toHaveLength(7);
    expect(byTable.get("deployments")).toEqual(
      expect.arrayContaining(["host", "revision", "dirty", "status", "at", "source"]),
    );
    for (const r of tableComments.rows) expect(r.comment, r.relname).toBeTruthy();
    const uncommented = rows.rows.filter((r) => !r.comment).map((r) => `${r.table_name}.${r.column_name}`);
    expect(uncommented).toEqual([]);
  });

  it("two instances migrating one fresh database at once apply each migration once", async () => {
    const name = `healer_mig_${process.pid}`;
    const admin = openDatabase(adminUrl(), { max: 1 });
    await dropDatabase(admin, name);
    await sql.raw(`CREATE DATABASE "${name}"`).execute(admin);
    const a = openDatabase(urlFor(name));
    const b = openDatabase(urlFor(name));
    try {
      const [ra, rb] = await Promise.all([migrateToLatest(a as never), migrateToLatest(b as never)]);
      expect([...ra, ...rb].sort()).toEqual([
        "0001_initial",
        "0002_run_usage",
        "0004_deployments",
        "0008_run_committed",
        "0009_delivery_repeats",
        "0010_incidents_state_first_seen",
      ]);
      const applied = await sql<{ n: number }>`SELECT count(*)::int AS n FROM schema_migrations`.execute(a);
      expect(applied.rows[0]?.n).toBe(6);
    } finally {
      await a.destroy();
      await b.destroy();
      await dropDatabase(admin, name);
      await admin.destroy();
    }
  });

  it("0004 carries existing incidents over unchanged: verifying stays verifying, timed from its merge", async () => {
    const name = `healer_mig4_${process.pid}`;
    const admin = openDatabase(adminUrl(), { max: 1 });
    await dropDatabase(admin, name);
    await sql.raw(`CREATE DATABASE "${name}"`).execute(admin);
    const db = openDatabase(urlFor(name));
    try {
      await migrateUpTo(db as never, "0002_run_usage");
      const merged = new Date("2026-12-01T10:00:00Z");
      await sql`INSERT INTO incidents (fingerprint, state, source, title, alert_name, first_seen_at, last_seen_at,
                  state_changed_at, pr_url, pr_number, pr_state, pr_merged_at)
                VALUES ('fp-v', 'verifying', 'generic', 'jellyfin down', 'ServiceDown', ${merged}, ${merged},
                  ${merged}, 'https://github.example/pull/3', 3, 'merged', ${merged}),
                       ('fp-o', 'pr_open', 'generic', 'nginx down', 'ServiceDown', ${merged}, ${merged},
                  ${merged}, NULL, NULL, NULL, NULL)`.execute(db);
      const before = await sql<Record<string, unknown>>`SELECT * FROM incidents ORDER BY id`.execute(db);
      expect(await migrateToLatest(db as never)).toEqual([
        "0004_deployments",
        "0008_run_committed",
        "0009_delivery_repeats",
        "0010_incidents_state_first_seen",
      ]);
      const after = await sql<Record<string, unknown>>`SELECT * FROM incidents ORDER BY id`.execute(db);
      for (const [i, row] of after.rows.entries()) {
        expect(row).toEqual({
          ...before.rows[i],
          pr_merge_sha: null,
          deployed_at: null,
          deployed_revision: null,
          deploy_warned_at: null,
        });
      }
      expect(after.rows.map((r) => r.state)).toEqual(["verifying", "pr_open"]);
      // The new state is allowed, nothing else is.
      await sql`UPDATE incidents SET state = 'deploying' WHERE fingerprint = 'fp-o'`.execute(db);
      await expect(
        sql`UPDATE incidents SET state = 'waiting' WHERE fingerprint = 'fp-o'`.execute(db),
      ).rejects.toThrow(/incidents_state_check/);
    } finally {
      await db.destroy();
      await dropDatabase(admin, name);
      await admin.destroy();
    }
  });

  it("PGlite runs the same migrations", async () => {
    const db = openDatabase("pglite://memory");
    try {
      expect(await migrateToLatest(db as never)).toEqual([
        "0001_initial",
        "0002_run_usage",
        "0004_deployments",
        "0008_run_committed",
        "0009_delivery_repeats",
        "0010_incidents_state_first_seen",
      ]);
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM incidents`.execute(db);
      expect(r.rows[0]?.n).toBe(0);
    } finally {
      await db.destroy();
    }
  });
});
