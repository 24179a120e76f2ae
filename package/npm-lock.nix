# Turns the project's package.json + package-lock.json into the pair importNpmLock is given:
#   1. `resolved` filled in from name + version (our npm writes locks without it), and
#   2. pruned to what the build needs: the runtime dependencies plus the dev dependencies
#      `buildDevDependency` accepts (tsc and type packages), with everything they pull in.
# Pure `lib` code, so the offline checks evaluate it without nixpkgs.
{
  lib,
  package,
  packageLock,
  npmRegistry ? "https://registry.npmjs.org",
  buildDevDependency ? name: name == "typescript" || lib.hasPrefix "@types/" name,
}:
let
  inherit (lib)
    attrNames
    filterAttrs
    last
    mapAttrs
    splitString
    ;

  registry = lib.removeSuffix "/" npmRegistry;

  # "node_modules/a/node_modules/@s/b" -> "@s/b": npm omits `name` when it equals the folder.
  nameOf = path: entry: entry.name or (last (splitString "node_modules/" path));

  # The registry's tarball convention: <registry>/<name>/-/<basename>-<version>.tgz, where a
  # scoped name keeps its scope in the path and drops it from the file name.
  tarballUrl =
    name: version: "${registry}/${name}/-/${last (splitString "/" name)}-${version}.tgz";

  withResolved = mapAttrs (
    path: entry:
    if path == "" || entry ? resolved || entry.link or false || !(entry ? version) then
      entry
    else
      entry // { resolved = tarballUrl (nameOf path entry) entry.version; }
  ) packageLock.packages;

  # npm's lookup: the nearest node_modules/<dep> walking up from the dependent's folder; null
  # when the lock has none (an optional dependency for another platform is often left out).
  resolveFrom =
    from: dep:
    let
      candidate = (if from == "" then "" else "${from}/") + "node_modules/${dep}";
      cut = builtins.match "(.*)/node_modules/[^/]+(/[^/]+)?" from;
      parent =
        if from == "" then
          null
        else if cut == null then
          ""
        else
          builtins.head cut;
    in
    if withResolved ? ${candidate} then
      candidate
    else if parent == null then
      null
    else
      resolveFrom parent dep;

  # Edges npm installs from `from`: dependencies (which must be in the lock), optional ones
  # (kept when present so the lock stays self-consistent for an offline `npm install`) and
  # required peers.
  edgesOf =
    from: entry:
    let
      required = attrNames (entry.dependencies or { });
      soft =
        attrNames (entry.optionalDependencies or { })
        ++ attrNames (
          filterAttrs (peer: _: !(entry.peerDependenciesMeta.${peer}.optional or false)) (
            entry.peerDependencies or { }
          )
        );
      need =
        dep:
        let
          found = resolveFrom from dep;
        in
        if found == null then
          throw "package-lock.json: ${dep} (a dependency of '${from}') is not in the lock"
        else
          found;
    in
    map need required ++ lib.filter (p: p != null) (map (resolveFrom from) soft);

  root = withResolved."";
  keptDev = filterAttrs (name: _: buildDevDependency name) (root.devDependencies or { });
  # The project's own optional dependencies are test tooling (the OpenCode binary the tests drive):
  # the package never needs them; on NixOS the agent is `agentPackage`.
  # npm lists them under the lock root's `dependencies` too.
  rootOptional = attrNames (root.optionalDependencies or { });
  prunedRoot =
    builtins.removeAttrs root [ "optionalDependencies" ]
    // lib.optionalAttrs (root ? dependencies) {
      dependencies = builtins.removeAttrs root.dependencies rootOptional;
    }
    // lib.optionalAttrs (root ? devDependencies) { devDependencies = keptDev; };

  reachable = builtins.genericClosure {
    startSet = map (key: { inherit key; }) (
      edgesOf "" (prunedRoot // { devDependencies = { }; })
      ++ map (dep: resolveFrom "" dep) (attrNames keptDev)
    );
    operator = item: map (key: { inherit key; }) (edgesOf item.key withResolved.${item.key});
  };
  keep = lib.listToAttrs (map (item: lib.nameValuePair item.key true) reachable);

in
{
  package =
    builtins.removeAttrs package [ "optionalDependencies" ]
    // lib.optionalAttrs (package ? devDependencies) { devDependencies = keptDev; };
  packageLock = packageLock // {
    packages = { "" = prunedRoot; } // filterAttrs (path: _: keep ? ${path}) withResolved;
  };
  # For the offline checks: what was dropped.
  dropped = attrNames (filterAttrs (path: _: path != "" && !(keep ? ${path})) withResolved);
  inherit tarballUrl;
}
