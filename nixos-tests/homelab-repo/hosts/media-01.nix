{ ... }:
{
  networking.hostName = "media-01";

  services.jellyfin.enable = true;

  # The media share is readable by the "media" group.
  users.groups.media = { };
  fileSystems."/mnt/media" = {
    device = "nas:/media";
    fsType = "nfs";
  };
}
