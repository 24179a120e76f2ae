# OpenCode exactly as the project tests it: the npm platform package's prebuilt binary, fetched by
# the URL and integrity package-lock.json pins (./opencode-lock.nix), patched for NixOS. The module's
# default `agentPackage`: nixpkgs' own `opencode` is another version, whose flags, permission
# handling and event stream were never tried here.
#
# What the binary loads at run time. Measured on x86_64 (Debian) with the real OpenCode 1.18.33
# driving a scripted model through read, bash and edit turns (`opencode run`, LD_DEBUG=files,libs;
# strace -f -e trace=openat agrees; test/e2e/opencode-libraries.test.ts measures it again):
#   - its own DT_NEEDED: libc.so.6, libpthread.so.0, libdl.so.2, libm.so.6 and ld-linux-x86-64.so.2,
#     all glibc;
#   - two native libraries from Bun's embedded file system (/$bunfs/root/…), which Bun writes to
#     /tmp/.<hash>-0000000N.{so,node} and then dlopen()s, so no build-time tool sees them:
#     libfff_c-*.so (file search; NEEDED: glibc only) and watcher-*.node (@parcel/watcher's addon;
#     NEEDED: libstdc++.so.6, libgcc_s.so.1, libm, libpthread, libc). "find library=libstdc++.so.6
#     … needed by /tmp/.5eff…-00000001.node" is the line NixOS cannot satisfy: nixpkgs#522943
#     ("libstdc++.so.6: cannot open shared object file … failed to load watcher binding", then
#     hung sessions), earlier #432051;
#   - libnss_mdns4_minimal.so.2, dlopen()ed by glibc itself for the host's nsswitch.conf (a Debian
#     entry; on NixOS nscd answers name lookups), not by OpenCode.
# The binary also embeds librust_pty-*.so (NEEDED libutil.so.1, glibc) and libopentui-*.so (glibc
# only), which a headless run does not load. So: glibc, plus libstdc++.so.6 and libgcc_s.so.1 from
# stdenv.cc.cc.lib. nix/check.sh checks each against the patched binary (readelf -d), and dlopen()s
# every embedded library through the patched binary in a root that has only these store paths.
{
  lib,
  stdenv,
  fetchurl,
  autoPatchelfHook,
  npmRegistry ? "https://registry.npmjs.org",
}:
let
  lock = import ./opencode-lock.nix { inherit lib npmRegistry; };
  inherit (stdenv.hostPlatform) system;
  pinned = lock.pinned.${system} or null;
  # Only `src` refuses a system the lock pins no binary for, and meta.platforms stops the build
  # before that is ever read. Everything else evaluates, so an aarch64 host (or
  # checks.aarch64-linux) can read this package's version and meta without an error.
  pin =
    if pinned != null then
      pinned
    else
      throw ''
        package/opencode.nix: package-lock.json pins no ${lock.npmPackages.${system} or "OpenCode build"} for ${system}.
        Set services.homelabHealer.agentPackage yourself (an OpenCode other than ${lock.testedVersion} is untested).
      '';
in
stdenv.mkDerivation {
  pname = "opencode";
  # The lock's version for this platform; where it pins none, the tested version (never a throw:
  # `x.version or d` does not catch one, and the module reads the version on every system).
  version = if pinned != null then pinned.version else lock.testedVersion;

  src = fetchurl {
    inherit (pin) url;
    # The lock's SRI integrity (sha512) is the fixed-output hash: the tarball npm installs here.
    hash = pin.integrity;
  };
  # npm tarballs unpack into package/.
  sourceRoot = "package";

  # autoPatchelfHook (in postFixup) sets the interpreter of the ELF to the store's glibc, and a
  # RUNPATH of the buildInputs' lib dirs that hold a DT_NEEDED library not in glibc; glibc's own
  # libraries it leaves to the dynamic linker. The binary alone needs nothing but glibc, so the hook
  # would set the interpreter and no RUNPATH at all, and the watcher addon (above) would fail to find
  # libstdc++.so.6. Hence preFixup's --add-needed: libstdc++ becomes the binary's own dependency,
  # autoPatchelf finds it in stdenv.cc.cc.lib and sets the RUNPATH to it, libstdc++ brings
  # libgcc_s.so.1 from the same store path, and both are loaded before the addon asks for them.
  # An LD_LIBRARY_PATH wrapper would not do: the agent's environment drops LD_* variables.
  nativeBuildInputs = [ autoPatchelfHook ];
  buildInputs = [ stdenv.cc.cc.lib ];

  dontConfigure = true;
  dontBuild = true;
  # A Bun single-file executable: the JavaScript is in the ELF's `.bun` section, which strip drops,
  # leaving plain Bun (`opencode --version` then prints Bun's version). patchelf keeps it intact;
  # nix/check.sh tries both on the lock's tarball.
  dontStrip = true;

  installPhase = ''
    runHook preInstall
    install -Dm755 bin/opencode $out/bin/opencode
    runHook postInstall
  '';

  preFixup = ''
    patchelf --add-needed libstdc++.so.6 $out/bin/opencode
  '';

  # After patching: it runs and says it is the pinned version. Written out rather than with
  # versionCheckHook, whose versionCheckKeepEnvironment only exists after nixpkgs 25.05 (PR
  # #411609): there the hook runs the program without HOME, and OpenCode, which creates
  # directories under $HOME even for --version, fails on the sandbox's /homeless-shelter.
  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    said=$(HOME="$TMPDIR" "$out/bin/opencode" --version)
    if [ "$said" != "$version" ]; then
      echo "opencode --version said '$said', expected '$version'" >&2
      exit 1
    fi
    runHook postInstallCheck
  '';

  passthru = {
    inherit (lock) testedVersion;
    npmPackage = lock.npmPackages.${system} or null;
    # The libraries above (./opencode-libraries.json, which test/e2e/opencode-libraries.test.ts
    # measures again on every run of the suite): what nix/check.sh checks the patched binary against.
    loadedLibraries = lib.importJSON ./opencode-libraries.json;
  };

  meta = {
    description = "OpenCode AI coding agent, the build homelab-healer is tested with";
    homepage = "https://opencode.ai";
    license = lib.licenses.mit;
    mainProgram = "opencode";
    sourceProvenance = [ lib.sourceTypes.binaryNativeCode ];
    # Only the systems the lock pins a binary for.
    platforms = lib.attrNames lock.pinned;
  };
}
