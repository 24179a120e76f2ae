# Runs the in-Nix checks and renders one line each: "ok    <name>" or "FAIL  <name>: <detail>".
# Usage: nix eval --raw --file nix/checks/report.nix --arg lib 'import <nixpkgs-lib>/lib'
{ lib }:
let
  groups = {
    module = import ./module.nix { inherit lib; } ++ import ./assertions.nix { inherit lib; };
    npm-lock = import ./npm-lock.nix { inherit lib; };
    package = import ./package.nix { inherit lib; };
    flake = import ./flake.nix { inherit lib; };
    inspect-target = import ./inspect-target.nix { inherit lib; };
  };
  line =
    group: c:
    if c.ok then "ok    ${group}: ${c.name}" else "FAIL  ${group}: ${c.name}: ${c.detail}";
in
lib.concatStringsSep "\n" (
  lib.concatLists (lib.mapAttrsToList (group: map (line group)) groups)
)
+ "\n"
