{
  description = "homelab-healer: alerts from a NixOS homelab in, reviewed pull requests out";

  # A release branch; no flake.lock is committed: the first `nix flake lock` on a machine with
  # network access writes it (see README.md, "Use it in your homelab flake").
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./package { };
      });

      nixosModules.default = ./module;

      # The package build and the NixOS VM tests (they need KVM: `nix flake check -L`).
      checks = forAllSystems (
        pkgs:
        {
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        }
        // import ./nixos-tests {
          inherit pkgs;
          module = self.nixosModules.default;
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.nodejs_22
            pkgs.postgresql
            pkgs.git
            pkgs.bubblewrap
          ];
        };
      });
    };
}
