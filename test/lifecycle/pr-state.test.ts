import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { FORGE_KINDS } from "../support/forges.js";
import { createWorld, WEBHOOK_SECRET, type World } from "./world.js";

const POLL = 300;

describe.each(FORGE_KINDS)("PR state on %s: polling and the signed webhook agree", (kind) => {
  let w: World;
  let app: ReturnType<typeof createApp>;
  /** A webhook delivery as the forge sends it; `secret` null sends no signature at all. */
  const hook = (event: string, payload: unknown, secret: string | null = WEBHOOK_SECRET, raw?: string) => {
    // Forgejo sends pretty-printed JSON: the signature is over these exact bytes.
    const body = raw ?? JSON.stringify(payload, null, kind === "forgejo" ? 2 : undefined);
    const headers = w.fake.webhookHeaders(event, body, secret);
    return app.request(`/hooks/${kind}`, { method: "POST", headers, body });
  };
  const closed = (pr: number, merged: boolean, branch: string) => ({
    action: "closed",
    number: pr,
    // Forgejo: head.label is the branch; head.ref may already be refs/pull/N/head.
    pull_request: {
      number: pr,
      merged,
      head: kind === "forgejo" ? { label: branch, ref: `refs/pull/${pr}/head` } : { ref: branch },
    },
    repository: { full_name: `${w.fake.owner}/${w.fake.repo}` },
  });

  beforeEach(async () => {
    w = await createWorld({ lifecycle: { prPollSeconds: POLL } }, { kind });
    const { githubHook, forgejoHook } = w.lifecycle;
    expect(kind === "github" ? githubHook : forgejoHook).toBeDefined();
    app = createApp({
      ...w.deps,
      secrets: { token: "api-token", sourceTokens: {}, agentEnv: {} },
      metrics: new Metrics(),
      ...(githubHook ? { githubHook } : {}),
      ...(forgejoHook ? { forgejoHook } : {}),
    });
  });
  afterEach(async () => {
    await w.close();
  });

  it("a merge seen by polling moves pr_open to verifying, once per poll interval", async () => {
    const id = await w.fire("nginx.service");
    expect((await w.incident(id)).state).toBe("fixing");
    const { pr } = await w.openPr(id);
    expect((await w.incident(id)).state).toBe("pr_open");

    await w.lifecycle.tick(); // first poll: still open
    w.fake.merge(pr);
    w.clock.advance(POLL - 1);
    await w.lifecycle.tick(); // not due yet
    expect((await w.incident(id)).state).toBe("pr_open");
    const mergedSeenAt = w.clock.advance(1);
    await w.lifecycle.tick();

    const i = await w.incident(id);
    expect(i).toMatchObject({ state: "verifying", pr_state: "merged" });
    expect(i.pr_merged_at?.toISOString()).toBe(mergedSeenAt.toISOString());
    const ev = (await incidentEvents(w.t.db, id)).filter((e) => e.kind === "pr_merged");
    expect(ev).toHaveLength(1);
    expect(ev[0]?.data).toMatchObject({ from: "pr_open", to: "verifying", via: "poll", pr });
    const gets = w.fake.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/pulls/${pr}`));
    expect(gets).toHaveLength(2);
  });

  it("a signed merge webhook moves it at once; the poll that follows changes nothing", async () => {
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    w.fake.merge(pr);
    const res = await hook("pull_request", closed(pr, true, `healer/incident-${id}`));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, pr, result: "verifying" });
    expect((await w.incident(id)).state).toBe("verifying");

    // A redelivery and the poll both find it done.
    expect(
      await (await hook("pull_request", closed(pr, true, `healer/incident-${id}`))).json(),
    ).toMatchObject({
      result: "unchanged",
    });
    w.clock.advance(POLL);
    await w.lifecycle.tick();
    expect((await w.kinds(id)).filter((k) => k === "pr_merged")).toHaveLength(1);
    expect((await incidentEvents(w.t.db, id)).find((e) => e.kind === "pr_merged")?.data).toMatchObject({
      via: "webhook",
    });
  });

  it("refuses a forged or missing signature with 401 and changes nothing", async () => {
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    w.fake.merge(pr);
    const payload = closed(pr, true, `healer/incident-${id}`);
    const eventsBefore = await w.kinds(id);
    expect((await hook("pull_request", payload, "not-the-secret")).status).toBe(401);
    expect((await hook("pull_request", payload, null)).status).toBe(401);
    // Signed for one body, delivered with another: the raw bytes are what counts.
    const signed = w.fake.webhookHeaders("pull_request", JSON.stringify(payload), WEBHOOK_SECRET);
    const tampered = await app.request(`/hooks/${kind}`, {
      method: "POST",
      headers: signed,
      body: JSON.stringify({ ...payload, action: "closed " }),
    });
    expect(tampered.status).toBe(401);
    // Bearer auth is not a way in either: the route is the signature's alone.
    const bearer = await app.request(`/hooks/${kind}`, {
      method: "POST",
      headers: { authorization: "Bearer api-token", "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(bearer.status).toBe(401);
    expect((await w.incident(id)).state).toBe("pr_open");
    expect(await w.kinds(id)).toEqual(eventsBefore);

    const other = await hook("push", { ref: "refs/heads/main" });
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ ok: true, ignored: "not a pull_request event" });
  });

  it("a PR closed without merging dismisses the incident (webhook), and by polling too", async () => {
    const a = await w.fire("nginx.service");
    const b = await w.fire("jellyfin.service");
    const prA = (await w.openPr(a)).pr;
    const prB = (await w.openPr(b)).pr;
    w.fake.close(prA);
    w.fake.close(prB);

    const res = await hook("pull_request", closed(prA, false, `healer/incident-${a}`));
    expect(await res.json()).toMatchObject({ result: "dismissed" });
    await w.lifecycle.tick();

    for (const id of [a, b]) {
      const i = await w.incident(id);
      expect(i).toMatchObject({ state: "dismissed", pr_state: "closed" });
      expect(i.resolved_at).not.toBeNull();
      expect(await w.kinds(id)).toContain("pr_closed");
    }
  });

  it("ignores other repositories, other actions and branches that are not ours", async () => {
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    const other = { ...closed(pr, true, `healer/incident-${id}`), repository: { full_name: "someone/else" } };
    expect(await (await hook("pull_request", other)).json()).toMatchObject({
      ignored: "not homelab/nixos-config",
    });
    const opened = { ...closed(pr, false, `healer/incident-${id}`), action: "opened" };
    expect(await (await hook("pull_request", opened)).json()).toMatchObject({ ignored: "action opened" });
    const human = closed(pr, true, "feature/x");
    expect(await (await hook("pull_request", human)).json()).toMatchObject({
      ignored: "not a healer branch",
    });
    expect((await w.incident(id)).state).toBe("pr_open");
  });
});

describe("what only one forge's webhook does", () => {
  const appFor = (w: World) => {
    const { githubHook, forgejoHook } = w.lifecycle;
    return createApp({
      ...w.deps,
      secrets: { token: "api-token", sourceTokens: {}, agentEnv: {} },
      metrics: new Metrics(),
      ...(githubHook ? { githubHook } : {}),
      ...(forgejoHook ? { forgejoHook } : {}),
    });
  };

  it("GitHub's ping is 200", async () => {
    const w = await createWorld();
    try {
      const body = JSON.stringify({ zen: "Keep it logically awesome." });
      const res = await appFor(w).request("/hooks/github", {
        method: "POST",
        headers: w.fake.webhookHeaders("ping", body, WEBHOOK_SECRET),
        body,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, event: "ping" });
    } finally {
      await w.close();
    }
  });

  it("Forgejo: a form-encoded hook is refused with a message to pick JSON; Gitea's headers alone are enough", async () => {
    const w = await createWorld({}, { kind: "forgejo" });
    try {
      const app = appFor(w);
      const id = await w.fire("nginx.service");
      const { pr } = await w.openPr(id);
      w.fake.merge(pr);
      const payload = JSON.stringify(
        {
          action: "closed",
          pull_request: { number: pr, merged: true, head: { label: `healer/incident-${id}`, ref: "x" } },
          repository: { full_name: `${w.fake.owner}/${w.fake.repo}` },
        },
        null,
        2,
      );
      const form = `payload=${encodeURIComponent(payload)}`;
      const refused = await app.request("/hooks/forgejo", {
        method: "POST",
        headers: {
          ...w.fake.webhookHeaders("pull_request", form, WEBHOOK_SECRET),
          "content-type": "application/x-www-form-urlencoded",
        },
        body: form,
      });
      expect(refused.status).toBe(415);
      expect(((await refused.json()) as { message: string }).message).toContain("application/json");
      expect((await w.incident(id)).state).toBe("pr_open");

      // Gitea sends X-Gitea-Signature / X-Gitea-Event only.
      const sig = createHmac("sha256", WEBHOOK_SECRET).update(payload).digest("hex");
      const res = await app.request("/hooks/forgejo", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-gitea-event": "pull_request",
          "x-gitea-signature": sig,
        },
        body: payload,
      });
      expect(await res.json()).toMatchObject({ ok: true, pr, result: "verifying" });
      expect((await w.incident(id)).state).toBe("verifying");
    } finally {
      await w.close();
    }
  });
});

describe("operator dismissal over the API", () => {
  it("POST /api/incidents/:id/dismiss with closePr closes the PR; unknown keys are refused", async () => {
    const w = await createWorld();
    try {
      const app = createApp({
        ...w.deps,
        secrets: { token: "api-token", sourceTokens: {}, agentEnv: {} },
        metrics: new Metrics(),
      });
      const id = await w.fire("nginx.service");
      const { pr } = await w.openPr(id);
      const dismiss = (body: unknown) =>
        app.request(`/api/incidents/${id}/dismiss`, {
          method: "POST",
          headers: { authorization: "Bearer api-token", "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      expect((await dismiss({ closePR: true })).status).toBe(422);
      const res = await dismiss({ reason: "flaky check", closePr: true });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        incident: { state: "dismissed" },
        closedPr: { pr, closed: true },
      });
      expect(w.fake.prs.find((p) => p.number === pr)?.state).toBe("closed");
    } finally {
      await w.close();
    }
  });
});

describe("without a webhook secret", () => {
  it("mounts no GitHub or Forgejo hook", async () => {
    const w = await createWorld(
      {},
      { secrets: { githubWebhookSecret: undefined, forgejoWebhookSecret: undefined } as never },
    );
    try {
      expect(w.lifecycle.githubHook).toBeUndefined();
      expect(w.lifecycle.forgejoHook).toBeUndefined();
    } finally {
      await w.close();
    }
  });
});
