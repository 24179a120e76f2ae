# The OpenCode the project is tested with, read from package-lock.json: the npm platform packages
# (`opencode-linux-x64`, `opencode-linux-arm64`) with their version, tarball URL and integrity.
# Pure `lib` code, so the module (its default agent and the version warning) and the offline
# checks use exactly what the lock pins.
{
  lib,
  packageLock ? builtins.fromJSON (builtins.readFile ../package-lock.json),
  npmRegistry ? "https://registry.npmjs.org",
}:
let
  npm = import ./npm-lock.nix {
    inherit lib packageLock npmRegistry;
    package = { };
  };

  # Nix system -> the npm package OpenCode publishes for it. The x64 one is the build the tests run
  # (it needs a CPU with AVX2, as Bun's non-baseline builds do).
  npmPackages = {
    x86_64-linux = "opencode-linux-x64";
    aarch64-linux = "opencode-linux-arm64";
  };

  entryOf = name: packageLock.packages."node_modules/${name}" or null;

  pinned = lib.filterAttrs (_: p: p != null) (
    lib.mapAttrs (
      _: name:
      let
        entry = entryOf name;
      in
      if entry == null then
        null
      else
        {
          inherit name;
          inherit (entry) version integrity;
          # Our npm writes locks without `resolved` (omit-lockfile-registry-resolved): then the
          # registry's own URL for name + version, the same one importNpmLock is given.
          url = entry.resolved or (npm.tarballUrl name entry.version);
        }
    ) npmPackages
  );
in
{
  inherit npmPackages pinned;
  # The version every test here ran: the one the lock pins for the test machines (x86_64).
  testedVersion =
    (entryOf npmPackages.x86_64-linux).version
      or (throw "package-lock.json pins no ${npmPackages.x86_64-linux}: the tested OpenCode is unknown");
}
