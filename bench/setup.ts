import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { type Db, openDatabase } from "../src/db/database.js";
import { migrateToLatest } from "../src/db/migrate.js";

/** The PostgreSQL server to use: $BENCH_DATABASE_URL's server, else the local one with trust auth. */
export function adminUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

export interface BenchDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one service under test; `drop()` removes it. */
export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = openDatabase(adminUrl(), { max: 1 });
  try {
    await sql.raw(`CREATE DATABASE "${name}"`).execute(admin);
  } finally {
    await admin.destroy();
  }
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = openDatabase(url, { max: 2 });
  await migrateToLatest(db as never);
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      const a = openDatabase(adminUrl(), { max: 1 });
      try {
        await sql.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).execute(a);
      } finally {
        await a.destroy();
      }
    },
  };
}

/** PostgreSQL's version and the settings that decide what "durable" means on this server. */
export async function postgresFacts(
  db: Db,
): Promise<{ version: string; fsync: string; synchronousCommit: string }> {
  const one = async (q: string) => String(Object.values((await sql.raw(q).execute(db)).rows[0] as object)[0]);
  return {
    version: (await one("SHOW server_version")).split(" ")[0] ?? "?",
    fsync: await one("SHOW fsync"),
    synchronousCommit: await one("SHOW synchronous_commit"),
  };
}

/** Writes a token file and a config file for one service; returns the config's path. */
export function writeServiceConfig(
  dir: string,
  token: string,
  config: { databaseUrl: string; stateDir: string; extra?: Record<string, unknown> },
): string {
  writeFileSync(join(dir, "token"), `${token}\n`, { mode: 0o600 });
  const file = join(dir, "config.json");
  writeFileSync(
    file,
    JSON.stringify(
      {
        listen: { host: "127.0.0.1", port: 0 },
        database: { url: config.databaseUrl },
        stateDir: config.stateDir,
        auth: { tokenFile: join(dir, "token") },
        forge: { type: "none" },
        ...config.extra,
      },
      null,
      2,
    ),
  );
  return file;
}
