# Expectations on what services.homelabHealer refuses or warns about, on the disabled module, and
# on the VM tests' machine. Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect;

  disabled = h.evalHealer [ { services.homelabHealer.settings.listen.port = 9000; } ];

  storeSecret = h.evalHealer [
    (h.healer { secrets.githubTokenFile = "/nix/store/aaaa-token"; })
  ];
  storeSecretInSettings = h.evalHealer [
    (h.healer { settings.auth.sources.grafana.tokenFile = "/nix/store/bbbb-grafana-token"; })
  ];
  githubWithoutToken = h.evalHealer [
    (h.healer {
      settings.repo.url = "git@github.com:me/homelab.git";
      settings.forge.owner = "me";
      settings.forge.repo = "homelab";
    })
  ];
  closedFirewall = h.evalHealer [ (h.healer { openFirewall = true; }) ];
  withoutToken = h.evalHealer [ (h.healer { }) ];

  vmMachine = h.evalHealer [
    (import ../../nixos-tests/common.nix { module = ../../module; } {
      agent = pkgs: import ../../nixos-tests/script-agent.nix { inherit pkgs; };
    })
  ];
  vmUnit = h.unit vmMachine;

  hasPrefixIn = prefix: lib.any (lib.hasPrefix prefix);
  mentions = needle: lib.any (lib.hasInfix needle);
in
[
  (expect "disabled: no unit, no user, no database" (
    disabled.systemd.services == { } && disabled.users.users == { } && !disabled.services.postgresql.enable
  ) disabled.systemd.services)
  (expect "a secret file in the Nix store is refused" (mentions "must not lie in the Nix store" (
    h.failedAssertions storeSecret
  )) (h.failedAssertions storeSecret))
  (expect "a store path in a settings *File key is refused too" (mentions "/nix/store/bbbb-grafana-token" (
    h.failedAssertions storeSecretInSettings
  )) (h.failedAssertions storeSecretInSettings))
  (expect "without a bearer token file the module refuses, as the program would" (mentions "set secrets.tokenFile" (
    h.failedAssertions withoutToken
  )) (h.failedAssertions withoutToken))
  (expect "GitHub with a repo but no token is refused" (mentions "needs secrets.githubTokenFile" (
    h.failedAssertions githubWithoutToken
  )) (h.failedAssertions githubWithoutToken))
  (expect "openFirewall on a loopback listener warns" (hasPrefixIn "services.homelabHealer.openFirewall" closedFirewall.warnings) closedFirewall.warnings)
  (expect "VM test machine: the unit waits for its secrets and the bare repo, and may push to it" (
    lib.all (u: lib.elem u vmUnit.requires) [
      "postgresql.target"
      "healer-test-secrets.service"
      "homelab-repo.service"
    ]
    && lib.elem "fake-github.service" vmUnit.after
    && vmUnit.serviceConfig.ReadWritePaths == [ "/var/lib/homelab-repo.git" ]
    && h.failedAssertions vmMachine == [ ]
  ) { inherit (vmUnit) requires after; })
]
