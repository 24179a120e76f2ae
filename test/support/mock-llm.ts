import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One scripted model answer: tool calls, plain text, or no answer at all. */
export type MockTurn =
  | { tools: { name: string; args: Record<string, unknown> }[]; text?: string }
  | { text: string }
  | { hang: true };

/** A request the mock received (the parsed JSON body of `POST /chat/completions`). */
export interface MockRequest {
  body: Record<string, unknown>;
  headers: IncomingMessage["headers"];
}

export interface MockLlm {
  /** `http://127.0.0.1:<port>/v1`: the provider's `baseURL`. */
  baseUrl: string;
  requests: MockRequest[];
  close(): Promise<void>;
}

const MODEL = "mock-model";

/**
 * A scripted OpenAI-compatible chat server on 127.0.0.1: each `POST …/chat/completions` takes the next
 * turn and streams it as OpenAI does (role delta, tool_call deltas, finish_reason, usage chunk,
 * `[DONE]`). When the script runs out it answers with a final text.
 */
export async function startMockLlm(
  turns: MockTurn[],
  opts: { onRequest?: (req: MockRequest, index: number) => void } = {},
): Promise<MockLlm> {
  const requests: MockRequest[] = [];
  const queue = [...turns];
  let callSeq = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        // Recorded as empty: a test asserting on the body will notice.
      }
      const recorded = { body, headers: req.headers };
      requests.push(recorded);
      opts.onRequest?.(recorded, requests.length - 1);
      const turn = queue.shift() ?? { text: "Done." };
      if ("hang" in turn) return; // never answers: the caller's idle timeout must act
      streamTurn(res, turn, () => `call_mock_${++callSeq}`);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function streamTurn(
  res: ServerResponse,
  turn: Exclude<MockTurn, { hang: true }>,
  nextId: () => string,
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  const id = `chatcmpl-mock-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: MODEL, choices, ...extra })}\n\n`,
    );
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    send([{ index: 0, delta: d, finish_reason: finish }]);

  delta({ role: "assistant", content: "" });
  if (turn.text) delta({ content: turn.text });
  const tools = "tools" in turn ? turn.tools : [];
  tools.forEach((t, index) => {
    const args = JSON.stringify(t.args);
    const half = Math.ceil(args.length / 2);
    delta({
      tool_calls: [{ index, id: nextId(), type: "function", function: { name: t.name, arguments: "" } }],
    });
    delta({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] });
    delta({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] });
  });
  delta({}, tools.length > 0 ? "tool_calls" : "stop");
  send([], { usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } });
  res.end("data: [DONE]\n\n");
}

/** The `agent.opencodeConfig` block that points OpenCode at the mock (model `mock/mock-model`). */
export function mockProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    model: `mock/${MODEL}`,
    small_model: `mock/${MODEL}`,
    enabled_providers: ["mock"],
    provider: {
      mock: {
        npm: "@ai-sdk/openai-compatible",
        name: "Mock OpenAI-compatible",
        options: { baseURL: baseUrl, apiKey: "mock-key", timeout: 600_000, chunkTimeout: 60_000 },
        models: {
          [MODEL]: { name: "Mock Model", tool_call: true, limit: { context: 128_000, output: 8192 } },
        },
      },
    },
  };
}
