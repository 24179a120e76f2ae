import { Hono } from "hono";
import { z } from "zod";
import { INCIDENT_STATES } from "../db/tables.js";
import { parseDuration } from "../duration.js";
import { dismissIncident, incidentDetail, incidentList, retryIncident } from "../incidents/actions.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { createSilence, endSilence, listSilences } from "../incidents/silences.js";
import { getRun } from "../runs/queue.repo.js";
import { readRunLog } from "../runs/run-log.js";
import { ApiError } from "./errors.js";
import { jsonBody } from "./json-body.js";

const idParam = z.coerce.number().int().positive();
const silenceBody = z
  .object({
    service: z.string().min(1),
    alertName: z.string().min(1).optional(),
    for: z.string({ error: 'a duration such as "2h" (a string)' }),
    reason: z.string().max(500).optional(),
  })
  .strict();
const dismissBody = z
  .object({ reason: z.string().max(500).optional(), closePr: z.boolean().optional() })
  .strict();
const noBody = z.object({}).strict();

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
  app.post("/incidents/:id/retry", async (c) => {
    await jsonBody(c.req.raw, noBody, true);
    return c.json(await retryIncident(deps, id(c.req.param("id"))), 202);
  });
  app.post("/incidents/:id/dismiss", async (c) => {
    const body = await jsonBody(c.req.raw, dismissBody, true);
    return c.json(
      await dismissIncident(deps, id(c.req.param("id")), body.reason, { closePr: body.closePr === true }),
    );
  });
  app.post("/silences", async (c) => {
    const body = await jsonBody(c.req.raw, silenceBody);
    const d = parseDuration(body.for);
    if ("error" in d) throw new ApiError("invalid", `for: ${d.error}`);
    const silence = await createSilence(deps, {
      service: body.service,
      alertName: body.alertName,
      seconds: d.seconds,
      reason: body.reason,
    });
    return c.json({ silence }, 201);
  });
  app.get("/silences", async (c) => c.json({ silences: await listSilences(deps) }));
  app.delete("/silences/:id", async (c) =>
    c.json({ silence: await endSilence(deps, id(c.req.param("id"))) }),
  );
  app.get("/runs/:id", async (c) => {
    const run = await getRun(deps.db, id(c.req.param("id")));
    if (!run) throw new ApiError("not_found", `no run ${c.req.param("id")}`);
    return c.json({ run });
  });
  app.get("/runs/:id/log", async (c) => {
    const runId = id(c.req.param("id"));
    const log = await readRunLog(deps.config.stateDir, runId);
    if (log === undefined) throw new ApiError("not_found", `no log for run ${runId}`);
    return c.text(log);
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
