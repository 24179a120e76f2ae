import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DURATION_FORMS, formatDuration, parseDuration } from "../../src/duration.js";
import { createTestApp, type TestApp, TOKEN } from "../support/app.js";
import { tableCounts } from "../support/tables.js";

describe("parseDuration", () => {
  it("reads 90s, 15m, 2h, 1d and combinations from days down to seconds", () => {
    expect(parseDuration("90s")).toEqual({ seconds: 90 });
    expect(parseDuration("15m")).toEqual({ seconds: 900 });
    expect(parseDuration("2h")).toEqual({ seconds: 7200 });
    expect(parseDuration("1d")).toEqual({ seconds: 86_400 });
    expect(parseDuration("1h30m")).toEqual({ seconds: 5400 });
    expect(parseDuration("1d2h3m4s")).toEqual({ seconds: 93_784 });
    expect(formatDuration(5400)).toBe("1h30m");
  });

  it("refuses anything else, whole, with the accepted forms (issue 24: `2 hours` was 2 seconds)", () => {
    for (const bad of [
      "2 hours",
      "2",
      "2hours",
      "",
      " 2h",
      "2h ",
      "30m1h",
      "2H",
      "1.5h",
      "0s",
      "0h0m",
      "-2h",
      "4000d",
    ]) {
      const r = parseDuration(bad);
      expect(r, bad).toHaveProperty("error");
      expect((r as { error: string }).error).toContain(DURATION_FORMS);
    }
  });
});

