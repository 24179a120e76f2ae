import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { judge } from "../../src/incidents/triage.js";
import { testConfig } from "../support/app.js";
import { type Healer, SCRIPT_AGENT, startHealer } from "../support/serve.js";

interface Detail {
  incident: { id: number; state: string; triage_reason: string | null };
  runs: {
    outcome: string | null;
    tokens_input: number;
    tokens_output: number;
    cost: number;
    model: string | null;
  }[];
}

describe("what each run cost (script agent reporting 10 input + 5 output tokens and 0.01 per turn)", () => {
  let h: Healer;
  let seq = 0;
  const fire = async () => {
    const res = await h.post("generic", {
      name: `cost-probe-${++seq}`,
      service: `cost-${seq}.service`,
      host: "lab",
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { incidents: number[] }).incidents[0]!;
  };
  const settled = (id: number) =>
    h.waitFor(`incident ${id} to settle`, async () => {
      const d = (await h.api<Detail>(`/incidents/${id}`)).body;
      return ["pr_open", "needs_human", "suppressed"].includes(d.incident.state) ? d : undefined;
    });

  beforeAll(async () => {
    h = await startHealer({
      config: (b) => ({
        ...b,
        agent: {
          ...(b.agent as object),
          model: "test/model-1",
          maxCostPerDay: 0.01,
          args: [SCRIPT_AGENT, "change"],
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("records tokens and cost on the run, shows them in the PR footer, /metrics and `incident ID`; the cost cap then suppresses", async () => {
    const first = await settled(await fire());
    expect(first.incident.state).toBe("pr_open");
    expect(first.runs[0]).toMatchObject({
      tokens_input: 10,
      tokens_output: 5,
      cost: 0.01,
      model: "test/model-1",
    });

    const body = h.github.prs[0]!.body;
    expect(body).toMatch(
      /^Agent: model test\/model-1; 15 tokens \(input 10, output 5, reasoning 0, cache read 0, cache write 0\); cost 0\.01; agent time \d+ s, run time \d+ s\.$/m,
    );

    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('homelab_healer_agent_tokens_total{kind="input"} 10');
    expect(metrics).toContain('homelab_healer_agent_tokens_total{kind="output"} 5');
    expect(metrics).toContain('homelab_healer_agent_tokens_total{kind="cache_read"} 0');
    expect(metrics).toContain("homelab_healer_agent_cost_total 0.01");

    const out: string[] = [];
    const code = await runCli("incident", [String(first.incident.id)], {
      env: { PATH: process.env.PATH ?? "", HOMELAB_HEALER_CONFIG: `${h.dir}/config.json` },
      stdout: (s) => void out.push(s),
      stderr: (s) => void out.push(s),
    });
    expect(code).toBe(0);
    expect(out.join("")).toContain("agent: model test/model-1; 15 tokens (input 10, output 5");
    expect(out.join("")).toMatch(/total: 15 tokens .*; cost 0\.01$/m);

    // 0.01 spent today, agent.maxCostPerDay = 0.01: the next actionable incident is noise, with the reason.
    const second = await settled(await fire());
    expect(second.incident.state).toBe("suppressed");
    expect(second.incident.triage_reason).toBe(
      "cost budget spent: 0.01 in the last 24 h (agent.maxCostPerDay = 0.01)",
    );
    expect(second.runs).toEqual([]);
  });
});

describe("judging the cost budget", () => {
  const config = testConfig({ agent: { maxCostPerDay: 2 } }, "postgres://unused");
  const facts = {
    incident: {
      service: "x",
      alert_name: "y",
      title: "t",
      first_seen_at: new Date(0),
      previous_incident_id: null,
    },
    messages: [],
    silence: undefined,
    dismissedBefore: undefined,
    firingInWindow: 1,
    runsLast24h: 0,
    now: new Date(10_000_000),
  };

  it("acts under the cap, suppresses at it, and has no cap when unset", () => {
    expect(judge(config, { ...facts, costLast24h: 1.99 }).action).toBe("act");
    expect(judge(config, { ...facts, costLast24h: 2 })).toEqual({
      action: "suppress",
      reason: "cost budget spent: 2.00 in the last 24 h (agent.maxCostPerDay = 2)",
    });
    const unlimited = testConfig({}, "postgres://unused");
    expect(unlimited.agent.maxCostPerDay).toBeUndefined();
    expect(judge(unlimited, { ...facts, costLast24h: 1e9 }).action).toBe("act");
  });
});
