import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type ServiceProcess, startService } from "../../bench/service.js";
import { writeServiceConfig } from "../../bench/setup.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/* SIGKILL in the middle of a storm: every alert that was answered 202 is in the database. */

const TOKEN = "fault-token-sigkill";
let t: TestDatabase | undefined;
let dir = "";
const services: ServiceProcess[] = [];

afterAll(async () => {
  for (const s of services) await s.stop();
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = (svc: ServiceProcess, key: string) =>
  fetch(`${svc.url}/hooks/generic`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      alerts: [{ name: "disk-full", service: "srv.mount", host: "nas", summary: key, idempotencyKey: key }],
    }),
  });

it("keeps every acknowledged alert across a SIGKILL, and starts again", async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "healer-sigkill-"));
  const config = writeServiceConfig(dir, TOKEN, { databaseUrl: t.url, stateDir: join(dir, "state") });
  const svc = await startService(config, { logFile: join(dir, "service.log") });
  services.push(svc);

  const acked: string[] = [];
  let refused = 0;
  let killed: Promise<number | string> | undefined;
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const key = `k-${w}-${i}`;
      try {
        const res = await post(svc, key);
        if (res.status === 202) acked.push(key);
        else refused++;
      } catch {
        return; // the connection died with the process
      }
      // Kill while requests are in flight, once enough have been acknowledged.
      if (acked.length >= 300 && !killed) killed = svc.kill();
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  expect(await killed).toBe("SIGKILL");
  expect(refused).toBe(0);
  expect(acked.length).toBeGreaterThanOrEqual(300);

  const again = await startService(config, { logFile: join(dir, "service.log") });
  services.push(again);
  const stored = new Set(
    (await t.db.selectFrom("alerts").select("summary").execute()).map((r) => r.summary ?? ""),
  );
  const lost = acked.filter((k) => !stored.has(k));
  expect(lost).toEqual([]);
  const incident = await t.db.selectFrom("incidents").selectAll().execute();
  expect(incident).toHaveLength(1);
  expect(incident[0]!.occurrences).toBe(stored.size);

  // The restarted service takes alerts again, and a retried delivery is still not counted twice.
  expect((await post(again, "after-restart")).status).toBe(202);
  expect(await (await post(again, acked[0]!)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
});
