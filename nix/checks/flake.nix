# The flake's wiring, evaluated offline: its outputs are called with nixpkgs `lib` as the nixpkgs
# input and a package set that throws if anything reaches for it (nothing builds here).
# Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;

  flake = import ../../flake.nix;
  systems = [
    "aarch64-linux"
    "x86_64-linux"
  ];
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs systems (s: throw "offline check: no nixpkgs package set for ${s}");
  };
  outputs = flake.outputs { inherit self nixpkgs; };
  self = outputs // {
    inherit outputs;
  };
in
[
  (expectEq "nixpkgs follows a release branch" "github:NixOS/nixpkgs/nixos-25.11" flake.inputs.nixpkgs.url)
  (expectEq "outputs: packages, nixosModules, checks, devShells"
    [
      "checks"
      "devShells"
      "nixosModules"
      "packages"
    ]
    (lib.attrNames outputs)
  )
  (expectEq "packages, checks and devShells for x86_64-linux and aarch64-linux"
    {
      packages = systems;
      checks = systems;
      devShells = systems;
    }
    {
      packages = lib.attrNames outputs.packages;
      checks = lib.attrNames outputs.checks;
      devShells = lib.attrNames outputs.devShells;
    }
  )
  (expectEq "checks: the package build and the three VM tests"
    [
      "bad-input"
      "crash-recovery"
      "end-to-end"
      "package"
    ]
    (lib.attrNames outputs.checks.x86_64-linux)
  )
  (expect "nixosModules.default is the module evaluated by these checks" (
    outputs.nixosModules.default == ../../module
  ) (toString outputs.nixosModules.default))
]
