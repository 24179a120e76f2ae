# Expectations on package/npm-lock.nix: `resolved` filled in by the registry's convention, and the
# lock pruned to what `npm run build` needs. Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;

  package = lib.importJSON ../../package.json;
  packageLock = lib.importJSON ../../package-lock.json;
  result = import ../../package/npm-lock.nix { inherit lib package packageLock; };
  mirror = import ../../package/npm-lock.nix {
    inherit lib package packageLock;
    npmRegistry = "https://npm.example.org/registry/";
  };
  kept = removeAttrs result.packageLock.packages [ "" ];
  notLinks = lib.filterAttrs (_: e: !(e.link or false)) kept;
  again = import ../../package/npm-lock.nix {
    inherit lib;
    inherit (result) package packageLock;
  };
  runtime = lib.attrNames (package.dependencies or { });
  keptDev = lib.attrNames result.package.devDependencies;
in
[
  (expectEq "a scoped name keeps its scope in the path and drops it from the file name"
    "https://registry.npmjs.org/@octokit/types/-/types-17.0.0.tgz"
    (result.tarballUrl "@octokit/types" "17.0.0")
  )
  (expectEq "npmRegistry points every tarball at a mirror"
    "https://npm.example.org/registry/typescript/-/typescript-5.9.3.tgz"
    (mirror.tarballUrl "typescript" "5.9.3")
  )
  (expect "every kept entry has `resolved` from its own name and version, and keeps its integrity" (
    lib.all (e: lib.hasPrefix "https://registry.npmjs.org/" (e.resolved or "") && e ? integrity) (
      lib.attrValues notLinks
    )
  ) (lib.attrNames (lib.filterAttrs (_: e: !(e ? resolved && e ? integrity)) notLinks)))
  (expect "nested entries resolve to their own version" (
    let
      nested = lib.filterAttrs (p: _: lib.hasInfix "/node_modules/" p) notLinks;
    in
    lib.all (
      p:
      lib.hasSuffix "-${nested.${p}.version}.tgz" nested.${p}.resolved
      && lib.hasInfix "/${lib.last (lib.splitString "node_modules/" p)}/-/" nested.${p}.resolved
    ) (lib.attrNames nested)
  ) null)
  (expect "the 185 MB OpenCode binary the tests drive is not fetched" (
    lib.all (p: !(lib.hasInfix "opencode" p)) (lib.attrNames kept)
    && lib.elem "node_modules/opencode-linux-x64" result.dropped
  ) (lib.filter (lib.hasInfix "opencode") (lib.attrNames kept)))
  (expect "test and lint tooling is not fetched" (
    lib.all (n: !(kept ? "node_modules/${n}")) [
      "vitest"
      "vite"
      "tsx"
      "@biomejs/biome"
      "esbuild"
    ]
  ) (lib.attrNames kept))
  (expect "typescript, @types/* and every runtime dependency are kept" (
    lib.all (n: kept ? "node_modules/${n}") (runtime ++ keptDev) && lib.elem "typescript" keptDev
  ) keptDev)
  (expect "only typescript and @types/* remain as dev dependencies, in package.json and lock alike" (
    lib.all (n: n == "typescript" || lib.hasPrefix "@types/" n) keptDev
    && result.packageLock.packages."".devDependencies == result.package.devDependencies
  ) keptDev)
  (expectEq "the pruned lock is closed: pruning it again drops nothing" [ ] again.dropped)
]
