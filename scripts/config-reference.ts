// `npm run docs:config`: writes the configuration reference, generated from the zod schema, into
// README.md between its markers. test/config/reference.test.ts fails while the two differ.
import { readFileSync, writeFileSync } from "node:fs";
import { renderReference, withReference } from "../src/config/reference.js";

const readme = new URL("../README.md", import.meta.url);
const before = readFileSync(readme, "utf8");
const after = withReference(before, renderReference());
if (after === before) console.log("README.md: configuration reference already current");
else {
  writeFileSync(readme, after);
  console.log("README.md: configuration reference regenerated");
}
