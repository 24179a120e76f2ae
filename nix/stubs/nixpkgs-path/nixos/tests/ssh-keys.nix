# Stands in for nixpkgs' nixos/tests/ssh-keys.nix (the VM tests' throwaway keys) when the VM tests
# are evaluated offline: the same attribute names, placeholder values that are no keys at all.
pkgs: {
  snakeOilPrivateKey = pkgs.writeText "privkey.snakeoil" "placeholder, not a key\n";
  snakeOilPublicKey = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAAA= snakeoil";
  snakeOilEd25519PrivateKey = pkgs.writeText "privkey.snakeoil" "placeholder, not a key\n";
  snakeOilEd25519PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== snakeoil";
}
