/** Token counts summed over the run's model steps. */
export interface TokenStats {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
}

/** What the run's record keeps from OpenCode's JSON event stream. */
export interface AgentStats {
  toolCalls: number;
  /** Tool calls refused by the lane (a deny rule, or an "ask" auto-rejected by `opencode run`). */
  deniedToolCalls: number;
  /** Tool name → number of calls. */
  tools: Record<string, number>;
  tokens: TokenStats;
  cost: number;
  /** `error` events as `Name: message`. */
  errors: string[];
  /** The last step's finish reason (`stop`, `tool-calls`, …). */
  finishReason?: string;
}

/** An empty tally. */
export function emptyStats(): AgentStats {
  return {
    toolCalls: 0,
    deniedToolCalls: 0,
    tools: {},
    tokens: { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
    cost: 0,
    errors: [],
  };
}

// OpenCode 1.18's wording for a call stopped by a deny rule and for an auto-rejected "ask".
const DENIED = [/rule which prevents you from using/i, /rejected permission to use/i];
const MAX_ERRORS = 20;

/** Whether a tool call's error says the lane refused it (a deny rule or a rejected "ask"). */
export function isDenial(message: string): boolean {
  return DENIED.some((re) => re.test(message));
}
const MAX_LINE = 8 * 1024 * 1024;

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** Parses one stdout line as an OpenCode event; anything that is not a JSON object is `undefined`. */
export function parseEventLine(line: string): Record<string, unknown> | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Adds one event to the tally (mutates `stats`). */
export function applyEvent(stats: AgentStats, event: Record<string, unknown>): void {
  const part = obj(event.part);
  switch (event.type) {
    case "tool_use": {
      const tool = typeof part?.tool === "string" ? part.tool : "unknown";
      stats.toolCalls += 1;
      stats.tools[tool] = (stats.tools[tool] ?? 0) + 1;
      const state = obj(part?.state);
      if (state?.status === "error") {
        const message = String(state.error ?? "");
        if (isDenial(message)) stats.deniedToolCalls += 1;
      }
      return;
    }
    case "step_finish": {
      const tokens = obj(part?.tokens);
      const cache = obj(tokens?.cache);
      stats.tokens.input += num(tokens?.input);
      stats.tokens.output += num(tokens?.output);
      stats.tokens.reasoning += num(tokens?.reasoning);
      stats.tokens.cacheRead += num(cache?.read);
      stats.tokens.cacheWrite += num(cache?.write);
      stats.cost += num(part?.cost);
      if (typeof part?.reason === "string") stats.finishReason = part.reason;
      return;
    }
    case "error": {
      const error = obj(event.error);
      const data = obj(error?.data);
      const name = typeof error?.name === "string" ? error.name : "Error";
      const message = typeof data?.message === "string" ? data.message : JSON.stringify(error?.data ?? "");
      if (stats.errors.length < MAX_ERRORS) stats.errors.push(`${name}: ${message}`.slice(0, 500));
      return;
    }
    default:
      return;
  }
}

/** Splits a byte stream into lines and tallies the events in it; tolerant of any non-JSON line. */
export class EventCollector {
  readonly stats = emptyStats();
  private rest = "";

  /** Feeds a chunk of stdout. */
  push(chunk: string): void {
    const lines = (this.rest + chunk).split("\n");
    this.rest = lines.pop() ?? "";
    // A line this long is no event we can use; dropping it bounds memory against a runaway agent.
    if (this.rest.length > MAX_LINE) this.rest = "";
    for (const line of lines) this.line(line);
  }

  /** Flushes a last line without a newline. */
  end(): AgentStats {
    if (this.rest) this.line(this.rest);
    this.rest = "";
    return this.stats;
  }

  private line(line: string): void {
    const event = parseEventLine(line);
    if (event) applyEvent(this.stats, event);
  }
}

/** Tallies a whole stream at once (a finished log or a fixture). */
export function statsFromText(text: string): AgentStats {
  const c = new EventCollector();
  c.push(text);
  return c.end();
}
