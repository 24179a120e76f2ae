# Expectations on services.homelabHealer.inspectTarget (module/inspect-target.nix): the account,
# its forced-command key lines, the commands file, the program's derivation, sshd's Match block,
# and what the module refuses or warns about. Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;

  healerKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhlYWxlcg== homelab-healer inspect";
  secondKey = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= backup healer";

  # The protocol's default list (the healer's inspect.commands default is the same list).
  protocolDefaults = [
    "journalctl *"
    "systemctl status *"
    "systemctl show *"
    "systemctl cat *"
    "systemctl list-units *"
    "systemctl list-units"
    "systemctl is-failed *"
    "findmnt"
    "findmnt *"
    "stat *"
    "ls"
    "ls *"
    "id"
    "id *"
    "getent passwd *"
    "getent group *"
    "df"
    "df *"
    "nixos-version"
    "nixos-version *"
  ];

  defaults = h.evalTarget [ (h.target { authorizedKeys = [ healerKey secondKey ]; }) ];
  cfg = defaults.services.homelabHealer.inspectTarget;
  account = defaults.users.users.healer-inspect;
  program = cfg.package;
  commandsFile = "/etc/homelab-healer-inspect/commands";
  commandsSource = config: config.environment.etc."homelab-healer-inspect/commands".source;

  forced = "${program.outPath}/bin/homelab-healer-inspect";
  keyLines = account.openssh.authorizedKeys.keys;

  custom = h.evalTarget [
    (h.target {
      authorizedKeys = [ healerKey ];
      commands = [
        "journalctl -u jellyfin *"
        "ls /mnt/media"
        "ls [ab]"
      ];
    })
  ];

  source = builtins.readFile ../../share/inspect/homelab-healer-inspect;
  # substituteInPlace's --replace-fail 'FROM' 'TO' pairs in the derivation's script.
  replacements = lib.filter lib.isList (
    builtins.split "--replace-fail '([^']*)' '([^']*)'" program.fake.script
  );
  occurrences = needle: lib.length (lib.splitString needle source) - 1;

  withoutSshd = h.evalTarget [
    (h.target { authorizedKeys = [ healerKey ]; })
    { services.openssh.enable = lib.mkForce false; }
  ];
  withoutKeys = h.evalTarget [ (h.target { }) ];
  withoutCommands = h.evalTarget [
    (h.target {
      authorizedKeys = [ healerKey ];
      commands = [ ];
    })
  ];
  disabled = h.evalTarget [ { services.homelabHealer.inspectTarget.authorizedKeys = [ healerKey ]; } ];

  # The two-node VM test (nixos-tests/inspect.nix), its machines evaluated with the stubs.
  vmTest = import ../../nixos-tests/inspect.nix {
    common = import ../../nixos-tests/common.nix { module = ../../module; };
    inspectTarget = ../../module/inspect-target.nix;
  };
  vmHealer = h.evalHealer [ vmTest.nodes.healer ];
  vmMedia = h.evalTarget [ vmTest.nodes."media-01" ];
  vmScript = vmTest.testScript { nodes.healer = vmHealer; };
  vmSettings = h.settingsOf vmHealer;
  snakeOil = import ../stubs/nixpkgs-path/nixos/tests/ssh-keys.nix h.fakePkgs;

  # src/hosts/commands.ts (the healer side) exports the same default list, where it exists.
  healerCommands = ../../src/hosts/commands.ts;
