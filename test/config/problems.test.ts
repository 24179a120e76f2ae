import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("the config was accepted");
}

describe("config problems in the config file's words", () => {
  const dir = mkdtempSync(join(tmpdir(), "healer-config-problems-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a fraction where a whole number belongs names the value, not zod's 'int'", () => {
    expect(problems({ agent: { timeoutSeconds: 2.5 } })).toEqual([
      "agent.timeoutSeconds: expected a whole number, got 2.5",
    ]);
    expect(problems({ listen: { port: "80" } })).toEqual([
      'listen.port: expected a number, got the string "80"',
    ]);
    expect(problems({ forge: { type: "gitlab" } })).toEqual([
      'forge.type: expected one of "github", "forgejo", "gitea", "none", got the string "gitlab"',
    ]);
  });

  it("an invalid regex says why", () => {
    expect(problems({ triage: { ignore: [{ service: "([" }] } })).toEqual([
      "triage.ignore.0.service: not a valid regular expression: Unterminated character class",
    ]);
  });

  it("an unknown key gets the known key it most resembles, at every level", () => {
    expect(problems({ agnet: {} })).toEqual(["agnet: unknown key (did you mean agent?)"]);
    expect(problems({ agent: { timeoutSecs: 5 } })).toEqual([
      "agent.timeoutSecs: unknown key (did you mean agent.timeoutSeconds?)",
    ]);
    expect(problems({ triage: { ignore: [{ servce: "x" }] } })[0]).toBe(
      "triage.ignore.0.servce: unknown key (did you mean triage.ignore.0.service?)",
    );
    // Nothing close: no guess.
    expect(problems({ listen: { zzzzzz: 1 } })).toEqual(["listen.zzzzzz: unknown key"]);
  });

  it("a JSON syntax error gives line and column and shows the line", () => {
    const file = join(dir, "bad.json");
    const problemsOf = (text: string) => {
      writeFileSync(file, text);
      try {
        loadConfig(file, { shapeOnly: true });
      } catch (e) {
        return (e as ConfigError).problems.join("\n");
      }
      throw new Error("the config was accepted");
    };
    const message = problemsOf('{\n  "listen": {\n    "port": 8470\n    "host": "0.0.0.0"\n  }\n}\n');
    expect(message).toContain(`${file}:4:5: not valid JSON: Expected ',' or '}' after property value`);
    expect(message).toContain('"host": "0.0.0.0"');
    expect(message).not.toMatch(/position \d+/);
    const truncated = problemsOf('{\n  "listen": {\n');
    expect(truncated).toMatch(new RegExp(`^${file}:3:1: not valid JSON`));
  });
});
