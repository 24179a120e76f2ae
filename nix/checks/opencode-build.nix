# What package/opencode.nix does on x86_64-linux, as strings for nix/check.sh, which replays it on
# the bytes npm downloaded from the same URL: the fetch (url, hash), installPhase, preFixup, the
# buildInputs autoPatchelfHook searches, installCheckPhase, and the libraries the package says the
# binary loads (one per line).
{ lib }:
let
  pkgs = import ../stubs/fake-pkgs.nix { inherit lib; };
  drv = pkgs.callPackage ../../package/opencode.nix { };
  attrs = drv.fake;
  lines = lib.concatStringsSep "\n";
in
{
  inherit (attrs.src.fake) url hash;
  inherit (drv) version;
  inherit (attrs) installPhase;
  preFixup = attrs.preFixup or "";
  installCheckPhase = attrs.installCheckPhase or "";
  buildInputs = lines (map (p: "${p.name}\t${p}") (attrs.buildInputs or [ ]));
  # The store path of stdenv.cc.cc.lib among them, so the replay knows which one to fill with the
  # compiler's runtime libraries.
  ccLib = "${pkgs.stdenv.cc.cc.lib}";
  libsGlibc = lines (drv.loadedLibraries.glibc or [ ]);
  libsCcLib = lines (drv.loadedLibraries.ccLib or [ ]);
  libsHostNss = lines (drv.loadedLibraries.hostNss or [ ]);
  libsEmbedded = lines (drv.loadedLibraries.embedded or [ ]);
}
