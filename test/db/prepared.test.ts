import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/database.js";
import { prepared } from "../../src/db/prepared.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

describe("named prepared statements", () => {
  let t: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    t = await createTestDatabase();
    // One connection: what it has prepared is what pg_prepared_statements shows.
    db = openDatabase(t.url, { max: 1 });
  });
  afterAll(async () => {
    await db?.destroy();
    await t?.drop();
  });

  const preparedNames = async () =>
    (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(db)).rows.map(
      (r) => r.name,
    );

  it("prepares a marked statement once per connection and runs it by name with new parameters", async () => {
    const double = (n: number) => sql<{ v: number }>`${prepared("probe_double")} SELECT ${n}::int * 2 AS v`;
    expect((await double(2).execute(db)).rows).toEqual([{ v: 4 }]);
    expect((await double(21).execute(db)).rows).toEqual([{ v: 42 }]);
    const names = await preparedNames();
    expect(names.filter((n) => n.startsWith("probe_double_"))).toHaveLength(1);
  });

  it("leaves unmarked statements unnamed, and tells two texts under one name apart", async () => {
    await sql`SELECT 1 AS unmarked`.execute(db);
    await sql`${prepared("probe_twice")} SELECT 1 AS a`.execute(db);
    await sql`${prepared("probe_twice")} SELECT 2 AS b`.execute(db);
    const names = await preparedNames();
    expect(names.filter((n) => n.startsWith("probe_twice_"))).toHaveLength(2);
    expect(names.every((n) => /^[a-z_]+_[0-9a-f]{10}$/.test(n))).toBe(true);
  });

  it("an error in a prepared statement is the statement's own; the connection goes on", async () => {
    const bad = sql`${prepared("probe_bad")} SELECT 1 / ${0}::int AS x`;
    await expect(bad.execute(db)).rejects.toThrow(/division by zero/);
    await expect(bad.execute(db)).rejects.toThrow(/division by zero/);
    expect((await sql<{ ok: number }>`SELECT 1 AS ok`.execute(db)).rows).toEqual([{ ok: 1 }]);
  });

  it("refuses a name that could break out of the comment", () => {
    expect(() => prepared("x*/ DROP TABLE alerts; /*")).toThrow(/must be/);
  });
});
