# OpenCode exactly as the project tests it: the npm platform package's prebuilt binary, fetched by
# the URL and integrity package-lock.json pins (./opencode-lock.nix), its ELF pointed at the Nix
# store's glibc. The module's default `agentPackage`: nixpkgs' own `opencode` is another version,
# whose flags, permission handling and event stream were never tried here.
{
  lib,
  stdenv,
  fetchurl,
  autoPatchelfHook,
  versionCheckHook,
  writableTmpDirAsHomeHook,
  npmRegistry ? "https://registry.npmjs.org",
}:
let
  lock = import ./opencode-lock.nix { inherit lib npmRegistry; };
  inherit (stdenv.hostPlatform) system;
  pin =
    lock.pinned.${system} or (throw ''
      package/opencode.nix: package-lock.json pins no ${lock.npmPackages.${system} or "OpenCode build"} for ${system}.
      Set services.homelabHealer.agentPackage yourself (an OpenCode other than ${lock.testedVersion} is untested).
    '');
in
stdenv.mkDerivation {
  pname = "opencode";
  # What the lock pins for this platform; the module warns when agentPackage is not the tested one.
  version = pin.version;

  src = fetchurl {
    inherit (pin) url;
    # The lock's SRI integrity (sha512) is the fixed-output hash: the tarball npm installs here.
    hash = pin.integrity;
  };
  # npm tarballs unpack into package/.
  sourceRoot = "package";

  # The binary links only glibc (libc, libpthread, libdl, libm, ld-linux): autoPatchelfHook finds
  # it through stdenv's compiler wrapper and sets the interpreter and RUNPATH.
  nativeBuildInputs = [ autoPatchelfHook ];

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

  # After patching: it runs and says it is the pinned version. OpenCode writes under $HOME.
  doInstallCheck = true;
  nativeInstallCheckInputs = [
    versionCheckHook
    writableTmpDirAsHomeHook
  ];
  versionCheckProgramArg = "--version";
  versionCheckKeepEnvironment = [ "HOME" ];

  passthru = {
    inherit (lock) testedVersion;
    npmPackage = pin.name;
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
