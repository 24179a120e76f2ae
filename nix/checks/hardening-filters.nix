# The unit's RestrictAddressFamilies=, RestrictNamespaces= and SystemCallFilter=, as one line
# "families<TAB>namespaces<TAB>syscall filter" for nix/check.sh, which runs the agent's bwrap
# sandbox under the first two's seccomp filters and asks systemd-analyze about the third.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  service = (h.unit (h.evalHealer [ (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; }) ])).serviceConfig;
in
"${lib.concatStringsSep " " service.RestrictAddressFamilies}\t${service.RestrictNamespaces}\t${lib.concatStringsSep " " service.SystemCallFilter}"
