# Declares the NixOS options services.homelabHealer sets, with the semantics of NixOS's own
# declarations (nixos/lib/systemd-lib.nix, systemd-unit-options.nix, systemd/tmpfiles.nix,
# config/users-groups.nix), so that evaluating the module with nothing but nixpkgs `lib` refuses
# what real NixOS refuses: unit names in dependency lists, a one-line description, systemd's own
# Type= and Restart= values, repeatable vs single unit options, tmpfiles entries with a type,
# passwd-safe user fields. A unit-test stub: not NixOS. nix/checks/bad-values.nix proves each
# rejection.
{
  lib,
  pkgs,
  config,
  ...
}:
let
  inherit (lib) mkOption types;

  # systemd-lib.nix: a name with a unit suffix.
  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";
  unitNames = mkOption {
    type = types.listOf unitNameType;
    default = [ ];
  };

  # systemd-unit-options.nix's unitOption: lists from several definitions concatenate (a scalar
  # among them becomes a one-element list), scalars defined twice must agree; mkForce/mkDefault
  # pick a winner first.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if lib.any (def: lib.isList def.value) defs' then
        lib.concatMap (def: lib.toList def.value) defs'
      else
        lib.mergeEqualOption loc defs';
  };

  # systemd-lib.nix's checkUnitConfig + assertValueOneOf, as checkService applies them: the value
  # is looked at through mkIf/mkOverride wrappers; a bad one fails the type check after a trace
  # that names the field and the value.
  oneOf =
    name: values: attrs:
    lib.optional (
      attrs ? ${name} && !lib.elem attrs.${name} values
    ) "Systemd Service field `${name}' cannot have value `${toString attrs.${name}}'.";
  checkService =
    attrs:
    let
      defs = lib.mapAttrs (
        _: v: if v._type or "" == "override" || v._type or "" == "if" then v.content else v
      ) attrs;
      errors =
        oneOf "Type" [
          "exec"
          "simple"
          "forking"
          "oneshot"
          "dbus"
          "notify"
          "notify-reload"
          "idle"
        ] defs
        ++ oneOf "Restart" [
          "no"
          "on-success"
          "on-failure"
          "on-abnormal"
          "on-abort"
          "always"
        ] defs;
    in
    if errors == [ ] then true else builtins.trace (lib.concatStringsSep "\n" errors) false;

  unitCommon = {
    enable = mkOption {
      type = types.bool;
      default = true;
    };
    description = mkOption {
      type = types.singleLineStr;
      default = "";
    };
    documentation = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    wantedBy = unitNames;
    requiredBy = unitNames;
    wants = unitNames;
    requires = unitNames;
    after = unitNames;
    before = unitNames;
    bindsTo = unitNames;
    partOf = unitNames;
    conflicts = unitNames;
    requisite = unitNames;
    onFailure = unitNames;
    onSuccess = unitNames;
    unitConfig = mkOption {
      type = types.attrsOf unitOption;
      default = { };
    };
  };

  service = types.submodule {
    options = unitCommon // {
      path = mkOption {
        type = types.listOf (types.oneOf [ types.package types.str ]);
        default = [ ];
      };
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      serviceConfig = mkOption {
        type = types.addCheck (types.attrsOf unitOption) checkService;
        default = { };
      };
      script = mkOption {
        type = types.lines;
        default = "";
      };
      preStart = mkOption {
        type = types.lines;
        default = "";
      };
      restartTriggers = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
    };
  };

  target = types.submodule { options = unitCommon; };

  # tmpfiles.nix: settings.<config>.<path>.<type>; the entry's `type` defaults to its attribute
  # name (the tmpfiles.d(5) type letter and modifiers).
  tmpfilesRule = types.submodule (
    { name, ... }:
    {
      options = {
        type = mkOption {
          type = types.str;
          default = name;
        };
        user = mkOption {
          type = types.str;
          default = "-";
        };
        group = mkOption {
          type = types.str;
          default = "-";
        };
        mode = mkOption {
          type = types.str;
          default = "-";
        };
        age = mkOption {
          type = types.str;
          default = "-";
        };
        argument = mkOption {
          type = types.str;
          default = "";
        };
      };
    }
  );

  # users-groups.nix: fields that end up in /etc/passwd may hold neither `:` nor a newline.
  user = types.submodule (
    { name, ... }:
    {
      options = {
        name = mkOption {
          type = types.passwdEntry types.str;
          default = name;
        };
        isSystemUser = mkOption {
          type = types.bool;
          default = false;
        };
        isNormalUser = mkOption {
          type = types.bool;
          default = false;
        };
        group = mkOption {
          type = types.str;
          default = "";
        };
        extraGroups = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
        home = mkOption {
          type = types.passwdEntry types.path;
          default = "/var/empty";
        };
        createHome = mkOption {
          type = types.bool;
          default = false;
        };
        description = mkOption {
          type = types.passwdEntry types.str;
          default = "";
        };
        uid = mkOption {
          type = types.nullOr types.int;
          default = null;
        };
        useDefaultShell = mkOption {
          type = types.bool;
          default = false;
        };
        # sshd.nix's userOptions: verbatim authorized_keys lines.
        openssh.authorizedKeys.keys = mkOption {
          type = types.listOf types.singleLineStr;
          default = [ ];
        };
      };
    }
  );

  ensureUser = types.submodule {
    options = {
      name = mkOption { type = types.str; };
      ensureDBOwnership = mkOption {
        type = types.bool;
        default = false;
      };
      ensureClauses = mkOption {
        type = types.attrsOf types.anything;
        default = { };
      };
    };
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf (
        types.submodule {
          options.assertion = mkOption { type = types.bool; };
          options.message = mkOption { type = types.str; };
        }
      );
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    # The host's own builds; nixpkgs defaults both to pkgs'.
    nix.package = mkOption {
      type = types.package;
      default = pkgs.nix;
    };
    systemd.package = mkOption {
      type = types.package;
      default = pkgs.systemd;
    };

    systemd.services = mkOption {
      type = types.attrsOf service;
      default = { };
    };
    systemd.targets = mkOption {
      type = types.attrsOf target;
      default = { };
    };
    systemd.tmpfiles.settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.attrsOf tmpfilesRule));
      default = { };
    };
    systemd.tmpfiles.rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    # nixos/modules/security/misc.nix: on by default; off, no process may create a user namespace.
    security.allowUserNamespaces = mkOption {
      type = types.bool;
      default = true;
    };
    # Same file: off by default, and only a hardened kernel (linux_hardened's
    # kernel.unprivileged_userns_clone sysctl) reads it; there it must be on for unprivileged bwrap.
    security.unprivilegedUsernsClone = mkOption {
      type = types.bool;
      default = false;
    };
    # nixos/modules/system/boot/kernel.nix: a kernel package set, taken as it is; pkgs.linuxPackages by
    # default; the hardened profile sets linux_hardened's.
    boot.kernelPackages = mkOption {
      type = types.raw;
      default = pkgs.linuxPackages;
    };

    users.users = mkOption {
      type = types.attrsOf user;
      default = { };
    };
    users.groups = mkOption {
      type = types.attrsOf (
        types.submodule {
          options.gid = mkOption {
            type = types.nullOr types.int;
            default = null;
          };
          options.members = mkOption {
            type = types.listOf (types.passwdEntry types.str);
            default = [ ];
          };
        }
      );
      default = { };
    };

    services.postgresql = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      package = mkOption {
        type = types.package;
        default = pkgs.postgresql;
      };
      ensureDatabases = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      ensureUsers = mkOption {
        type = types.listOf ensureUser;
        default = [ ];
      };
    };

    # sshd.nix: off by default; extraConfig is appended verbatim to sshd_config.
    services.openssh.enable = mkOption {
      type = types.bool;
      default = false;
    };
    services.openssh.extraConfig = mkOption {
      type = types.lines;
      default = "";
    };

    networking.firewall.allowedTCPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
    };

    environment.etc = mkOption {
      type = types.attrsOf (
        types.submodule {
          options.source = mkOption { type = types.either types.path types.package; };
          # etc.nix: "symlink", or an octal mode for a copy.
          options.mode = mkOption {
            type = types.str;
            default = "symlink";
          };
        }
      );
      default = { };
    };
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };

    # Only for evaluating the VM test machine: its QEMU settings are not checked here.
    virtualisation = mkOption {
      type = types.lazyAttrsOf types.anything;
      default = { };
    };
  };

  # users-groups.nix's own assertions on every user.
  config.assertions = lib.concatLists (
    lib.mapAttrsToList (name: u: [
      {
        assertion = (u.isSystemUser || (u.uid != null && u.uid < 1000)) != u.isNormalUser;
        message = "Exactly one of users.users.${name}.isSystemUser and users.users.${name}.isNormalUser must be set.";
      }
      {
        assertion = u.group != "";
        message = "users.users.${name}.group is unset. This used to default to nogroup, but this is unsafe.";
      }
    ]) config.users.users
  );
}
