# The unit's RestrictAddressFamilies= and RestrictNamespaces=, as one line "families<TAB>namespaces"
# for nix/check.sh, which runs the agent's bwrap sandbox under the same seccomp filters.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  service = (h.unit (h.evalHealer [ (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; }) ])).serviceConfig;
in
"${lib.concatStringsSep " " service.RestrictAddressFamilies}\t${service.RestrictNamespaces}"
