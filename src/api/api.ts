import { Hono } from "hono";
import { z } from "zod";
import { INCIDENT_STATES } from "../db/tables.js";
import { parseDuration } from "../duration.js";
import {
  createSilence,
  dismissIncident,
  incidentDetail,
  incidentList,
  retryIncident,
} from "../incidents/actions.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { readRunLogs } from "../runs/run-files.js";
import { ApiError } from "./errors.js";

const idParam = z.coerce.number().int().positive();
const silenceBody = z
  .object({
    service: z.string().min(1),
    alertName: z.string().min(1).optional(),
    for: z.union([z.string(), z.number().int().positive()]),
    reason: z.string().max(500).optional(),
  })
  .strict();
const dismissBody = z
  .object({ reason: z.string().max(500).optional(), closePr: z.boolean().optional() })
  .strict();

/** Reads a JSON body against a schema: 400 when not JSON, 422 naming the problem when the shape is wrong. */
async function jsonBody<T>(req: Request, schema: z.ZodType<T>, emptyOk = false): Promise<T> {
  const text = await req.text();
  let value: unknown = {};
  if (text.trim() !== "" || !emptyOk) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ApiError("malformed", `body is not JSON: ${(e as Error).message}`);
    }
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new ApiError(
      "invalid",
      r.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; "),
    );
  }
  return r.data;
}

function id(raw: string): number {
  const r = idParam.safeParse(raw);
  if (!r.success) throw new ApiError("invalid", `not an id: ${raw}`);
  return r.data;
}

/** `/api/*`: read incidents and act on them. Auth runs before this router. */
export function apiRouter(
  deps: IncidentDeps,
  extra: { cleanup?: () => Promise<unknown>; hosts?: () => Promise<unknown> } = {},
): Hono {
  const app = new Hono();
  app.get("/incidents", async (c) => {
    const state = c.req.query("state");
    if (state !== undefined && !(INCIDENT_STATES as readonly string[]).includes(state)) {
      throw new ApiError("invalid", `state must be one of ${INCIDENT_STATES.join(", ")}`);
    }
    const limit = c.req.query("limit");
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new ApiError("invalid", "limit must be a positive integer");
    return c.json({ incidents: await incidentList(deps, { state, limit: n }) });
  });
  app.get("/incidents/:id", async (c) => c.json(await incidentDetail(deps, id(c.req.param("id")))));
  app.post("/incidents/:id/retry", async (c) =>
    c.json(await retryIncident(deps, id(c.req.param("id"))), 202),
  );
  app.post("/incidents/:id/dismiss", async (c) => {
    const body = await jsonBody(c.req.raw, dismissBody, true);
    return c.json(
      await dismissIncident(deps, id(c.req.param("id")), body.reason, { closePr: body.closePr === true }),
    );
  });
  app.post("/silences", async (c) => {
    const body = await jsonBody(c.req.raw, silenceBody);
    const seconds = typeof body.for === "number" ? body.for : parseDuration(body.for);
    if (seconds === undefined)
      throw new ApiError("invalid", `for: not a duration: ${String(body.for)} (e.g. 2h, 30m, 3600)`);
    const silence = await createSilence(deps, {
      service: body.service,
      alertName: body.alertName,
      seconds,
      reason: body.reason,
    });
    return c.json({ silence }, 201);
  });
  app.get("/runs/:id/log", async (c) => {
    const logs = await readRunLogs(deps.config.stateDir, id(c.req.param("id")));
    if (!logs) throw new ApiError("not_found", "no log for that run");
    return c.text(logs.map((l) => `==> ${l.name} <==\n${l.text}`).join("\n"));
  });
  if (extra.hosts) {
    const hosts = extra.hosts;
    app.get("/hosts", async (c) => c.json({ hosts: await hosts() }));
  }
  if (extra.cleanup) {
    const cleanup = extra.cleanup;
    app.post("/cleanup", async (c) => c.json({ cleanup: await cleanup() }));
  }
  return app;
}
