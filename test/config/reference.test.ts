import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import {
  configJsonSchema,
  keysAt,
  REFERENCE_BEGIN,
  REFERENCE_END,
  referenceRows,
  renderReference,
} from "../../src/config/reference.js";

const README = new URL("../../README.md", import.meta.url);

/** The reference block README.md holds now. */
function committedReference(): string {
  const text = readFileSync(README, "utf8");
  const begin = text.indexOf(REFERENCE_BEGIN);
  const end = text.indexOf(REFERENCE_END);
  expect(begin, "README.md lacks the configuration reference markers").toBeGreaterThanOrEqual(0);
  return text.slice(begin + REFERENCE_BEGIN.length, end).trim();
}

describe("the configuration reference in README.md", () => {
  it("is what the schema generates (else run `npm run docs:config` and commit README.md)", () => {
    const generated = renderReference();
    expect(
      committedReference() === generated,
      "README.md's configuration reference is out of date: run `npm run docs:config` and commit README.md",
    ).toBe(true);
  });

  it("names every key of the schema with a meaning", () => {
    const rows = referenceRows();
    const keys = rows.map((r) => r.key);
    for (const key of ["listen.port", "auth.tokenFile", "auth.sources.<source>.tokenFile", "forge.type"])
      expect(keys).toContain(key);
    for (const r of rows)
      expect(r.meaning, `${r.key} has no .describe() in src/config/schema.ts`).not.toBe("");
    expect(rows.find((r) => r.key === "listen.port")).toMatchObject({
      type: "integer 0–65535",
      default: "`8470`",
    });
    expect(rows.find((r) => r.key === "auth.tokenFile")).toMatchObject({ type: "file path", default: "—" });
  });

  it("changes when a key is added, so a key added without regenerating fails the first test", () => {
    const schema = configJsonSchema();
    schema.properties!.listen!.properties!.backlog = {
      type: "integer",
      default: 511,
      description: "a new key",
    };
    const grown = renderReference(schema);
    expect(grown).not.toBe(renderReference());
    expect(grown).toContain("| `listen.backlog` | integer | `511` | a new key |");
    expect(grown).not.toBe(committedReference());
  });

  it("every JSON config example in README.md is a valid config", () => {
    const text = readFileSync(README, "utf8");
    const examples = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(() => parseConfig(JSON.parse(example))).not.toThrow();
  });

  it("knows the keys of every object for 'did you mean'", () => {
    expect(keysAt(["agent"])).toContain("timeoutSeconds");
    expect(keysAt(["triage", "ignore", 0])).toEqual(["service", "alertName", "message"]);
    expect(keysAt(["auth", "sources"])).toContain("alertmanager");
    expect(keysAt(["nothing", "here"])).toEqual([]);
  });
});
