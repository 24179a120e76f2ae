# Declares the NixOS options services.homelabHealer sets, with NixOS's own types and merge rules
# where they matter (systemd unit options concatenate lists and require equal scalars), so the
# module can be evaluated with nothing but nixpkgs `lib`. A unit-test stub: not NixOS.
{ lib, ... }:
let
  inherit (lib) mkOption types;

  # NixOS's systemd unitOption: lists from several definitions concatenate, a scalar defined twice
  # must agree (mkForce / mkDefault still pick a winner first).
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

  anything = mkOption {
    type = types.anything;
    default = null;
  };
  strList = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };

  service = types.submodule {
    options = {
      enable = mkOption {
        type = types.bool;
        default = true;
      };
      description = mkOption {
        type = types.str;
        default = "";
      };
      wantedBy = strList;
      requiredBy = strList;
      wants = strList;
      requires = strList;
      after = strList;
      before = strList;
      path = mkOption {
        type = types.listOf (types.either types.package types.str);
        default = [ ];
      };
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      serviceConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
      unitConfig = mkOption {
        type = types.attrsOf unitOption;
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
    };
  };

  tmpfilesRule = types.submodule {
    options = {
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
  };

  user = types.submodule {
    options = {
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
      extraGroups = strList;
      home = mkOption {
        type = types.str;
        default = "/var/empty";
      };
      createHome = mkOption {
        type = types.bool;
        default = false;
      };
      description = mkOption {
        type = types.str;
        default = "";
      };
      uid = mkOption {
        type = types.nullOr types.int;
        default = null;
      };
    };
  };

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

    systemd.services = mkOption {
      type = types.attrsOf service;
      default = { };
    };
    systemd.tmpfiles.settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.attrsOf tmpfilesRule));
      default = { };
    };
    systemd.tmpfiles.rules = strList;

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
          options.members = strList;
        }
      );
      default = { };
    };

    services.postgresql = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      package = anything;
      ensureDatabases = strList;
      ensureUsers = mkOption {
        type = types.listOf ensureUser;
        default = [ ];
      };
    };

    networking.firewall.allowedTCPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
    };

    environment.etc = mkOption {
      type = types.attrsOf (
        types.submodule {
          options.source = mkOption { type = types.either types.path types.package; };
        }
      );
      default = { };
    };
    # Only for evaluating the VM test machine: its QEMU settings are not checked here.
    virtualisation = mkOption {
      type = types.lazyAttrsOf types.anything;
      default = { };
    };

    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
  };
}
