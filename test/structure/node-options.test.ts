import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { SERVICE_NODE_OPTIONS } from "../../bench/service.js";

/* The bench (and the fault tests) run `serve` with the Node options the NixOS unit gives it. */

it("the bench starts the service with the NixOS unit's NODE_OPTIONS", () => {
  const module = readFileSync(new URL("../../module/default.nix", import.meta.url), "utf8");
  const set = /environment\.NODE_OPTIONS = "([^"]*)";/.exec(module);
  expect(set?.[1]?.split(" ")).toEqual(SERVICE_NODE_OPTIONS);
});
