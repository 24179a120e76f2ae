# What package/opencode.nix fetches on x86_64-linux, as one line "url<TAB>hash<TAB>version" for
# nix/check.sh, which checks it against the bytes npm downloaded from that URL.
{ lib }:
let
  pkgs = import ../stubs/fake-pkgs.nix { inherit lib; };
  drv = pkgs.callPackage ../../package/opencode.nix { };
in
"${drv.fake.src.fake.url}\t${drv.fake.src.fake.hash}\t${drv.version}"
