import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * `npm ci` must not warn EBADENGINE on the Node versions the README and the Nix package promise
 * (package.json `engines`: >=20.19; the Nix package: nodejs_22, checked at 22.13). A dependency that raises its
 * floor (content-type 3 needs Node 22) is pinned with `overrides` in package.json.
 */
const PROMISED = ["20.19.0", "22.13.0"];

type Version = [number, number, number];
const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v
    .replace(/\.?[x*]$/i, "")
    .split(".")
    .map((n) => Number(n));
  return [a, b, c];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** One comparator (`>=18`, `^20.19.0`, `10.*`, `>= 10.x`, `14`) against a version. */
function satisfies(version: Version, comparator: string): boolean {
  const m = /^(>=|>|<=|<|\^|~|=)?\s*(\d+(?:\.(?:\d+|[x*]))*(?:\.[x*])?)$/.exec(comparator.trim());
  if (!m) throw new Error(`range form not understood by this test: ${comparator}`);
  const op = m[1] ?? "";
  const text = m[2]!;
  const bound = parse(text);
  const parts = text.split(".").filter((p) => /^\d+$/.test(p)).length;
  const c = cmp(version, bound);
  switch (op) {
    case ">=":
      return c >= 0;
    case ">":
      return c > 0;
    case "<=":
      return c <= 0;
    case "<":
      return c < 0;
    case "^":
      return c >= 0 && version[0] === bound[0];
    case "~":
      return c >= 0 && version[0] === bound[0] && version[1] === bound[1];
    default:
      // `14`, `10.*`, `=12.1`: equal in the parts given.
      return version.slice(0, parts).every((n, i) => n === bound[i]);
  }
}

/** A whole range: `a || b`, each a space-separated AND of comparators (`>= 10` joins its operator). */
function inRange(version: string, range: string): boolean {
  const v = parse(version);
  return range
    .split("||")
    .some((alt) => (alt.trim().match(/(>=|<=|>|<|\^|~|=)?\s*[\d.x*]+/g) ?? []).every((c) => satisfies(v, c)));
}

describe("engines", () => {
  it("reads the range forms the lock file uses", () => {
    expect(inRange("20.19.0", ">=22")).toBe(false);
    expect(inRange("22.12.0", ">=22")).toBe(true);
    expect(inRange("20.19.0", "^20.19.0 || >=22.12.0")).toBe(true);
    expect(inRange("21.0.0", "^20.19.0 || >=22.12.0")).toBe(false);
    expect(inRange("20.19.0", "10.* || >= 12.*")).toBe(true);
    expect(inRange("20.19.0", "^10 || ^12 || ^13.7 || ^14 || >=15.0.1")).toBe(true);
  });

  it("every package in package-lock.json accepts the promised Node versions", () => {
    const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    const refused: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = p.engines?.node;
      if (range === undefined) continue;
      for (const v of PROMISED)
        if (!inRange(v, range)) refused.push(`${path || "(root)"} needs node ${range}, not ${v}`);
    }
    expect(refused).toEqual([]);
  });
});
