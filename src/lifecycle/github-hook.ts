import { createHmac, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { IncidentDeps } from "../incidents/deps.js";
import type { DeployTracker } from "./deploy.js";
import { applyPrState } from "./pr-state.js";

/** GitHub's payloads stay far below this; anything larger is not a PR event of ours. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** True when `header` is `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret` (constant time). */
export function validSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith("sha256=")) return false;
  const given = Buffer.from(header.slice("sha256=".length).trim(), "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface PullRequestEvent {
  action?: string;
  pull_request?: {
    number?: number;
    merged?: boolean;
    merge_commit_sha?: string | null;
    head?: { ref?: string; sha?: string };
  };
  repository?: { full_name?: string };
}

/**
 * `POST /hooks/github`: PR events signed with the webhook secret (`X-Hub-Signature-256`), mounted
 * before the bearer auth because GitHub authenticates by signature. `ping` answers 200; a closed PR
 * is applied like a poll result would be (merged ⇒ verifying, unmerged ⇒ dismissed).
 */
export function githubHookRouter(deps: IncidentDeps, secret: string, deploy?: DeployTracker): Hono {
  const app = new Hono();
  const { owner, repo } = deps.config.forge;
  const ours = owner && repo ? `${owner}/${repo}`.toLowerCase() : undefined;
  app.post("/", async (c) => {
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_BODY_BYTES) return c.json({ error: "too_large", message: "body over 5 MiB" }, 413);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.byteLength > MAX_BODY_BYTES) {
      return c.json({ error: "too_large", message: "body over 5 MiB" }, 413);
    }
    if (!validSignature(secret, body, c.req.header("x-hub-signature-256"))) {
      deps.log.warn({ delivery: c.req.header("x-github-delivery") }, "github webhook with a bad signature");
      return c.json({ error: "unauthorized", message: "missing or invalid X-Hub-Signature-256" }, 401);
    }
    const event = c.req.header("x-github-event") ?? "";
    if (event === "ping") return c.json({ ok: true, event });
    if (event !== "pull_request") return c.json({ ok: true, event, ignored: "not a pull_request event" });
    let payload: PullRequestEvent;
    try {
      payload = JSON.parse(Buffer.from(body).toString("utf8")) as PullRequestEvent;
    } catch (e) {
      return c.json({ error: "malformed", message: `body is not JSON: ${(e as Error).message}` }, 400);
    }
    const pr = payload.pull_request;
    if (typeof pr?.number !== "number") {
      return c.json({ error: "invalid", message: "pull_request.number missing" }, 422);
    }
    const fullName = payload.repository?.full_name?.toLowerCase();
    if (ours !== undefined && fullName !== undefined && fullName !== ours) {
      return c.json({ ok: true, event, ignored: `not ${ours}` });
    }
    if (payload.action !== "closed") return c.json({ ok: true, event, ignored: `action ${payload.action}` });
    if (!pr.head?.ref?.startsWith("healer/")) {
      return c.json({ ok: true, event, ignored: "not a healer branch" });
    }
    const merged = pr.merged === true;
    const result = await applyPrState(
      deps,
      {
        number: pr.number,
        state: merged ? "merged" : "closed",
        mergeCommitSha: merged && typeof pr.merge_commit_sha === "string" ? pr.merge_commit_sha : null,
        ...(typeof pr.head.sha === "string" ? { headSha: pr.head.sha } : {}),
      },
      "webhook",
      deploy,
    );
    return c.json({ ok: true, event, pr: pr.number, result });
  });
  return app;
}
