// Prints the path of the tarball npm's cache holds for a URL, and the integrity npm recorded for it
// when it fetched that URL (cacache: index-v5 keyed by the request, content-v2 by integrity).
// nix/check.sh hashes the file itself, so the lock's integrity is checked against the bytes behind
// the URL. Exit 2 when the cache has no such download.
//   node nix/cached-tarball.mjs CACHE_DIR URL  ->  "<path>\t<integrity>"
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [cache, url] = process.argv.slice(2);
if (cache === undefined || url === undefined) {
  console.error("usage: cached-tarball.mjs CACHE_DIR URL");
  process.exit(1);
}
const key = `make-fetch-happen:request-cache:${url}`;
const bucket = createHash("sha256").update(key).digest("hex");
const index = join(cache, "_cacache", "index-v5", bucket.slice(0, 2), bucket.slice(2, 4), bucket.slice(4));
const entries = existsSync(index)
  ? readFileSync(index, "utf8")
      .split("\n")
      .filter((line) => line.includes("\t"))
      .map((line) => JSON.parse(line.slice(line.indexOf("\t") + 1)))
      .filter((e) => e.key === key && typeof e.integrity === "string")
  : [];
const entry = entries.at(-1);
if (entry === undefined) {
  console.error(`npm's cache (${cache}) has no download of ${url}`);
  process.exit(2);
}
const [algorithm, digest] = entry.integrity.split(/-(.*)/s);
const hex = Buffer.from(digest, "base64").toString("hex");
const content = join(
  cache,
  "_cacache",
  "content-v2",
  algorithm,
  hex.slice(0, 2),
  hex.slice(2, 4),
  hex.slice(4),
);
if (!existsSync(content)) {
  console.error(`npm's cache lists ${url} but its content is gone`);
  process.exit(2);
}
console.log(`${content}\t${entry.integrity}`);
