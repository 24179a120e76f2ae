# The package.json and package-lock.json package/default.nix hands to importNpmLock.
{ lib }:
import ../../package/npm-lock.nix {
  inherit lib;
  package = lib.importJSON ../../package.json;
  packageLock = lib.importJSON ../../package-lock.json;
}
