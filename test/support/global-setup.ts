import { sql } from "kysely";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { adminUrl, dropDatabase, urlFor } from "./pg-admin.js";

/** Creates one migrated template database per test run; every test file clones it. */
export default async function setup(project: TestProject) {
  const template = `healer_tpl_${process.pid}`;
  const admin = openDatabase(adminUrl(), { max: 1 });
  try {
    await dropDatabase(admin, template);
    await sql.raw(`CREATE DATABASE "${template}"`).execute(admin);
  } finally {
    await admin.destroy();
  }
  const db = openDatabase(urlFor(template), { max: 1 });
  try {
    await migrateToLatest(db as never);
  } finally {
    await db.destroy();
  }
  project.provide("templateDatabase", template);
  return async () => {
    const a = openDatabase(adminUrl(), { max: 1 });
    try {
      await dropDatabase(a, template);
    } finally {
      await a.destroy();
    }
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}
