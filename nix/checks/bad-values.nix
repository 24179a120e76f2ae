# Option values the module system must refuse, each with (part of) the message it must give.
# nix/check.sh evaluates every `<name>.value` expecting an error that contains `<name>.expect`.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  refuse = expect: modules: {
    inherit expect;
    value =
      let
        config = h.evalHealer modules;
      in
      {
        settings = h.settingsOf config;
        unit = {
          inherit (h.unit config) serviceConfig path;
        };
      };
  };
in
{
  port-out-of-range = refuse "`services.homelabHealer.settings.listen.port' is not of type `16 bit unsigned integer" [
    (h.healer { settings.listen.port = 70000; })
  ];
  unknown-forge-type = refuse "`services.homelabHealer.settings.forge.type' is not of type `one of \"github\", \"none\"'" [
    (h.healer { settings.forge.type = "gitlab"; })
  ];
  secret-as-path-literal = refuse "absolute path to a file outside the Nix store, given as a string" [
    (h.healer { secrets.tokenFile = ./harness.nix; })
  ];
  relative-secret-path = refuse "`services.homelabHealer.secrets.githubTokenFile' is not of type" [
    (h.healer { secrets.githubTokenFile = "github-token"; })
  ];
  state-dir-is-fixed = refuse "`services.homelabHealer.settings.stateDir' is read-only" [
    (h.healer { settings.stateDir = "/srv/healer"; })
  ];
  unknown-option = refuse "The option `services.homelabHealer.tokenFile' does not exist" [
    (h.healer { tokenFile = "/run/secrets/token"; })
  ];
  enable-not-a-bool = refuse "`services.homelabHealer.enable' is not of type `boolean'" [
    { services.homelabHealer.enable = "yes"; }
  ];
  extra-packages-not-packages = refuse "is not of type `package'" [
    (h.healer { extraPackages = [ "git" ]; })
  ];
  conflicting-unit-user = refuse "`systemd.services.homelab-healer.serviceConfig.User' has conflicting definition values" [
    (h.healer { })
    { systemd.services.homelab-healer.serviceConfig.User = "root"; }
  ];
}
