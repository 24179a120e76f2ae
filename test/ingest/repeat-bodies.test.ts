import { describe, expect, it } from "vitest";
import { RepeatBodies } from "../../src/ingest/repeat-bodies.js";

describe("RepeatBodies", () => {
  const at = new Date("2026-12-06T10:00:30Z");
  const alerts = { keys: ["k1"], fingerprints: ["f1"] };

  it("finds a body by source, minute and exact text", () => {
    const b = new RepeatBodies();
    b.set("generic", at, "{}", alerts);
    expect(b.get("generic", new Date("2026-12-06T10:00:59Z"), "{}")).toBe(alerts);
    expect(b.get("generic", new Date("2026-12-06T10:01:00Z"), "{}")).toBeUndefined();
    expect(b.get("gatus", at, "{}")).toBeUndefined();
    expect(b.get("generic", at, "{} ")).toBeUndefined();
  });

  it("keeps no body over its size bound and at most `max` bodies, the oldest going first", () => {
    const b = new RepeatBodies({ max: 2, maxBytes: 10 });
    b.set("generic", at, "x".repeat(11), alerts);
    expect(b.size).toBe(0);
    b.set("generic", at, "a", alerts);
    b.set("generic", at, "b", alerts);
    b.set("generic", at, "c", alerts);
    expect(["a", "b", "c"].filter((x) => b.get("generic", at, x))).toEqual(["b", "c"]);
  });
});
