import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { envReferences, modelChecks } from "../../src/preflight/model.js";
import { type MockLlm, mockProviderConfig, startMockLlm } from "../support/mock-llm.js";
import { scratch } from "./support.js";

const OPENCODE = new URL("../../node_modules/opencode-linux-x64/bin/opencode", import.meta.url).pathname;
const HAS_BWRAP = spawnSync("bwrap", ["--version"]).status === 0;

describe("the model check", () => {
  const s = scratch();
  afterAll(() => s.cleanup());

  it("fails when agent.model is not set", async () => {
    const [r] = await modelChecks(s.ctx({}));
    expect(r).toMatchObject({ name: "model", status: "fail", found: "agent.model is not set" });
  });

  it("fails naming the variable a built-in provider needs, never printing the file's values", async () => {
    const envFile = s.file("agent.env", "OPENAI_API_KEY=sk-openai-secret-value\nOTHER=other-secret-value\n");
    const results = await modelChecks(
      s.ctx({ agent: { model: "anthropic/claude-sonnet-4-5", environmentFile: envFile } }),
    );
    expect(results[0]).toMatchObject({ name: "model", status: "fail" });
    expect(results[0]!.found).toContain("needs ANTHROPIC_API_KEY, missing from agent.environmentFile");
    const text = JSON.stringify(results);
    expect(text).not.toContain("sk-openai-secret-value");
    expect(text).not.toContain("other-secret-value");
  });

  it("passes when the variable is there, naming it but not its value", async () => {
    const envFile = s.file("agent2.env", "ANTHROPIC_API_KEY=sk-ant-secret-value\n");
    const [r] = await modelChecks(
      s.ctx({ agent: { model: "anthropic/claude-sonnet-4-5", environmentFile: envFile } }),
    );
    expect(r).toMatchObject({
      status: "ok",
      found: "anthropic/claude-sonnet-4-5 (built into OpenCode); ANTHROPIC_API_KEY set",
    });
  });

  it("reads the {env:…} variables a custom provider in agent.opencodeConfig needs", async () => {
    const provider = {
      local: {
        npm: "@ai-sdk/openai-compatible",
        options: { baseURL: "{env:LLM_URL}", apiKey: "{env:LLM_KEY}" },
      },
    };
    expect(envReferences(provider.local)).toEqual(["LLM_URL", "LLM_KEY"]);
    const envFile = s.file("agent3.env", "LLM_URL=http://127.0.0.1:1/v1\n");
    const [r] = await modelChecks(
      s.ctx({ agent: { model: "local/qwen", opencodeConfig: { provider }, environmentFile: envFile } }),
    );
    expect(r).toMatchObject({ status: "fail" });
    expect(r!.found).toBe(
      "local/qwen (agent.opencodeConfig.provider) needs LLM_KEY, missing from agent.environmentFile",
    );
  });

  it("fails naming agent.environmentFile when it points at nothing", async () => {
    const [r] = await modelChecks(
      s.ctx({ agent: { model: "openai/gpt-5", environmentFile: `${s.dir}/none.env` } }),
    );
    expect(r).toMatchObject({ status: "fail" });
    expect(r!.found).toContain("agent.environmentFile: cannot read");
  });

  it("warns for a provider it cannot place", async () => {
    const [r] = await modelChecks(s.ctx({ agent: { model: "mystery/model-1" } }));
    expect(r).toMatchObject({ status: "warn" });
  });
});

describe.runIf(existsSync(OPENCODE) && HAS_BWRAP)(
  "--probe-model with the real OpenCode in the run's sandbox",
  () => {
    const s = scratch();
    let mock: MockLlm;
    afterAll(async () => {
      await mock?.close();
      s.cleanup();
    });

    it("sends one request through the lane and reports the latency", { timeout: 120_000 }, async () => {
      mock = await startMockLlm([{ text: "OK" }]);
      const envFile = s.file("probe.env", "MOCK_UNUSED=agent-env-secret-9876\n");
      const results = await modelChecks(
        s.ctx(
          {
            agent: {
              command: OPENCODE,
              model: "mock/mock-model",
              opencodeConfig: mockProviderConfig(mock.baseUrl),
              environmentFile: envFile,
            },
          },
          { probeModel: true },
        ),
      );
      const probe = results.find((r) => r.name === "model-probe");
      expect(probe).toMatchObject({ status: "ok" });
      expect(probe!.found).toMatch(
        /^the model answered through the sandbox in \d+\.\d s \(120 tokens, cost 0\)$/,
      );
      expect(mock.requests.length).toBeGreaterThanOrEqual(1);
      // The request came from the lane: the per-run config's tools, the prompt asked for.
      expect(JSON.stringify(mock.requests.at(-1)!.body)).toContain("Reply with the single word OK.");
    });

    it("fails, with the provider's words, when the provider refuses the key", {
      timeout: 120_000,
    }, async () => {
      // A provider that answers 401 (OpenCode does not retry that): the probe must say so.
      const refusing = createServer((req, res) => {
        req.resume();
        req.on("end", () =>
          res
            .writeHead(401, { "content-type": "application/json" })
            .end('{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}'),
        );
      });
      await new Promise<void>((ok) => refusing.listen(0, "127.0.0.1", ok));
      const port = (refusing.address() as AddressInfo).port;
      try {
        const [, probe] = await modelChecks(
          s.ctx(
            {
              agent: {
                command: OPENCODE,
                model: "mock/mock-model",
                opencodeConfig: mockProviderConfig(`http://127.0.0.1:${port}/v1`),
              },
            },
            { probeModel: true },
          ),
        );
        expect(probe).toMatchObject({ name: "model-probe", status: "fail" });
        expect(probe!.found).toContain("no answer from the model");
        expect(probe!.found).toContain("Incorrect API key provided");
      } finally {
        refusing.closeAllConnections();
        await new Promise<void>((ok) => refusing.close(() => ok()));
      }
    });
  },
);
