import { describe, expect, it } from "vitest";
import {
  isPlaceholder,
  parseTolerantJson,
  presentString,
  repairOpenObserveJson,
  unescapeApostrophes,
} from "../../src/ingest/tolerant-json.js";

function value(text: string): unknown {
  const parsed = parseTolerantJson(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe("parseTolerantJson", () => {
  it("leaves valid JSON alone and says so", () => {
    expect(parseTolerantJson('{"a":"b\\\\\'c"}')).toEqual({
      ok: true,
      value: { a: "b\\'c" },
      repaired: false,
    });
  });

  it("rewrites Rust \\u{..} escapes, including astral code points", () => {
    expect(value('{"m":"\\u{1b}[31mred\\u{1b}[0m"}')).toEqual({ m: "\u001b[31mred\u001b[0m" });
    expect(value('{"m":"\\u{0}\\u{1F600}"}')).toEqual({ m: "\u0000😀" });
    expect(parseTolerantJson('{"m":"\\u{1b}"}')).toMatchObject({ repaired: true });
  });

  it("rewrites \\' to ' but respects backslash parity", () => {
    expect(value('{"m":"it\\\'s"}')).toEqual({ m: "it's" });
    // `\\\'` is an escaped backslash, then the bad escape.
    expect(value('{"m":"a\\\\\\\'b","n":"\\u{7}"}')).toEqual({ m: "a\\'b", n: "\u0007" });
    // `\\u{1b}` is an escaped backslash followed by text: valid JSON, not an escape to rewrite.
    expect(value('{"m":"\\\\u{1b}"}')).toEqual({ m: "\\u{1b}" });
  });

  it("escapes raw control characters inside strings, not whitespace between tokens", () => {
    expect(value('{\n\t"m": "line one\nline\ttwo"\n}')).toEqual({ m: "line one\nline\ttwo" });
  });

  it("gives up on what it cannot know: an unescaped quote inside a string", () => {
    const parsed = parseTolerantJson('{"d":"cannot read "/mnt/media".\nCheck it."}');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toMatch(/^not JSON/);
  });

  it("does not touch text outside strings or invalid braces", () => {
    expect(repairOpenObserveJson('{"m":"\\u{zz}"}')).toBe('{"m":"\\u{zz}"}');
    expect(repairOpenObserveJson('{"m":"\\u{1100000}"}')).toBe('{"m":"\\u{1100000}"}');
    expect(parseTolerantJson("{\"m\": \\'x\\'}").ok).toBe(false);
  });

  it("is linear on long backslash runs and long bodies", () => {
    const runs = `{"m":"${"\\\\".repeat(200_000)}\\'"}`;
    expect(value(runs)).toEqual({ m: `${"\\".repeat(200_000)}'` });
    expect(unescapeApostrophes(`${"\\".repeat(500_000)}x`)).toHaveLength(500_001);
  });
});

describe("OpenObserve text helpers", () => {
  it("unescapes apostrophes after one or two escaping passes", () => {
    expect(unescapeApostrophes("Couldn\\'t")).toBe("Couldn't");
    expect(unescapeApostrophes("result \\\\\\'exit-code\\\\\\'.")).toBe("result 'exit-code'.");
    expect(unescapeApostrophes("plain 'quotes'")).toBe("plain 'quotes'");
  });

  it("knows literal placeholders", () => {
    for (const p of ["{severity}", "{rows:50}", "{...rows}", "{alert.name}"])
      expect(isPlaceholder(p)).toBe(true);
    for (const p of ["{a b}", "severity", "{}", "{x}y", `{${"a".repeat(300)}}`])
      expect(isPlaceholder(p)).toBe(false);
    expect([presentString("{unit}"), presentString(""), presentString(5), presentString("x")]).toEqual([
      undefined,
      undefined,
      "5",
      "x",
    ]);
  });
});
