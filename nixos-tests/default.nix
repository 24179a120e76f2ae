# The NixOS VM tests, for the nixpkgs test driver. They need a NixOS (or Nix) machine with KVM and
# network access for the first build: `nix flake check -L`.
{
  pkgs,
  module,
  # nixosModules.inspectTarget, for the inspected machine of ./inspect.nix.
  inspectTarget ? ../module/inspect-target.nix,
}:
let
  common = import ./common.nix { inherit module; };
  run = file: pkgs.testers.runNixOSTest (import file { inherit common; });
in
{
  end-to-end = run ./end-to-end.nix;
  crash-recovery = run ./crash-recovery.nix;
  bad-input = run ./bad-input.nix;
  inspect = pkgs.testers.runNixOSTest (import ./inspect.nix { inherit common inspectTarget; });
}
