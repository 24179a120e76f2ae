# The VM tests' Python scripts as the test driver gets them, for nix/check.sh to compile with
# python3: the tests come from nixos-tests/default.nix (runNixOSTest returns its argument here), and
# a script written as a function of the nodes gets the machines evaluated against the stubs.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  tests = import ../../nixos-tests {
    pkgs = h.fakePkgs // {
      testers.runNixOSTest = test: test;
    };
    module = ../../module;
  };
  script =
    test:
    if lib.isFunction test.testScript then
      test.testScript { nodes = lib.mapAttrs (_: node: h.evalMachine [ node ]) test.nodes; }
    else
      test.testScript;
in
lib.mapAttrs (_: script) tests