in
[
  (expectEq "the account: a system user of its own group, in systemd-journal, no home, a shell sshd can run the forced command with"
    {
      isSystemUser = true;
      isNormalUser = false;
      group = "healer-inspect";
      extraGroups = [ "systemd-journal" ];
      home = "/var/empty";
      createHome = false;
      useDefaultShell = true;
      groupDeclared = true;
      failedAssertions = [ ];
    }
    {
      inherit (account)
        isSystemUser
        isNormalUser
        group
        extraGroups
        home
        createHome
        useDefaultShell
        ;
      groupDeclared = defaults.users.groups ? healer-inspect;
      failedAssertions = h.failedAssertions defaults;
    }
  )
  (expectEq "each authorized key carries command=\"<program> <commands file>\",restrict, in order"
    [
      ''command="${forced} ${commandsFile}",restrict ${healerKey}''
      ''command="${forced} ${commandsFile}",restrict ${secondKey}''
    ]
    keyLines
  )
  (expect "the commands file in /etc is a store file written with writeText" (
    (commandsSource defaults).name == "homelab-healer-inspect-commands"
    && (commandsSource defaults).fake ? text
  ) (commandsSource defaults))
  (expectEq "the default commands are the protocol's list" protocolDefaults cfg.commands)
  (expectEq "the commands file holds one pattern a line (defaults)" (lib.concatLines protocolDefaults) (
    (commandsSource defaults).fake.text
  ))
  (expectEq "the commands file holds one pattern a line (custom list, brackets kept as written)"
    "journalctl -u jellyfin *\nls /mnt/media\nls [ab]\n"
    (commandsSource custom).fake.text
  )
  (expect "the program is share/inspect/homelab-healer-inspect, installed as bin/homelab-healer-inspect (lib.getExe)" (
    program.fake.env.src == ../../share/inspect/homelab-healer-inspect
    && lib.hasInfix ''install -D -m 0755 "$src" "$out/bin/homelab-healer-inspect"'' program.fake.script
    && lib.getExe program == forced
  ) program.fake)
  (expectEq "the derivation's substitutions: /bin/sh → the store's shell, the tools' PATH → coreutils and util-linux"
    [
      [
        "#!/bin/sh"
        "#!${h.fakePkgs.runtimeShell}"
      ]
      [
        "PATH=/run/current-system/sw/bin:/usr/bin:/bin"
        "PATH=${h.fakePkgs.coreutils}/bin:${h.fakePkgs.util-linux}/bin"
      ]
    ]
    replacements
  )
  (expect "each substituted text occurs exactly once in the script, the shebang on its first line (so --replace-fail changes just that)" (
    lib.all (r: occurrences (lib.head r) == 1) replacements
    && lib.hasPrefix "#!/bin/sh\n" source
  ) (map (r: occurrences (lib.head r)) replacements))
  (expect "sshd: a Match block forces the same command on the account, whatever key logs in, then Match All" (
    lib.hasInfix ''
      Match User healer-inspect
        ForceCommand ${forced} ${commandsFile}
    '' defaults.services.openssh.extraConfig
    && lib.hasInfix "PermitTTY no" defaults.services.openssh.extraConfig
    && lib.hasSuffix "Match All\n" defaults.services.openssh.extraConfig
  ) defaults.services.openssh.extraConfig)
  (expect "without services.openssh.enable the module refuses, saying to enable it (it does not do so itself)" (
    lib.any (lib.hasInfix "Set services.openssh.enable = true") (h.failedAssertions withoutSshd)
    && !withoutSshd.services.openssh.enable
  ) (h.failedAssertions withoutSshd))
  (expect "without authorized keys the module refuses" (
    lib.any (lib.hasInfix "inspectTarget.authorizedKeys is empty") (h.failedAssertions withoutKeys)
  ) (h.failedAssertions withoutKeys))
  (expect "an empty command list warns that every inspection is refused" (
    lib.any (lib.hasInfix "every inspection of this host is refused") withoutCommands.warnings
  ) withoutCommands.warnings)
  (expect "disabled: no account, no key, no sshd lines" (
    disabled.users.users == { } && disabled.services.openssh.extraConfig == "" && disabled.environment.etc == { }
  ) disabled.users.users)
  (expect "VM test, healer: media-01 under hosts, the inspect key as a credential of the service and its doctor, known hosts from the store" (
    vmSettings.hosts == { "media-01".address = "media-01"; }
    && vmSettings.inspect.sshKeyFile == "inspect-ssh-key"
    && lib.hasPrefix "/nix/store/" vmSettings.inspect.knownHostsFile
    && lib.all (
      unit:
      lib.elem "inspect-ssh-key:/run/healer-test-secrets/inspect-ssh-key" unit.serviceConfig.LoadCredential
      && lib.elem "inspect-test-key.service" unit.requires
    ) [
      (h.unit vmHealer)
      (h.doctorUnit vmHealer)
    ]
    && h.failedAssertions vmHealer == [ ]
  ) { inherit (vmSettings) hosts inspect; })
  (expect "VM test, media-01: sshd on, the healer's test key behind the forced command, a jellyfin unit, a fixed host key" (
    vmMedia.services.openssh.enable
    && h.failedAssertions vmMedia == [ ]
    && vmMedia.users.users.healer-inspect.openssh.authorizedKeys.keys == [
      ''command="${forced} ${commandsFile}",restrict ${snakeOil.snakeOilPublicKey}''
    ]
    && vmMedia.systemd.services.jellyfin.serviceConfig.Type == "oneshot"
    && vmMedia.environment.etc."ssh/ssh_host_ed25519_key".mode == "0600"
  ) vmMedia.users.users.healer-inspect.openssh.authorizedKeys.keys)
  (expect "VM test script: the broker's ssh options, the known hosts the healer uses, the agent's inspection and its event" (
    lib.all (needle: lib.hasInfix needle vmScript) [
      "-o IdentitiesOnly=yes -o BatchMode=yes"
      "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${vmSettings.inspect.knownHostsFile} "
      "-l healer-inspect media-01"
      "media_01.wait_for_unit(\"sshd.service\")"
      "assert status == 125"
      "kind = 'inspected'"
      "== inspect media-01 systemctl status jellyfin"
    ]
  ) null)
  (expect "the healer's DEFAULT_INSPECT_COMMANDS (src/hosts/commands.ts) names every default pattern, where it exists" (
    !builtins.pathExists healerCommands
    || lib.all (p: lib.hasInfix ''"${p}"'' (builtins.readFile healerCommands)) protocolDefaults
  ) (if builtins.pathExists healerCommands then "src/hosts/commands.ts lacks some" else null))
]
