{
  description = "A small homelab, as the VM tests' bare repository holds it";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { nixpkgs, ... }:
    {
      nixosConfigurations.media-01 = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ ./hosts/media-01.nix ];
      };
    };
}
