import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { type CliProcess, runCliProcess, startCli } from "../support/cli-process.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { close, type Listener, listen } from "../support/listener.js";
import { adminUrl, dropDatabase, urlFor } from "../support/pg-admin.js";
import { databaseDigest } from "../support/tables.js";

/*
 * Issue 24.1: a second `serve` on a busy port printed EADDRINUSE and went on running its preflight,
 * worker and maintenance loop against the same database. Binding is now the first thing it does.
 */

const BUSY = /cannot listen on 127\.0\.0\.1:(\d+): the address is already in use/;

describe("serve on a busy port", { timeout: 120_000 }, () => {
  let dir: string;
  let t: TestDatabase;
  let first: CliProcess | undefined;
  let holder: Listener | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "healer-busy-"));
    t = await createTestDatabase();
    writeFileSync(join(dir, "token"), "busy-port-token\n");
  });
  afterAll(async () => {
    await first?.stop();
    await close(holder);
    await t?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("PostgreSQL: a second serve with the same config exits 1 naming the address; the database is unchanged", {
    timeout: 180_000,
  }, async () => {
    // The port is the first serve's own; the second gets the same config but that port.
    const config = (port: number) => {
      const file = join(dir, `config-${port}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          listen: { host: "127.0.0.1", port },
          database: { url: t.url },
          stateDir: join(dir, "state"),
          auth: { tokenFile: join(dir, "token") },
        }),
      );
      return file;
    };
    first = startCli(["serve", "--config", config(0)]);
    const port = Number((await first.waitForErr(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const before = await databaseDigest(t.db);

    const second = await runCliProcess(["serve", "--config", config(port)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(BUSY);
    expect(second.stderr).toContain("is another homelab-healer serve running?");
    expect(second.stdout).toBe("");
    expect(await databaseDigest(t.db)).toEqual(before);
    // The first one was not disturbed.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("PGlite: the second process does not even open the database directory", async () => {
    holder = await listen("someone else");
    const state = join(dir, "pglite-state");
    const file = join(dir, "pglite.json");
    writeFileSync(
      file,
      JSON.stringify({
        listen: { host: "127.0.0.1", port: holder.port },
        database: { url: `pglite://${join(state, "db")}` },
        stateDir: state,
        auth: { tokenFile: join(dir, "token") },
      }),
    );
    const r = await runCliProcess(["serve", "--config", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(BUSY);
    expect(existsSync(join(state, "db"))).toBe(false);
    expect(holder.connections).toBe(0);
  });

  it("PostgreSQL, a database never migrated: no migration runs either", async () => {
    holder ??= await listen("someone else");
    const name = `healer_busy_${process.pid}`;
    const admin = openDatabase(adminUrl(), { max: 1 });
    try {
      await dropDatabase(admin, name);
      await sql.raw(`CREATE DATABASE "${name}"`).execute(admin);
      const empty = openDatabase(urlFor(name), { max: 1 });
      try {
        const file = join(dir, "empty.json");
        writeFileSync(
          file,
          JSON.stringify({
            listen: { host: "127.0.0.1", port: holder.port },
            database: { url: urlFor(name) },
            stateDir: join(dir, "state"),
            auth: { tokenFile: join(dir, "token") },
          }),
        );
        const r = await runCliProcess(["serve", "--config", file]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(BUSY);
        expect(await databaseDigest(empty)).toEqual({});
      } finally {
        await empty.destroy();
      }
    } finally {
      await dropDatabase(admin, name);
      await admin.destroy();
    }
  });
});
