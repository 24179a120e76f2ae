# services.homelabHealer.inspectTarget: a host homelab-healer's agent may inspect, read-only, over
# SSH. The account `healer-inspect` (in systemd-journal, no password, no home) takes the healer's
# keys only with a forced command: homelab-healer-inspect checks each command against this host's
# own list and runs it without a shell, so the list holds even against a compromised healer.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;

  cfg = config.services.homelabHealer.inspectTarget;
  user = "healer-inspect";

  # The same list as the healer's `inspect.commands` default: this host must not depend on it.
  defaultCommands = [
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

  # One line of the commands file: a leading `#` would make it a comment, surrounding blanks a
  # pattern no command matches, and a control character one no argument may hold.
  patternType = types.str // {
    name = "inspectPattern";
    description = "command pattern (one line; `*` and `?` are the wildcards; no leading `#`, no surrounding spaces)";
    check =
      p:
      lib.isString p && builtins.match "[^#[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?" p != null;
  };

  # A bare public key: the module puts its own options (the forced command) in front of it.
  publicKeyType = types.str // {
    name = "sshPublicKey";
    description = "OpenSSH public key line without options (`ssh-ed25519 AAAA… comment`)";
    check =
      k:
      lib.isString k
      && builtins.match "(ssh-[a-z0-9-]+|ecdsa-sha2-nistp[0-9]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,2}( [^[:cntrl:]]*)?" k != null;
  };

  # The program's own tools (base64, logger) from the store; the commands it runs come from the
  # system PATH it sets itself (/run/current-system/sw/bin, /run/wrappers/bin).
  toolsLine = {
    from = "PATH=/run/current-system/sw/bin:/usr/bin:/bin";
    to = "PATH=${lib.makeBinPath [ pkgs.coreutils pkgs.util-linux ]}";
  };
  shebang = {
    from = "#!/bin/sh";
    to = "#!${pkgs.runtimeShell}";
  };

  program = pkgs.runCommand "homelab-healer-inspect" {
    src = ../share/inspect/homelab-healer-inspect;
    meta.mainProgram = "homelab-healer-inspect";
  } ''
    install -D -m 0755 "$src" "$out/bin/homelab-healer-inspect"
    substituteInPlace "$out/bin/homelab-healer-inspect" \
      --replace-fail ${lib.escapeShellArg shebang.from} ${lib.escapeShellArg shebang.to} \
      --replace-fail ${lib.escapeShellArg toolsLine.from} ${lib.escapeShellArg toolsLine.to}
  '';

  # In /etc, where the owner can read what the healer may run here.
  commandsFile = "/etc/homelab-healer-inspect/commands";
  forcedCommand = "${lib.getExe cfg.package} ${commandsFile}";
in
{
  options.services.homelabHealer.inspectTarget = {
    enable = lib.mkEnableOption ''
      read-only inspection of this host by homelab-healer's agent, over SSH as `${user}`, through
      the forced command homelab-healer-inspect and this host's own command list
    '';

    authorizedKeys = mkOption {
      type = types.listOf publicKeyType;
      default = [ ];
      example = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… homelab-healer inspect" ];
      description = ''
        Public keys of the healer's inspect key (`inspect.sshKeyFile`). Each is installed for
        `${user}` as `command="homelab-healer-inspect <commands>",restrict <key>`: no shell, no
        forwarding, no terminal.
      '';
    };

    commands = mkOption {
      type = types.listOf patternType;
      default = defaultCommands;
      description = ''
        What the healer may run here, as patterns on the command and its arguments joined by one
        space: `*` matches any run of characters, `?` one, everything else itself (OpenCode's
        wildcard, as the healer's `inspect.commands`). `journalctl *` does not match a bare
        `journalctl`. The healer checks its own list first; this one is the host's.
      '';
    };

    package = mkOption {
      type = types.package;
      default = program;
      defaultText = lib.literalMD "`share/inspect/homelab-healer-inspect` with its shell and tools from the store";
      description = "The forced command, a POSIX shell script (its `bin/homelab-healer-inspect`).";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = config.services.openssh.enable;
        message = ''
          services.homelabHealer.inspectTarget needs an SSH server: the healer reaches this host over
          SSH. Set services.openssh.enable = true (this module does not turn sshd on for you).
        '';
      }
      {
        assertion = cfg.authorizedKeys != [ ];
        message = ''
          services.homelabHealer.inspectTarget.authorizedKeys is empty: add the public half of the
          healer's inspect.sshKeyFile (ssh-keygen -y -f <key>), or nothing can inspect this host.
        '';
      }
    ];

    warnings = lib.optional (cfg.commands == [ ]) ''
      services.homelabHealer.inspectTarget.commands is empty: every inspection of this host is refused.
    '';

    users.users.${user} = {
      isSystemUser = true;
      group = user;
      # journalctl and `systemctl status` show the whole journal to this group.
      extraGroups = [ "systemd-journal" ];
      description = "homelab-healer read-only inspection";
      home = "/var/empty";
      createHome = false;
      # sshd runs the forced command through the account's shell: nologin would refuse it.
      useDefaultShell = true;
      openssh.authorizedKeys.keys = map (key: ''command="${forcedCommand}",restrict ${key}'') cfg.authorizedKeys;
    };
    users.groups.${user} = { };

    environment.etc."homelab-healer-inspect/commands".source = pkgs.writeText "homelab-healer-inspect-commands" (
      lib.concatLines cfg.commands
    );

    # Whatever key reaches this account (another module's, keyFiles), sshd runs only the program.
    services.openssh.extraConfig = ''
      Match User ${user}
        ForceCommand ${forcedCommand}
        PermitTTY no
        AllowTcpForwarding no
        AllowStreamLocalForwarding no
        AllowAgentForwarding no
        X11Forwarding no
        PermitTunnel no
      Match All
    '';
  };
}
