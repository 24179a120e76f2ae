# The flake's wiring, evaluated offline: its outputs are called with nixpkgs `lib` as the nixpkgs
# input and the fake package sets as legacyPackages (nothing builds here; the VM tests' and dev
# shell's builders are absent, so those outputs are only counted).
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
    legacyPackages = lib.genAttrs systems (
      system: import ../stubs/fake-pkgs.nix { inherit lib system; }
    );
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
  (expectEq "checks: the package builds (OpenCode where the lock pins it) and the four VM tests"
    {
      x86_64-linux = [
        "bad-input"
        "crash-recovery"
        "end-to-end"
        "inspect"
        "opencode"
        "package"
      ];
      aarch64-linux = [
        "bad-input"
        "crash-recovery"
        "end-to-end"
        "inspect"
        "package"
      ];
    }
    {
      x86_64-linux = lib.attrNames outputs.checks.x86_64-linux;
      aarch64-linux = lib.attrNames outputs.checks.aarch64-linux;
    }
  )
  (expectEq "packages.<system>.opencode is package/opencode.nix, the module's default agent"
    {
      name = "opencode-${(import ../../package/opencode-lock.nix { inherit lib; }).testedVersion}";
      same = true;
    }
    {
      inherit (outputs.packages.x86_64-linux.opencode) name;
      same =
        outputs.packages.x86_64-linux.opencode.fake.src.fake
        == (nixpkgs.legacyPackages.x86_64-linux.callPackage ../../package/opencode.nix { }).fake.src.fake;
    }
  )
  (expect "nixosModules.default is the module evaluated by these checks" (
    outputs.nixosModules.default == ../../module
  ) (toString outputs.nixosModules.default))
  (expectEq "nixosModules: default and inspectTarget (module/inspect-target.nix, evaluated by these checks)"
    {
      names = [
        "default"
        "inspectTarget"
      ];
      inspectTarget = true;
    }
    {
      names = lib.attrNames outputs.nixosModules;
      inspectTarget = outputs.nixosModules.inspectTarget == ../../module/inspect-target.nix;
    }
  )
]
