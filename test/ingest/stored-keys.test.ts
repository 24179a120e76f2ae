import { describe, expect, it } from "vitest";
import { StoredKeys } from "../../src/ingest/stored-keys.js";

describe("StoredKeys", () => {
  it("knows a key until its time to live has passed", () => {
    let now = 1_000;
    const keys = new StoredKeys({ max: 10, ttlMs: 100, now: () => now });
    keys.add(["a"]);
    expect(keys.has("a")).toBe(true);
    expect(keys.has("b")).toBe(false);
    now += 99;
    expect(keys.has("a")).toBe(true);
    now += 1;
    expect(keys.has("a")).toBe(false);
    expect(keys.size).toBe(0);
  });

  it("keeps at most `max` keys, dropping the least recently added", () => {
    const keys = new StoredKeys({ max: 3, ttlMs: 1_000, now: () => 0 });
    keys.add(["a", "b", "c"]);
    keys.add(["a"]); // a is fresh again: b is now the oldest
    keys.add(["d"]);
    expect(keys.size).toBe(3);
    expect(["a", "b", "c", "d"].filter((k) => keys.has(k))).toEqual(["a", "c", "d"]);
  });
});
