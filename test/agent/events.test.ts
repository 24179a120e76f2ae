import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EventCollector, statsFromText } from "../../src/agent/events.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/opencode/${name}`, import.meta.url), "utf8");

describe("OpenCode event stream", () => {
  it("tallies tools, tokens, cost and the finish reason of a successful run", () => {
    const stats = statsFromText(fixture("events-edit-nix.jsonl"));
    expect(stats.toolCalls).toBe(3);
    expect(stats.tools).toEqual({ read: 1, edit: 1, write: 1 });
    expect(stats.deniedToolCalls).toBe(0);
    expect(stats.tokens).toEqual({ input: 400, output: 80, reasoning: 0, cacheRead: 0, cacheWrite: 0 });
    expect(stats.cost).toBe(0);
    expect(stats.finishReason).toBe("stop");
    expect(stats.errors).toEqual([]);
  });

  it("records provider errors", () => {
    expect(statsFromText(fixture("events-error-401.jsonl")).errors).toEqual(["APIError: invalid api key"]);
    expect(statsFromText(fixture("events-error-timeout.jsonl")).errors).toEqual([
      "UnknownError: The operation timed out.",
    ]);
  });

  it("counts denied and rejected tool calls", () => {
    const denied = (error: string) =>
      JSON.stringify({
        type: "tool_use",
        part: { tool: "bash", state: { status: "error", error } },
      });
    const stats = statsFromText(
      [
        denied("The user has specified a rule which prevents you from using this specific tool call."),
        denied("The user rejected permission to use this specific tool call."),
        denied("Command failed: exit 1"),
      ].join("\n"),
    );
    expect(stats.toolCalls).toBe(3);
    expect(stats.tools).toEqual({ bash: 3 });
    expect(stats.deniedToolCalls).toBe(2);
  });

  it("ignores non-JSON lines and reassembles lines split across chunks", () => {
    const text = fixture("events-edit-nix.jsonl");
    const c = new EventCollector();
    c.push("! permission requested: bash (curl x); auto-rejecting\n");
    c.push("{not json}\n[1,2]\n");
    for (let i = 0; i < text.length; i += 97) c.push(text.slice(i, i + 97));
    const stats = c.end();
    expect(stats.toolCalls).toBe(3);
    expect(stats.tokens.input).toBe(400);
  });
});
