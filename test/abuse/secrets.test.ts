import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Healer, SCRIPT_AGENT, SERVE_TOKEN, startHealer } from "../support/serve.js";

/* Every token the service holds, and where none of them may ever show up. */

const SOURCE_TOKEN = "gatus-source-token-5d1e0c";
const WEBHOOK_SECRET = "github-webhook-secret-77a0b4";
const FORGEJO_WEBHOOK_SECRET = "forgejo-webhook-secret-3b9e51";
const NTFY_TOKEN = "tk_ntfy_secret_9c3f21";
const AGENT_KEY = "sk-agent-llm-key-4e8d2a";

let h: Healer;
let secrets: string[];
let files: string[];

beforeAll(async () => {
  h = await startHealer({
    config: (base) => {
      const dir = (base.stateDir as string).replace(/\/state$/, "");
      const file = (name: string, value: string) => {
        writeFileSync(join(dir, name), `${value}\n`);
        return join(dir, name);
      };
      files = [
        join(dir, "token"),
        join(dir, "github-token"),
        file("gatus-token", SOURCE_TOKEN),
        file("webhook-secret", WEBHOOK_SECRET),
        file("forgejo-webhook-secret", FORGEJO_WEBHOOK_SECRET),
        file("ntfy-token", NTFY_TOKEN),
        file("agent.env", `LLM_API_KEY=${AGENT_KEY}\n`),
      ];
      return {
        ...base,
        auth: {
          ...(base.auth as object),
          sources: { gatus: { tokenFile: join(dir, "gatus-token") } },
          github: { webhookSecretFile: join(dir, "webhook-secret") },
          forgejo: { webhookSecretFile: join(dir, "forgejo-webhook-secret") },
        },
        notify: { ntfy: { url: "http://127.0.0.1:9", topic: "healer", tokenFile: join(dir, "ntfy-token") } },
        agent: {
          ...(base.agent as object),
          args: [SCRIPT_AGENT, "leak-check", "leak-check.json", ...files, dir],
          environmentFile: join(dir, "agent.env"),
        },
      };
    },
  });
  secrets = [SERVE_TOKEN, h.github.token, SOURCE_TOKEN, WEBHOOK_SECRET, FORGEJO_WEBHOOK_SECRET, NTFY_TOKEN];
  const res = await h.post("generic", {
    alerts: [{ name: "nginx-down", service: "nginx.service", host: "nas", summary: "nginx is down" }],
  });
  expect(res.status).toBe(202);
  await h.waitFor("the run's PR", async () => h.github.prs[0]);
}, 90_000);

afterAll(async () => {
  await h?.stop();
});

function expectNoSecret(where: string, text: string, also: string[] = []): void {
  for (const s of [...secrets, ...also]) expect(text.includes(s), `${where} holds a secret`).toBe(false);
}

describe("secret values", () => {
  it("never appear in the log", () => {
    expect(h.lines.length).toBeGreaterThan(2);
    expectNoSecret("log", JSON.stringify(h.lines), [AGENT_KEY]);
  });

  it("never appear in API answers", async () => {
    const answers = [
      await h.api("/incidents"),
      await h.api("/incidents/1"),
      await h.api("/incidents/999"),
      await h.api("/silences", { method: "POST", body: { service: SERVE_TOKEN } }),
    ];
    expect(answers[0]!.status).toBe(200);
    for (const a of answers) expectNoSecret("API", JSON.stringify(a.body), [AGENT_KEY]);
    const log = await fetch(`${h.url}/api/runs/1/log`, {
      headers: { authorization: `Bearer ${SERVE_TOKEN}` },
    });
    expect(log.status).toBe(200);
    expectNoSecret("run log", await log.text(), [AGENT_KEY]);
    const metrics = await fetch(`${h.url}/metrics`);
    expectNoSecret("metrics", await metrics.text(), [AGENT_KEY]);
    const refused = await fetch(`${h.url}/api/incidents`, { headers: { authorization: "Bearer wrong" } });
    expectNoSecret("401", await refused.text(), [AGENT_KEY]);
  });

  it("never appear in the prompt, the context file or the agent's config", () => {
    const runDir = join(h.config.stateDir, "runs", "1");
    for (const f of ["prompt.md", "context.json", "opencode.json", "pr-body.md"]) {
      let text: string;
      try {
        text = readFileSync(join(runDir, f), "utf8");
      } catch {
        continue;
      }
      expectNoSecret(f, text, [AGENT_KEY]);
    }
    expect(readFileSync(join(runDir, "prompt.md"), "utf8")).toContain("nginx");
  });

  it("never reach the agent's environment, except agent.environmentFile", async () => {
    const report = await h.remote.readFile("healer/incident-1", "leak-check.json");
    expect(report, "the agent's report was pushed").toBeDefined();
    const { env, results, writable } = JSON.parse(report!) as {
      env: Record<string, string>;
      results: Record<string, string>;
      writable: Record<string, boolean>;
    };
    expectNoSecret("agent env", JSON.stringify(env));
    expect(env.LLM_API_KEY).toBe(AGENT_KEY);
    for (const key of Object.keys(env)) expect(key).not.toMatch(/DATABASE|PG|GITHUB|TOKEN/i);
    // The secret files themselves are hidden in the sandbox, and nothing outside is writable.
    for (const f of files) expect(results[f], f).not.toBe("readable");
    // Writes outside the lane land in the sandbox's own tmpfs at most, never on the host.
    expect(Object.keys(writable).length).toBe(files.length + 1);
    for (const path of Object.keys(writable)) {
      expect(existsSync(join(path, ".healer-write-probe")), `${path} written on the host`).toBe(false);
    }
  });

  it("never reach GitHub (PR, comments) beyond the token's own header", () => {
    const pr = h.github.prs[0]!;
    expectNoSecret("PR", JSON.stringify(pr), [AGENT_KEY]);
    expectNoSecret("comments", JSON.stringify(h.github.comments), [AGENT_KEY]);
  });
});
