import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { captureIo, runCliProcess } from "../support/cli-process.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { close, type Listener, listen } from "../support/listener.js";
import { databaseDigest } from "../support/tables.js";

/*
 * Issue 24.2: `cleanup --help` ran a maintenance pass, `migrate --help` opened the live database,
 * `retry --help` said "an incident ID is required", the top-level --help exited 2.
 */

// Child processes of the real entry point: seconds each on a loaded machine.
describe("--help and usage errors", { timeout: 120_000 }, () => {
  let dir: string;
  let t: TestDatabase;
  let service: Listener;
  let pglite: string;
  let postgres: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "healer-help-"));
    t = await createTestDatabase();
    writeFileSync(join(dir, "token"), "help-token\n");
    // Stands where the service would listen: any request a command sends is counted.
    service = await listen("{}");
    const write = (name: string, database: string) => {
      writeFileSync(
        join(dir, name),
        JSON.stringify({
          listen: { host: "127.0.0.1", port: service.port },
          database: { url: database },
          stateDir: join(dir, "state"),
          auth: { tokenFile: join(dir, "token") },
        }),
      );
      return join(dir, name);
    };
    pglite = write("pglite.json", `pglite://${join(dir, "pglite")}`);
    postgres = write("postgres.json", t.url);
  });
  afterAll(async () => {
    await close(service);
    await t?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the top-level --help lists every command and exits 0; no command is exit 2", async () => {
    const help = await runCliProcess(["--help"]);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${c.name}\\b`, "m"));
    const none = await runCliProcess([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^a command is missing\n/);
  });

  it("cleanup --help prints its usage and leaves the state untouched (no request, no database change)", async () => {
    const before = await databaseDigest(t.db);
    const r = await runCliProcess(["cleanup", "--help", "--config", postgres]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^usage: homelab-healer cleanup \[--config FILE\]\n/);
    expect(service.connections).toBe(0);
    expect(await databaseDigest(t.db)).toEqual(before);
  });

  it("migrate --help and serve -h open no database", async () => {
    for (const command of ["migrate", "serve"]) {
      const r = await runCliProcess([command, command === "serve" ? "-h" : "--help", "--config", pglite]);
      expect(r, command).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toMatch(new RegExp(`^usage: homelab-healer ${command} \\[--config FILE\\]\\n`));
      expect(existsSync(join(dir, "pglite"))).toBe(false);
      expect(existsSync(join(dir, "state"))).toBe(false);
    }
    expect(service.connections).toBe(0);
  });

  it("retry abc names the bad ID; retry --help is its usage; an unknown flag is named", async () => {
    const abc = await runCliProcess(["retry", "abc", "--config", postgres]);
    expect(abc.code).toBe(2);
    expect(abc.stderr).toMatch(
      /^retry: ID must be a positive whole number, got "abc"\n\nusage: homelab-healer retry ID/,
    );
    const help = await runCliProcess(["retry", "--help"]);
    expect(help).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^usage: homelab-healer retry ID \[--config FILE\]\n/),
    });
    const flag = await runCliProcess(["incidents", "--sevice", "x", "--config", postgres]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^incidents: Unknown option '--sevice'/);
  });

  it("every command in the table answers --help and -h with its usage, touching nothing", async () => {
    const before = await databaseDigest(t.db);
    for (const c of COMMANDS)
      for (const flag of ["--help", "-h"]) {
        const r = captureIo();
        // The ID and other arguments do not matter: --help wins.
        expect(await runCli(c.name, ["1", flag, "--bogus", "--config", postgres], r.io), c.name).toBe(0);
        expect(r.out()).toMatch(new RegExp(`^usage: homelab-healer ${c.name}\\b`));
        expect(r.err()).toBe("");
      }
    expect(service.connections).toBe(0);
    expect(await databaseDigest(t.db)).toEqual(before);
  });

  it("a missing or extra argument is named, exit 2", async () => {
    const cases: [string, string[], RegExp][] = [
      ["incident", [], /^incident: ID is missing/],
      ["logs", ["1", "2"], /^logs: unexpected argument: 2/],
      ["cleanup", ["now"], /^cleanup: unexpected argument: now/],
      ["silence", ["--for"], /^silence: Option '--for/],
      ["frob", [], /^unknown command: frob\n\nusage: homelab-healer <command>/],
    ];
    for (const [command, args, re] of cases) {
      const r = captureIo();
      expect(await runCli(command, [...args, "--config", postgres], r.io), command).toBe(2);
      expect(r.err()).toMatch(re);
    }
  });
});