describe("/api/silences", () => {
  let h: TestApp;
  let incident: number;
  // Not settled for an hour: the incident stays open, so the silence (not the triage) suppresses it.
  const api = (method: string, path: string, body?: unknown, type = "application/json") =>
    h.app.request(`/api${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { "content-type": type }) },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  const events = async (kind: string) =>
    h.t.db
      .selectFrom("incident_events")
      .select(["incident_id", "message", "data"])
      .where("kind", "=", kind)
      .orderBy("id")
      .execute();

  beforeAll(async () => {
    h = await createTestApp({ triage: { settleSeconds: 3600 } });
    const res = await h.post("generic", { name: "disk-full", service: "nas.mount", host: "nas" });
    incident = ((await res.json()) as { incidents: number[] }).incidents[0]!;
  });
  afterAll(async () => {
    await h.close();
  });

  it("refuses `2 hours`, a bare number and a JSON number with the accepted forms; nothing is stored", async () => {
    const before = await tableCounts(h.t.db);
    for (const bad of ["2 hours", "2", 7200]) {
      const res = await api("POST", "/silences", { service: "nas.mount", for: bad });
      expect(res.status, String(bad)).toBe(422);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe("invalid");
      expect(body.message).toMatch(/^for: /);
      if (typeof bad === "string") expect(body.message).toContain(DURATION_FORMS);
    }
    expect(await tableCounts(h.t.db)).toEqual(before);
  });

  it("2h is two hours; the silence is listed and an event goes on the live incident it covers", async () => {
    const res = await api("POST", "/silences", { service: "nas.mount", for: "2h", reason: "disk swap" });
    expect(res.status).toBe(201);
    const { silence } = (await res.json()) as {
      silence: { id: number; created_at: string; expires_at: string };
    };
    expect(Date.parse(silence.expires_at) - Date.parse(silence.created_at)).toBe(2 * 3600 * 1000);
    const other = await api("POST", "/silences", {
      service: "jellyfin.service",
      alertName: "oom",
      for: "1h30m",
    });
    expect(other.status).toBe(201);

    const list = (await (await api("GET", "/silences")).json()) as {
      silences: { id: number; service: string; alert_name: string | null }[];
    };
    expect(list.silences.map((s) => [s.service, s.alert_name])).toEqual([
      ["jellyfin.service", "oom"],
      ["nas.mount", null],
    ]);
    expect(await events("silenced")).toEqual([
      {
        incident_id: incident,
        message: expect.stringMatching(/^silence \d+ on nas\.mount for 2h, until \S+: disk swap$/),
        data: { silence: silence.id },
      },
    ]);
    // The incident was judged again at once: suppressed, naming the silence.
    const detail = (await (await api("GET", `/incidents/${incident}`)).json()) as {
      incident: { state: string; triage_reason: string };
    };
    expect(detail.incident).toMatchObject({
      state: "suppressed",
      triage_reason: expect.stringMatching(/^silenced \(nas\.mount\)/),
    });
  });

  it("DELETE ends a silence now (an event, the incident judged again); again is 409, unknown 404", async () => {
    const { silences } = (await (await api("GET", "/silences")).json()) as {
      silences: { id: number; service: string }[];
    };
    const id = silences.find((s) => s.service === "nas.mount")!.id;
    h.clock.advance(3600);
    const res = await api("DELETE", `/silences/${id}`);
    expect(res.status).toBe(200);
    const { silence } = (await res.json()) as { silence: { expires_at: string } };
    expect(silence.expires_at).toBe(h.clock.now().toISOString());
    const after = (await (await api("GET", "/silences")).json()) as { silences: { id: number }[] };
    expect(after.silences.map((s) => s.id)).not.toContain(id);
    expect(await events("unsilenced")).toEqual([
      {
        incident_id: incident,
        message: `silence ${id} on nas.mount ended by the operator`,
        data: { silence: id },
      },
    ]);
    const detail = (await (await api("GET", `/incidents/${incident}`)).json()) as {
      incident: { state: string; triage_reason: string };
    };
    // Judged again at once: no longer for the silence (the alert has left triage.windowSeconds by now).
    expect(detail.incident.triage_reason).toMatch(/triage\.minOccurrences/);

    const again = await api("DELETE", `/silences/${id}`);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/already ended/);
    expect((await api("DELETE", "/silences/99999")).status).toBe(404);
    expect((await api("DELETE", "/silences/abc")).status).toBe(422);
  });
});

describe("operator actions take JSON or nothing (README: 415 when not JSON)", () => {
  let h: TestApp;
  let incident: number;
  beforeAll(async () => {
    h = await createTestApp({ triage: { settleSeconds: 0 } });
    const res = await h.post("generic", { name: "disk-full", service: "nas.mount", host: "nas" });
    incident = ((await res.json()) as { incidents: number[] }).incidents[0]!;
  });
  afterAll(async () => {
    await h.close();
  });
  const post = (path: string, headers: Record<string, string>, body?: string) =>
    h.app.request(`/api${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      ...(body === undefined ? {} : { body }),
    });

  it("dismiss, retry and silence with Content-Type text/plain are 415 and change nothing", async () => {
    const before = await tableCounts(h.t.db);
    const state = async () =>
      (
        await h.t.db
          .selectFrom("incidents")
          .select("state")
          .where("id", "=", incident)
          .executeTakeFirstOrThrow()
      ).state;
    const was = await state();
    for (const [path, body] of [
      [`/incidents/${incident}/dismiss`, undefined],
      [`/incidents/${incident}/dismiss`, '{"reason":"x"}'],
      [`/incidents/${incident}/retry`, "{}"],
      ["/silences", '{"service":"nas.mount","for":"2h"}'],
    ] as const) {
      const res = await post(path, { "content-type": "text/plain" }, body);
      expect(res.status, `${path} ${body}`).toBe(415);
      expect(((await res.json()) as { message: string }).message).toBe(
        'Content-Type must be application/json, got "text/plain"',
      );
    }
    // A body with no Content-Type at all is not JSON either.
    expect((await post(`/incidents/${incident}/dismiss`, {}, '{"reason":"x"}')).status).toBe(415);
    expect(await tableCounts(h.t.db)).toEqual(before);
    expect(await state()).toBe(was);
  });

  it("no body at all is fine for dismiss (curl -X POST); retry refuses fields it does not know", async () => {
    const retry = await post(
      `/incidents/${incident}/retry`,
      { "content-type": "application/json" },
      '{"force":true}',
    );
    expect(retry.status).toBe(422);
    expect(((await retry.json()) as { message: string }).message).toMatch(/force/);
    const res = await post(`/incidents/${incident}/dismiss`, {});
    expect(res.status).toBe(200);
  });
});
