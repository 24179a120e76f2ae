import { describe, expect, it } from "vitest";
import { RefusalTally } from "../../src/runs/egress-events.js";

describe("a run's egress refusals", () => {
  it("sum over its agent turns: one entry per destination, in the order first refused", () => {
    const tally = new RefusalTally();
    tally.add([
      { destination: "127.0.0.1:9", count: 2 },
      { destination: "attacker.example:443", count: 1 },
    ]);
    tally.add([]);
    tally.add([
      { destination: "10.0.0.1:80", count: 1 },
      { destination: "127.0.0.1:9", count: 3 },
    ]);
    expect(tally.list()).toEqual([
      { destination: "127.0.0.1:9", count: 5 },
      { destination: "attacker.example:443", count: 1 },
      { destination: "10.0.0.1:80", count: 1 },
    ]);
  });
});
