# Values that must be refused, each with (part of) the message it must give: the module's own
# option types, and what NixOS's declarations refuse (nix/stubs/ copies their semantics), so a
# value real NixOS would reject fails here too. nix/check.sh evaluates every `<name>.value`
# expecting an error that contains `<name>.expect` (a string, or a list of strings all of which
# must appear).
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  refuse = refuseOn "x86_64-linux";
  refuseOn = system: expect: modules: {
    inherit expect;
    value =
      let
        config = h.evalWith { inherit system; } modules;
        unit = h.unit config;
      in
      {
        settings = h.settingsOf config;
        unit = {
          inherit (unit)
            serviceConfig
            path
            description
            wantedBy
            wants
            requires
            after
            ;
        };
        tmpfiles = config.systemd.tmpfiles.settings;
        users = config.users.users;
      };
  };
  # The same for module/inspect-target.nix: the account, its keys and the commands file.
  refuseTarget = expect: modules: {
    inherit expect;
    value =
      let
        config = h.evalTarget modules;
      in
      {
        users = config.users.users;
        commands = config.environment.etc."homelab-healer-inspect/commands".source.fake.text;
      };
  };
  healerKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhlYWxlcg== homelab-healer inspect";
  inspectTarget = values: h.target ({ authorizedKeys = [ healerKey ]; } // values);
  notAKey = "is not of type `OpenSSH public key line without options";
  notAPattern = "is not of type `command pattern (one line;";

  enabled = h.healer { secrets.tokenFile = "/run/secrets/healer/token"; };
  # package/opencode.nix on aarch64-linux, `part` of it evaluated; while the lock pins no arm64
  # build. Once it does, the case fails with a message saying to drop it.
  onArmOpencode = part: expect: {
    inherit expect;
    value =
      let
        lock = builtins.fromJSON (builtins.readFile ../../package-lock.json);
        pkgs = import ../stubs/fake-pkgs.nix {
          inherit lib;
          system = "aarch64-linux";
        };
      in
      if lock.packages ? "node_modules/opencode-linux-arm64" then
        throw "the lock has an arm64 OpenCode now: drop this case"
      else
        part (pkgs.callPackage ../../package/opencode.nix { });
  };
  onUnit = values: [
    enabled
    { systemd.services.homelab-healer = values; }
  ];
  # NixOS's unitNameType, as the module system names it in the error.
  unitName = option: [
    "`systemd.services.homelab-healer.${option}.\"[definition "
    "is not of type `string matching the pattern [a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)'"
  ];
in
{
  # The module's own options.
  port-out-of-range = refuse "`services.homelabHealer.settings.listen.port' is not of type `16 bit unsigned integer" [
    (h.healer { settings.listen.port = 70000; })
  ];
  unknown-forge-type = refuse "`services.homelabHealer.settings.forge.type' is not of type `one of \"github\", \"forgejo\", \"gitea\", \"none\"'" [
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
  agent-package-not-a-package = refuse "`services.homelabHealer.agentPackage' is not of type `package'" [
    (h.healer { agentPackage = "opencode"; })
  ];

  # NixOS's systemd unit declarations (systemd-lib.nix, systemd-unit-options.nix).
  conflicting-unit-user = refuse "`systemd.services.homelab-healer.serviceConfig.User' has conflicting definition values" (
    onUnit { serviceConfig.User = "root"; }
  );
  after-without-unit-suffix = refuse (unitName "after") (
    onUnit { after = [ "postgresql" ]; }
  );
  wanted-by-without-unit-suffix = refuse (unitName "wantedBy") (
    onUnit { wantedBy = [ "multi-user" ]; }
  );
  requires-with-a-space = refuse (unitName "requires") (
    onUnit { requires = [ "homelab repo.service" ]; }
  );
  description-of-two-lines = refuse "`systemd.services.homelab-healer.description' is not of type `(optionally newline-terminated) single-line string'" (
    onUnit { description = lib.mkForce "homelab-healer\nsecond line"; }
  );
  service-type-not-systemds = refuse "Systemd Service field `Type' cannot have value `daemon'." (
    onUnit { serviceConfig.Type = lib.mkForce "daemon"; }
  );
  restart-not-systemds = refuse "Systemd Service field `Restart' cannot have value `sometimes'." (
    onUnit { serviceConfig.Restart = lib.mkForce "sometimes"; }
  );

  # tmpfiles.nix: an entry's fields are strings, its type among them.
  tmpfiles-type-not-a-string = refuse "`systemd.tmpfiles.settings.homelab-healer.\"/var/lib/homelab-healer\".e.type' is not of type `string'" [
    enabled
    { systemd.tmpfiles.settings.homelab-healer."/var/lib/homelab-healer".e.type = 101; }
  ];
  tmpfiles-unknown-field = refuse "The option `systemd.tmpfiles.settings.homelab-healer.\"/var/lib/homelab-healer\".e.permissions' does not exist" [
    enabled
    { systemd.tmpfiles.settings.homelab-healer."/var/lib/homelab-healer".e.permissions = "0700"; }
  ];

  # users-groups.nix: /etc/passwd fields hold no colon.
  user-description-with-colon = refuse "`users.users.homelab-healer.description' is not of type `string, not containing newlines or colons'" [
    enabled
    { users.users.homelab-healer.description = lib.mkForce "homelab-healer: the service"; }
  ];

  # package/opencode.nix where the lock pins no binary for the system (aarch64 today): building
  # it is refused by meta.platforms (the fake pkgs copy check-meta.nix), and its source, were it
  # read anyway (allowUnsupportedSystem), says what to do.
  opencode-built-on-unpinned-system = onArmOpencode (drv: drv.drvPath) "is not available on the requested hostPlatform: hostPlatform.system = \"aarch64-linux\", package.meta.platforms = [\"x86_64-linux\"]";
  opencode-on-unpinned-system = onArmOpencode (
    drv: drv.fake.src.fake.url
  ) "package-lock.json pins no opencode-linux-arm64 for aarch64-linux";
  # The module on aarch64-linux with the default agent: stops, naming the options to set.
  default-agent-on-unpinned-system = refuseOn "aarch64-linux" [
    "services.homelabHealer: agentPackage (opencode-"
    "has no build for aarch64-linux"
    "Set services.homelabHealer.agentPackage (e.g. pkgs.opencode) or settings.agent.command."
  ] [ enabled ];

  # services.homelabHealer.inspectTarget: keys without options of their own, one-line patterns.
  inspect-key-with-options = refuseTarget notAKey [
    (h.target { authorizedKeys = [ "command=\"/bin/sh\" ${healerKey}" ]; })
  ];
  inspect-key-of-two-lines = refuseTarget notAKey [
    (h.target { authorizedKeys = [ "${healerKey}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== other" ]; })
  ];
  inspect-key-private = refuseTarget notAKey [
    (h.target { authorizedKeys = [ "-----BEGIN OPENSSH PRIVATE KEY-----" ]; })
  ];
  inspect-pattern-comment = refuseTarget notAPattern [ (inspectTarget { commands = [ "# journalctl *" ]; }) ];
  inspect-pattern-newline = refuseTarget notAPattern [
    (inspectTarget { commands = [ "journalctl *\nrm *" ]; })
  ];
  inspect-pattern-trailing-space = refuseTarget notAPattern [ (inspectTarget { commands = [ "ls " ]; }) ];
  inspect-pattern-empty = refuseTarget notAPattern [ (inspectTarget { commands = [ "" ]; }) ];
  inspect-commands-not-a-list = refuseTarget "`services.homelabHealer.inspectTarget.commands' is not of type `list of" [
    (inspectTarget { commands = "journalctl *"; })
  ];
  inspect-unknown-option = refuseTarget "The option `services.homelabHealer.inspectTarget.keys' does not exist" [
    (inspectTarget { keys = [ healerKey ]; })
  ];
}
