# The homelab-healer executable: `npm run build` (tsc) and the runtime node_modules.
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs_22,
  # Where the lock's tarballs are fetched from; a mirror with the same layout works too.
  npmRegistry ? "https://registry.npmjs.org",
}:
let
  package = lib.importJSON ../package.json;

  # Our lock has no `resolved` fields (npm writes it with omit-lockfile-registry-resolved) and
  # importNpmLock needs them: fill them in, and prune what the build never uses (see below).
  lock = import ./npm-lock.nix {
    inherit lib npmRegistry package;
    packageLock = lib.importJSON ../package-lock.json;
  };
in
buildNpmPackage {
  pname = package.name;
  inherit (package) version;

  src = lib.fileset.toSource {
    root = ./..;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../tsconfig.build.json
      ../src
      (lib.fileset.maybeMissing ../share)
    ];
  };

  nodejs = nodejs_22;

  # No npmDepsHash: every tarball is fetched by its lock integrity.
  npmDeps = importNpmLock { inherit (lock) package packageLock; };
  npmConfigHook = importNpmLock.npmConfigHook;

  # The pruned pair replaces the originals before anything reads them. importNpmLock's config hook
  # (npm-config-hook.sh) sets the source's pair aside as .package.json.orig/.package-lock.json.orig,
  # writes its own patched copy of the pruned pair (the same lock, tarballs as store paths) and
  # leaves that in place: `npm install`, the build, `npm pack` and buildNpmPackage's `npm prune
  # --omit=dev` all read it. Its npmConfigPostInstallHook then copies the .orig pair, this pruned
  # pair, into $out/lib/node_modules/homelab-healer/. Older versions of the hook moved the .orig
  # pair back at the end of the config hook instead, so prune read the source's pair: had it been
  # the unpruned original, prune would have tried to fetch the OpenCode optional dependency offline
  # ("reify failed optional dependency"). nix/check.sh replays the current hook, and that failure.
  prunedPackageJson = builtins.toJSON lock.package;
  prunedPackageLock = builtins.toJSON lock.packageLock;
  passAsFile = [
    "prunedPackageJson"
    "prunedPackageLock"
  ];
  postPatch = ''
    cp --no-preserve=mode "$prunedPackageJsonPath" package.json
    cp --no-preserve=mode "$prunedPackageLockPath" package-lock.json
  '';

  # Why no `--omit=…` in npmFlags/npmInstallFlags: tsc needs the dev dependencies, so they
  # cannot be omitted at install, and omitting optional ones would not help anyway, because
  # importNpmLock fetches every entry of the lock it is given whatever npm later installs.
  # What keeps the 185 MB OpenCode binary the tests use (and vitest, vite, biome, esbuild with their
  # per-platform binaries) out is the pruned lock above: runtime dependencies plus typescript and
  # @types/*, nothing else (the project's optionalDependencies are test tooling; on NixOS the agent
  # is the module's agentPackage, ./opencode.nix). After the build, buildNpmPackage's
  # `npm prune --omit=dev` leaves only the runtime dependencies in $out.
  npmBuildScript = "build";

  meta = {
    inherit (package) description;
    license = lib.licenses.mit;
    mainProgram = "homelab-healer";
    platforms = lib.platforms.linux;
  };
}
