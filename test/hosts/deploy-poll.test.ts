import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { latestDeployment } from "../../src/hosts/deployments.repo.js";
import { createInspector } from "../../src/hosts/inspect.js";
import { revisionFromNixosVersion } from "../../src/hosts/poll.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { createWorld, type World } from "../lifecycle/world.js";
import { installInspectProgram, type Sshd, sshdSkipReason, startSshd } from "../support/sshd.js";

const REV = "0123456789abcdef0123456789abcdef01234567";

/*
 * What NixOS's `nixos-version --json` prints: nixpkgs' nixos/modules/installer/tools/nixos-version.sh
 * cats the JSON of { nixosVersion, nixpkgsRevision?, configurationRevision? } (the last only when the
 * system sets system.configurationRevision), the same object for every call.
 */
const nixosJson = (rev?: string) =>
  JSON.stringify({
    nixosVersion: "25.05.20250601.abcdef0",
    nixpkgsRevision: "abcdef0123456789abcdef0123456789abcdef01",
    ...(rev === undefined ? {} : { configurationRevision: rev }),
  });

describe("nixos-version --json → configurationRevision", () => {
  it("reads it, says what is missing, and refuses garbage", () => {
    expect(revisionFromNixosVersion(nixosJson(REV))).toEqual({ revision: REV });
    expect(revisionFromNixosVersion(`${nixosJson(`${REV}-dirty`)}\n`)).toEqual({ revision: `${REV}-dirty` });
    expect(revisionFromNixosVersion(nixosJson())).toEqual({
      error: expect.stringContaining("set system.configurationRevision = self.rev or self.dirtyRev or null;"),
    });
    expect(revisionFromNixosVersion("25.05 (Warbler)")).toEqual({
      error: "nixos-version --json printed no JSON",
    });
    expect(revisionFromNixosVersion("[1]")).toEqual({ error: "nixos-version --json printed no JSON object" });
    expect(revisionFromNixosVersion('{"configurationRevision":7}')).toEqual({
      error: "configurationRevision is not a string",
    });
  });
});

const skip = sshdSkipReason();
if (skip) console.log(skip);

/*
 * The poller through the real inspection channel: Debian's sshd, the host program as the forced
 * command, the Inspector of issue 20. This Debian machine has no nixos-version, so the host program
 * finds a stand-in first on its PATH (`binDirs`) that prints NixOS's JSON (above) with the revision
 * the test writes; ssh, sshd, the wire encoding and both allowlists are the real ones.
 */
describe.skipIf(skip !== undefined)("polling each configured host through the inspection channel", () => {
  let w: World;
  let sshd: Sshd;
  let revisionFile: string;
  const dir = mkdtempSync(join(tmpdir(), "deploy-poll-"));
  const POLL = 300;

  beforeAll(async () => {
    const bin = join(dir, "nixos-bin");
    mkdirSync(bin);
    chmodSync(bin, 0o755);
    revisionFile = join(dir, "configuration-revision");
    writeFileSync(revisionFile, "", { mode: 0o644 });
    writeFileSync(
      join(bin, "nixos-version"),
      `#!/bin/sh\n# NixOS's nixos-version --json, for a Debian test host\nrev=$(cat ${revisionFile})\nprintf '{"nixosVersion":"25.05.20250601.abcdef0","nixpkgsRevision":"abcdef0123456789abcdef0123456789abcdef01"%s}\\n' "\${rev:+,\\"configurationRevision\\":\\"$rev\\"}"\n`,
      { mode: 0o755 },
    );
    const forced = installInspectProgram(dir, ["nixos-version", "nixos-version *"], { binDirs: [bin] });
    sshd = await startSshd({ dir, forcedCommand: forced });
    const raw = {
      hosts: { "media-01": { address: "127.0.0.1", port: sshd.port, user: sshd.user } },
      inspect: { sshKeyFile: sshd.clientKey, knownHostsFile: sshd.knownHostsFile, timeoutSeconds: 10 },
      deploy: { pollSeconds: POLL },
    };
    // The world's lifecycle polls through this inspector; its config carries the same hosts.
    const inspector = createInspector(parseConfig(raw), pino({ level: "silent" }));
    w = await createWorld(raw, { git: true, inspector });
  });
  afterAll(async () => {
    await sshd?.stop();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks once at start, then every deploy.pollSeconds while an incident waits; the fix running moves it on", async () => {
    const old = (await w.remote.head("main")) as string;
    writeFileSync(revisionFile, old);
    await w.lifecycle.tick(); // the first pass asks every host once
    expect(await latestDeployment(w.t.db, "media-01", "done")).toMatchObject({
      revision: old,
      source: "inspect",
      known: true,
    });

    const { id, merge } = await w.fixAndMerge("jellyfin.service", "media-01");
    expect((await w.incident(id)).state).toBe("deploying");
    const merged = (await incidentEvents(w.t.db, id)).find((e) => e.kind === "pr_merged");
    expect(merged?.message).toContain("inspection (hosts.media-01)");

    // The owner deploys the merge; nothing asks before deploy.pollSeconds have passed.
    writeFileSync(revisionFile, `${merge}-dirty`);
    w.clock.advance(POLL - 1);
    await w.lifecycle.tick();
    expect((await w.incident(id)).state).toBe("deploying");
    w.clock.advance(1);
    await w.lifecycle.tick();
    const i = await w.incident(id);
    expect(i.state).toBe("verifying");
    expect(i.deployed_revision).toBe(`${merge}-dirty`);
    const rows = await w.t.db.selectFrom("deployments").selectAll().orderBy("id").execute();
    // Stored on change only: the unchanged answer of the second pass added no row.
    expect(rows.map((r) => [r.revision, r.dirty, r.source])).toEqual([
      [old, false, "inspect"],
      [merge, true, "inspect"],
    ]);
  });
});
