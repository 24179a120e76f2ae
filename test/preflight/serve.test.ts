import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Healer, SERVE_TOKEN, startHealer } from "../support/serve.js";
import { BWRAP_USERNS_REFUSED, type Scratch, scratch } from "./support.js";

const JELLYFIN = readFileSync(
  new URL(
    "../fixtures/alerts/openobserve/recommended.jellyfin-ffmpeg-permission-denied.json",
    import.meta.url,
  ),
  "utf8",
);
const ENV_SECRET = "sk-agent-env-secret-4242";
const WEBHOOK_SECRET = "webhook-secret-value-4343";

describe("serve runs the preflight: a machine whose kernel refuses bwrap its namespaces", () => {
  let h: Healer;
  let s: Scratch;
  beforeAll(async () => {
    s = scratch();
    const bin = s.bin({
      bwrap: `#!/bin/sh\n[ "$1" = "--version" ] && { echo "bubblewrap 0.8.0"; exit 0; }\necho "${BWRAP_USERNS_REFUSED}" >&2\nexit 1\n`,
    });
    const envFile = s.file("agent.env", `LLM_API_KEY=${ENV_SECRET}\n`);
    const webhook = s.file("webhook", `${WEBHOOK_SECRET}\n`);
    h = await startHealer({
      preflightMs: 3_600_000,
      // The fake bwrap comes first on the service's PATH.
      servicePath: `${bin}:${process.env.PATH}`,
      config: (base) => ({
        ...base,
        auth: { ...(base.auth as object), github: { webhookSecretFile: webhook } },
        agent: { ...(base.agent as object), environmentFile: envFile },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    s?.cleanup();
  });

  it("logs one warning with the fix, reports it in /readyz and /metrics, and no incident starts a doomed run", {
    timeout: 60_000,
  }, async () => {
    const done = await h.waitFor("the first preflight pass", async () =>
      h.lines.find((l) => String(l.msg).startsWith("preflight:")),
    );
    expect(done.msg).toContain("1 required check(s) failed");
    const warned = h.lines.filter((l) => l.level === 40 && l.check === "sandbox");
    expect(warned).toHaveLength(1);
    expect(String(warned[0]!.msg)).toContain("user namespaces are refused here");
    expect(String(warned[0]!.fix)).toContain("kernel.unprivileged_userns_clone=1");

    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ok: boolean; degraded: string[] };
    expect(body.ok).toBe(true);
    expect(body.degraded).toHaveLength(1);
    expect(body.degraded[0]).toMatch(
      /^sandbox: bubblewrap 0\.8\.0 at .*fakebin|^sandbox: bubblewrap 0\.8\.0 at /,
    );

    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('homelab_healer_preflight_ok{check="sandbox"} 0');
    expect(metrics).toContain('homelab_healer_preflight_ok{check="repo"} 1');
    expect(metrics).toContain('homelab_healer_preflight_ok{check="forge"} 1');

    const res = await h.post("openobserve", JELLYFIN);
    expect(res.status).toBe(202);
    const { incidents } = (await res.json()) as { incidents: number[] };
    const detail = await h.waitFor("the incident's verdict", async () => {
      const d = (
        await h.api<{ incident: { state: string; triage_reason: string }; runs: unknown[] }>(
          `/incidents/${incidents[0]}`,
        )
      ).body;
      return d.incident.state === "open" ? undefined : d;
    });
    expect(detail.incident.state).toBe("needs_human");
    expect(detail.incident.triage_reason).toContain("no repair ran: preflight check failed: sandbox:");
    expect(detail.incident.triage_reason).toContain(`homelab-healer retry ${incidents[0]}`);
    expect(detail.runs).toEqual([]);

    // No secret in any log line: API token, forge token, webhook secret, environment file values.
    const logged = JSON.stringify(h.lines);
    for (const secret of [SERVE_TOKEN, h.github.token, WEBHOOK_SECRET, ENV_SECRET])
      expect(logged).not.toContain(secret);
  });
});
