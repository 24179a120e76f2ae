import { Hono } from "hono";
import { z } from "zod";
import { checkReport, isProblem } from "../hosts/report.js";
import type { DeployTracker } from "./deploy.js";

/** A deployment report is a few hundred bytes; anything near this is not one. */
const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

const body = z
  .object({
    host: z.string(),
    revision: z.string(),
    status: z.enum(["done", "failed"]),
    at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const invalid = (message: string) => ({ error: "invalid", message });

/**
 * `POST /hooks/deployment` `{"host","revision":"<40 hex>[-dirty]","status":"done"|"failed","at"?}`:
 * a host now runs (or failed to deploy) this revision. Mounted behind the bearer auth (the shared
 * token, or `auth.sources.deployment.tokenFile`). Bad input is 415/413/400/422 naming the field, and
 * nothing is stored; a stored report answers 202 once committed.
 */
export function deploymentHookRouter(deploy: DeployTracker): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    const type = c.req.header("content-type") ?? "";
    if (!JSON_TYPE.test(type)) {
      return c.json(
        {
          error: "unsupported_media_type",
          message: `Content-Type must be application/json, got "${type || "none"}"`,
        },
        415,
      );
    }
    const text = await c.req.text();
    if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
      return c.json({ error: "too_large", message: `body over ${MAX_BODY_BYTES} bytes` }, 413);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return c.json({ error: "malformed", message: `body is not JSON: ${(e as Error).message}` }, 400);
    }
    const parsed = body.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => {
        if (i.code === "unrecognized_keys") return `${i.keys.join(", ")}: unknown field`;
        return `${i.path.join(".") || "(body)"}: ${i.message}`;
      });
      return c.json(invalid(problems.join("; ")), 422);
    }
    const { host, revision, status, at } = parsed.data;
    const report = checkReport({
      host,
      revision,
      status,
      ...(at ? { at: new Date(at) } : {}),
      source: "hook",
    });
    if (isProblem(report)) return c.json(invalid(`${report.field}: ${report.message}`), 422);
    const { deployment, known } = await deploy.record(report);
    return c.json(
      {
        deployment: deployment.id,
        host: deployment.host,
        revision: deployment.revision,
        dirty: deployment.dirty,
        status: deployment.status,
        at: deployment.at.toISOString(),
        known,
        ...(known === false
          ? { warning: "revision unknown to the repository: never counted as containing a fix" }
          : {}),
      },
      202,
    );
  });
  return app;
}
