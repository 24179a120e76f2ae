import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Metrics } from "../../src/api/metrics.js";
import { createApp } from "../../src/app.js";
import { incidentEvents } from "../../src/incidents/incidents.repo.js";
import { createWorld, WEBHOOK_SECRET, type World } from "./world.js";

const POLL = 300;

function sign(body: string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

describe("PR state: polling and the signed GitHub webhook agree", () => {
  let w: World;
  let app: ReturnType<typeof createApp>;
  const hook = (event: string, payload: unknown, signature?: string | null) => {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": event };
    const sig = signature === undefined ? sign(body) : signature;
    if (sig !== null) headers["x-hub-signature-256"] = sig;
    return app.request("/hooks/github", { method: "POST", headers, body });
  };
  const closed = (pr: number, merged: boolean, branch: string) => ({
    action: "closed",
    number: pr,
    pull_request: { number: pr, merged, head: { ref: branch } },
    repository: { full_name: `${w.github.owner}/${w.github.repo}` },
  });

  beforeEach(async () => {
    w = await createWorld({ lifecycle: { prPollSeconds: POLL } });
    const { githubHook } = w.lifecycle;
    expect(githubHook).toBeDefined();
    app = createApp({
      ...w.deps,
      secrets: { token: "api-token", sourceTokens: {}, agentEnv: {} },
      metrics: new Metrics(),
      ...(githubHook ? { githubHook } : {}),
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
    w.github.merge(pr);
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
    const gets = w.github.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/pulls/${pr}`));
    expect(gets).toHaveLength(2);
  });

  it("a signed merge webhook moves it at once; the poll that follows changes nothing", async () => {
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    w.github.merge(pr);
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

  it("refuses a forged or missing signature with 401 and changes nothing; ping is 200", async () => {
    const id = await w.fire("nginx.service");
    const { pr } = await w.openPr(id);
    const payload = closed(pr, true, `healer/incident-${id}`);
    const forged = await hook("pull_request", payload, sign(JSON.stringify(payload), "not-the-secret"));
    expect(forged.status).toBe(401);
    expect((await hook("pull_request", payload, null)).status).toBe(401);
    expect((await hook("pull_request", payload, "sha256=zz")).status).toBe(401);
    // Bearer auth is not a way in either: the route is the signature's alone.
    const bearer = await app.request("/hooks/github", {
      method: "POST",
      headers: { authorization: "Bearer api-token", "x-github-event": "pull_request" },
      body: JSON.stringify(payload),
    });
    expect(bearer.status).toBe(401);
    expect((await w.incident(id)).state).toBe("pr_open");

    const ping = await hook("ping", { zen: "Keep it logically awesome." });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ ok: true, event: "ping" });
  });

  it("a PR closed without merging dismisses the incident (webhook), and by polling too", async () => {
    const a = await w.fire("nginx.service");
    const b = await w.fire("jellyfin.service");
    const prA = (await w.openPr(a)).pr;
    const prB = (await w.openPr(b)).pr;
    w.github.close(prA);
    w.github.close(prB);

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
      expect(w.github.prs.find((p) => p.number === pr)?.state).toBe("closed");
    } finally {
      await w.close();
    }
  });
});

describe("without a webhook secret", () => {
  it("mounts no GitHub hook", async () => {
    const w = await createWorld({}, { secrets: { githubWebhookSecret: undefined } as never });
    try {
      expect(w.lifecycle.githubHook).toBeUndefined();
    } finally {
      await w.close();
    }
  });
});
