import { isDenial, parseEventLine } from "../agent/events.js";

/** One entry of a run's transcript, as the run page shows it. */
export type Entry =
  | {
      kind: "tool";
      tool: string;
      status: string;
      title: string;
      input: string;
      output: string;
      denied: boolean;
    }
  | { kind: "text"; text: string }
  | { kind: "step"; reason: string; tokens: number; cost: number }
  | { kind: "error"; text: string }
  /** A line the service wrote into the log (`# homelab-healer: …`); `refused` for an egress refusal. */
  | { kind: "note"; text: string; refused: boolean }
  /** A JSON event of a type this page does not know: shown as it is, so new kinds are never hidden. */
  | { kind: "event"; type: string; text: string }
  /** Lines that are not events (the agent's stderr), consecutive ones together. */
  | { kind: "output"; text: string };

const NOTE = "# homelab-healer: ";

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v, null, 2);

/** An OpenCode event as an entry; undefined for the ones that only mark a step's start. */
function fromEvent(e: Record<string, unknown>): Entry | undefined {
  const part = obj(e.part);
  switch (e.type) {
    case "step_start":
      return undefined;
    case "tool_use": {
      const state = obj(part.state);
      const error = str(state.error);
      return {
        kind: "tool",
        tool: str(part.tool) || "unknown",
        status: str(state.status) || "unknown",
        title: str(state.title),
        input: str(state.input),
        output: error || str(state.output),
        denied: error !== "" && isDenial(error),
      };
    }
    case "text":
      return { kind: "text", text: str(part.text) };
    case "step_finish": {
      const t = obj(part.tokens);
      const total = typeof t.total === "number" ? t.total : Number(t.input ?? 0) + Number(t.output ?? 0);
      return { kind: "step", reason: str(part.reason), tokens: total, cost: Number(part.cost ?? 0) || 0 };
    }
    case "error": {
      const err = obj(e.error);
      const data = obj(err.data);
      return { kind: "error", text: `${str(err.name) || "Error"}: ${str(data.message) || str(err.data)}` };
    }
    default:
      return { kind: "event", type: str(e.type) || "(no type)", text: JSON.stringify(e, null, 2) };
  }
}

/** Reads agent.log (OpenCode's JSON events, the service's notes, the agent's stderr) as entries. */
export function parseTranscript(log: string): Entry[] {
  const entries: Entry[] = [];
  for (const line of log.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith(NOTE)) {
      const text = line.slice(NOTE.length);
      entries.push({ kind: "note", text, refused: /\b(refused|denied)\b/i.test(text) });
      continue;
    }
    const event = parseEventLine(line);
    if (event) {
      const entry = fromEvent(event);
      if (entry) entries.push(entry);
      continue;
    }
    const last = entries.at(-1);
    if (last?.kind === "output") last.text += `\n${line}`;
    else entries.push({ kind: "output", text: line });
  }
  return entries;
}
