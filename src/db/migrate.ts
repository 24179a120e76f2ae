import { type Kysely, type Migration, type MigrationProvider, Migrator } from "kysely";
import * as m0001 from "./migrations/0001_initial.js";
import * as m0002 from "./migrations/0002_run_usage.js";
import * as m0004 from "./migrations/0004_deployments.js";
import * as m0008 from "./migrations/0008_run_committed.js";
import * as m0009 from "./migrations/0009_delivery_repeats.js";
import * as m0010 from "./migrations/0010_incidents_state_first_seen.js";

/** Every migration, in order. Static imports so the bundle needs no directory scan. */
const migrations: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_run_usage": m0002,
  "0004_deployments": m0004,
  "0008_run_committed": m0008,
  "0009_delivery_repeats": m0009,
  "0010_incidents_state_first_seen": m0010,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Applies pending migrations. Kysely takes a Postgres advisory lock around them, so several
 * instances starting at once apply each migration exactly once.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = migratorFor(db);
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new Error(`migration failed: ${String(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Applies migrations up to and including `name` (tests of what a later migration carries over). */
export async function migrateUpTo(db: Kysely<unknown>, name: string): Promise<void> {
  const { error } = await migratorFor(db).migrateTo(name);
  if (error) throw new Error(`migration failed: ${String(error)}`, { cause: error });
}

function migratorFor(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider,
    migrationTableName: "schema_migrations",
    migrationLockTableName: "schema_migrations_lock",
  });
}

/** Which of the migrations this program knows are applied, and which are pending. */
export async function migrationStatus(
  db: Kysely<unknown>,
): Promise<{ applied: string[]; pending: string[] }> {
  const known = await migratorFor(db).getMigrations();
  return {
    applied: known.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: known.filter((m) => m.executedAt === undefined).map((m) => m.name),
  };
}
