# Expectations on package/: the pinned OpenCode derivation (fetched by the lock's URL and integrity,
# patched, never stripped, version-checked) and the homelab-healer build's one lock (the pruned pair
# written over the originals). Evaluated with the fake pkgs: nothing is built here; nix/check.sh
# tries the fetched tarball itself. Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;

  # The lock as npm wrote it, read independently of package/.
  lockFile = builtins.fromJSON (builtins.readFile ../../package-lock.json);
  x64 = lockFile.packages."node_modules/opencode-linux-x64";
  hasArm64 = lockFile.packages ? "node_modules/opencode-linux-arm64";

  pkgsFor = system: import ../stubs/fake-pkgs.nix { inherit lib system; };
  opencode = (pkgsFor "x86_64-linux").callPackage ../../package/opencode.nix { };
  arm64 = (pkgsFor "aarch64-linux").callPackage ../../package/opencode.nix { };
  attrs = opencode.fake;
  src = attrs.src.fake;

  mirror = (pkgsFor "x86_64-linux").callPackage ../../package/opencode.nix {
    npmRegistry = "https://npm.example.org/";
  };

  healer = h.fakePkgs.callPackage ../../package { };
  pruned = import ../../package/npm-lock.nix {
    inherit lib;
    package = lib.importJSON ../../package.json;
    packageLock = lockFile;
  };
in
[
  (expectEq "opencode: the tarball is fetched by the lock's URL and integrity (sha512 SRI)"
    {
      url = x64.resolved or "https://registry.npmjs.org/opencode-linux-x64/-/opencode-linux-x64-${x64.version}.tgz";
      hash = x64.integrity;
    }
    { inherit (src) url hash; }
  )
  (expect "opencode: the integrity is an SRI sha512, as Nix's fetchurl takes it" (lib.hasPrefix "sha512-" src.hash) src.hash)
  (expectEq "opencode: version and name are the lock's, main program `opencode`"
    {
      version = x64.version;
      name = "opencode-${x64.version}";
      mainProgram = "opencode";
      testedVersion = x64.version;
    }
    {
      inherit (opencode) version name;
      inherit (opencode.meta) mainProgram;
      inherit (opencode) testedVersion;
    }
  )
  (expect "opencode: autoPatchelfHook points the ELF at the store's glibc; never stripped (Bun keeps the program in the ELF)" (
    lib.elem h.fakePkgs.autoPatchelfHook attrs.nativeBuildInputs
    && attrs.dontStrip
    && attrs.dontBuild
    && lib.hasInfix "install -Dm755 bin/opencode $out/bin/opencode" attrs.installPhase
  ) attrs)
  (expect "opencode: libstdc++ for the embedded watcher addon: stdenv.cc.cc.lib in buildInputs, and preFixup makes it the binary's own NEEDED (before autoPatchelf, which runs in postFixup)" (
    attrs.buildInputs or [ ] == [ h.fakePkgs.stdenv.cc.cc.lib ]
    && lib.hasInfix "patchelf --add-needed libstdc++.so.6 $out/bin/opencode" (attrs.preFixup or "")
  ) {
    buildInputs = attrs.buildInputs or null;
    preFixup = attrs.preFixup or null;
  })
  (expect "opencode: the install check runs `opencode --version` with HOME in $TMPDIR, without versionCheckHook's versionCheckKeepEnvironment (absent in nixpkgs 25.05: PR #411609)" (
    attrs.doInstallCheck
    && !(attrs ? versionCheckKeepEnvironment)
    && !(lib.elem h.fakePkgs.versionCheckHook (attrs.nativeInstallCheckInputs or [ ]))
    && lib.hasInfix ''HOME="$TMPDIR" "$out/bin/opencode" --version'' (attrs.installCheckPhase or "")
    && lib.hasInfix "runHook preInstallCheck" attrs.installCheckPhase
    && lib.hasInfix "runHook postInstallCheck" attrs.installCheckPhase
  ) (removeAttrs attrs [ "src" ]))
  (expectEq "opencode: npmRegistry moves the URL to a mirror, the integrity stays the lock's"
    {
      url = "https://npm.example.org/opencode-linux-x64/-/opencode-linux-x64-${x64.version}.tgz";
      hash = x64.integrity;
    }
    { inherit (mirror.fake.src.fake) url hash; }
  )
  (expectEq "opencode: platforms are exactly the systems the lock pins a binary for"
    ([ "x86_64-linux" ] ++ lib.optional hasArm64 "aarch64-linux")
    (lib.sort lib.lessThan opencode.meta.platforms)
  )
  (expect "opencode on aarch64-linux: the lock's arm64 entry, or a refusal that says what to do" (
    if hasArm64 then
      arm64.fake.src.fake.hash == lockFile.packages."node_modules/opencode-linux-arm64".integrity
    else
      !(builtins.tryEval arm64.fake.src.fake.url).success && !(builtins.tryEval arm64.outPath).success
  ) hasArm64)
  (expectEq "opencode on aarch64-linux: version, name and meta evaluate without an error (the tested version where the lock pins none)"
    {
      version = if hasArm64 then lockFile.packages."node_modules/opencode-linux-arm64".version else x64.version;
      name = "opencode-${if hasArm64 then lockFile.packages."node_modules/opencode-linux-arm64".version else x64.version}";
      platforms = [ "x86_64-linux" ] ++ lib.optional hasArm64 "aarch64-linux";
      mainProgram = "opencode";
      testedVersion = x64.version;
    }
    (
      let
        tried = builtins.tryEval (
          builtins.deepSeq {
            inherit (arm64) version name testedVersion;
            inherit (arm64.meta) platforms mainProgram;
          } true
        );
      in
      if tried.success then
        {
          inherit (arm64) version name testedVersion;
          inherit (arm64.meta) mainProgram;
          platforms = lib.sort lib.lessThan arm64.meta.platforms;
        }
      else
        "evaluating them threw"
    )
  )
  (expectEq "homelab-healer: postPatch writes the pruned package.json and lock over the originals"
    {
      package = pruned.package;
      packageLock = pruned.packageLock;
      passAsFile = [
        "prunedPackageJson"
        "prunedPackageLock"
      ];
      copies = true;
    }
    {
      package = builtins.fromJSON healer.fake.prunedPackageJson;
      packageLock = builtins.fromJSON healer.fake.prunedPackageLock;
      inherit (healer.fake) passAsFile;
      copies =
        lib.hasInfix ''cp --no-preserve=mode "$prunedPackageJsonPath" package.json'' healer.fake.postPatch
        && lib.hasInfix ''cp --no-preserve=mode "$prunedPackageLockPath" package-lock.json'' healer.fake.postPatch;
    }
  )
  (expect "homelab-healer: importNpmLock gets the same pruned pair, so install, build, pack and prune see one lock" (
    healer.fake.npmDeps.fake.package == builtins.fromJSON healer.fake.prunedPackageJson
    && healer.fake.npmDeps.fake.packageLock == builtins.fromJSON healer.fake.prunedPackageLock
    && healer.fake.npmConfigHook == h.fakePkgs.importNpmLock.npmConfigHook
  ) null)
  (expect "homelab-healer: the pruned lock has no OpenCode entry and no optional dependency left to fetch" (
    !(lib.any (lib.hasInfix "opencode") (lib.attrNames pruned.packageLock.packages))
    && !(pruned.package ? optionalDependencies)
    && !(pruned.packageLock.packages."" ? optionalDependencies)
  ) null)
]
