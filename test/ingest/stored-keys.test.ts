import { describe, expect, it } from "vitest";
import { StoredKeys } from "../../src/ingest/stored-keys.js";

describe("StoredKeys", () => {
  it("knows a key, and the delivery that carried it, until its time to live has passed", () => {
    let now = 1_000;
    const keys = new StoredKeys({ max: 10, ttlMs: 100, now: () => now });
    keys.add(["a"], [7]);
    expect(keys.deliveryOf("a")).toBe(7);
    expect(keys.has("b")).toBe(false);
    now += 99;
    expect(keys.has("a")).toBe(true);
    now += 1;
    expect(keys.has("a")).toBe(false);
    expect(keys.size).toBe(0);
  });

  it("a key learned again keeps its first delivery and its age: the table is asked again after the time to live", () => {
    let now = 0;
    const keys = new StoredKeys({ max: 10, ttlMs: 100, now: () => now });
    keys.add(["a"], [1]);
    now = 90;
    keys.add(["a"], [2]);
    expect(keys.deliveryOf("a")).toBe(1);
    now = 100;
    expect(keys.has("a")).toBe(false);
  });

  it("keeps at most `max` keys, dropping the oldest", () => {
    const keys = new StoredKeys({ max: 3, ttlMs: 1_000, now: () => 0 });
    keys.add(["a", "b", "c"], [1, 1, 1]);
    keys.add(["d"], [2]);
    expect(keys.size).toBe(3);
    expect(["a", "b", "c", "d"].filter((k) => keys.has(k))).toEqual(["b", "c", "d"]);
  });

  it("names a repeat only when every key is known: the delivery of the first", () => {
    const keys = new StoredKeys({ max: 10, ttlMs: 1_000, now: () => 0 });
    keys.add(["a", "b"], [1, 2]);
    expect(keys.repeatOf(["b", "a"])).toBe(2);
    expect(keys.repeatOf(["a", "c"])).toBeUndefined();
    expect(keys.repeatOf([])).toBeUndefined();
  });
});
