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
      opencodeSystems = builtins.attrNames (import ./package/opencode-lock.nix { inherit (nixpkgs) lib; }).pinned;
    in
    {
      packages = nixpkgs.lib.genAttrs systems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
        in
        {
          default = pkgs.callPackage ./package { };
        }
        # The OpenCode the project is tested with (the module's default agentPackage), where
        # package-lock.json pins a binary for the system. Decided by the system's name alone, so
        # listing the outputs needs no package set.
        // nixpkgs.lib.optionalAttrs (nixpkgs.lib.elem system opencodeSystems) {
          opencode = pkgs.callPackage ./package/opencode.nix { };
        }
      );

      nixosModules.default = ./module;
      # For every host the agent may inspect: the read-only SSH account and its forced command.
      nixosModules.inspectTarget = ./module/inspect-target.nix;

      # The package builds (OpenCode's with its `--version` check after patching) and the NixOS VM
      # tests (they need KVM: `nix flake check -L`).
      checks = nixpkgs.lib.genAttrs systems (
        system:
        {
          package = self.packages.${system}.default;
        }
        // nixpkgs.lib.optionalAttrs (self.packages.${system} ? opencode) {
          opencode = self.packages.${system}.opencode;
        }
        // import ./nixos-tests {
          pkgs = nixpkgs.legacyPackages.${system};
          module = self.nixosModules.default;
          inherit (self.nixosModules) inspectTarget;
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
