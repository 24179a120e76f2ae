# What nixos/modules/services/databases/postgresql.nix adds from NixOS 25.11 on: postgresql.target,
# reached once the server is up and the ensure* scripts (postgresql-setup.service) have run. The
# harness includes it; leaving it out models NixOS 25.05, which has only postgresql.service.
{ config, lib, ... }:
{
  config = lib.mkIf config.services.postgresql.enable {
    systemd.targets.postgresql = {
      description = "PostgreSQL, with its databases and users set up";
      wants = [
        "postgresql.service"
        "postgresql-setup.service"
      ];
      after = [
        "postgresql.service"
        "postgresql-setup.service"
      ];
    };
  };
}
