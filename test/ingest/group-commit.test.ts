import { describe, expect, it } from "vitest";
import { type GroupCommitOptions, groupCommit } from "../../src/ingest/group-commit.js";

/** An item: its name; "r…" items are order-sensitive (a resolve), "bad" ones fail to store. */
type Item = string;

/** A store whose batches finish when the test says so, recording what it was given and when. */
function harness(opts: Partial<GroupCommitOptions<Item>> = {}) {
  const log: string[] = [];
  const open: { items: Item[]; finish(): void; fail(e: unknown): void }[] = [];
  const submit = groupCommit<Item, string>(
    {
      store: (items) =>
        new Promise((resolve, reject) => {
          log.push(`start ${items.join(",")}`);
          open.push({
            items,
            finish: () => {
              log.push(`end ${items.join(",")}`);
              resolve(items.map((i) => `stored ${i}`));
            },
            fail: reject,
          });
        }),
      after: async (items) => items.map(() => undefined),
    },
    {
      maxItems: 10,
      maxWeight: 100,
      weight: () => 1,
      alone: (i) => i.startsWith("r"),
      parallel: 1,
      retryable: () => false,
      unavailable: () => false,
      ...opts,
    },
  );
  const inFlight = () => open.map((b) => b.items.join(","));
  const finish = async (items: string) => {
    const i = open.findIndex((b) => b.items.join(",") === items);
    if (i < 0) throw new Error(`no batch ${items} in flight: ${inFlight().join(" | ")}`);
    open.splice(i, 1)[0]!.finish();
    await new Promise((r) => setImmediate(r));
  };
  return { submit, log, inFlight, finish, open };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("groupCommit", () => {
  it("stores a lone item at once and what arrives meanwhile together in the next batch", async () => {
    const h = harness();
    const answers = ["a", "b", "c"].map((i) => h.submit(i));
    await tick();
    expect(h.inFlight()).toEqual(["a"]);
    await h.finish("a");
    expect(h.inFlight()).toEqual(["b,c"]);
    await h.finish("b,c");
    expect(await Promise.all(answers)).toEqual(["stored a", "stored b", "stored c"]);
  });

  it("with parallel 2 stores a second batch while the first is in flight", async () => {
    const h = harness({ parallel: 2 });
    const answers = ["a", "b", "c"].map((i) => h.submit(i));
    await tick();
    expect(h.inFlight()).toEqual(["a", "b"]);
    await h.finish("b");
    expect(h.inFlight()).toEqual(["a", "c"]);
    await h.finish("c");
    await h.finish("a");
    expect(await Promise.all(answers)).toEqual(["stored a", "stored b", "stored c"]);
  });

  it("an order-sensitive item waits for every batch before it, and nothing after it starts beside it", async () => {
    const h = harness({ parallel: 2 });
    const answers = ["a", "b", "r1", "c", "d"].map((i) => h.submit(i));
    await tick();
    // a alone first (nothing queued yet), then b: r1 stops the second batch short.
    expect(h.inFlight()).toEqual(["a", "b"]);
    await h.finish("b");
    expect(h.inFlight()).toEqual(["a"]); // r1 waits for a
    await h.finish("a");
    expect(h.inFlight()).toEqual(["r1"]); // and c, d wait for r1
    await h.finish("r1");
    expect(h.inFlight()).toEqual(["c,d"]);
    await h.finish("c,d");
    expect(await Promise.all(answers)).toHaveLength(5);
    expect(h.log.indexOf("start r1")).toBeGreaterThan(h.log.indexOf("end a"));
    expect(h.log.indexOf("start c,d")).toBeGreaterThan(h.log.indexOf("end r1"));
  });

  it("a batch that fails is stored item by item, so one bad item fails alone", async () => {
    const h = harness();
    const first = h.submit("a");
    const rest = Promise.allSettled(["b", "bad", "c"].map((i) => h.submit(i)));
    await tick();
    await h.finish("a");
    h.open.splice(0, 1)[0]!.fail(new Error("one of them is bad"));
    await tick();
    for (const name of ["b", "bad", "c"]) {
      await tick();
      const b = h.open.shift()!;
      expect(b.items).toEqual([name]);
      if (name === "bad") b.fail(new Error("bad item"));
      else b.finish();
    }
    await expect(first).resolves.toBe("stored a");
    const settled = await rest;
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
