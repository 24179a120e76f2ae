# systemd sandboxing for homelab-healer.service, after nixpkgs' immich.nix and forgejo.nix, with
# exactly the room the agent's bubblewrap sandbox needs: it runs unprivileged as the service user
# and creates a user, a mount and a PID namespace, mounts a fresh /proc in them, bind-mounts and
# pivots root. Whatever is loosened here says why.
{
  CapabilityBoundingSet = "";
  AmbientCapabilities = "";
  # Unprivileged bwrap (not setuid on NixOS) works under NoNewPrivileges.
  NoNewPrivileges = true;
  # bwrap maps the service user into its own user namespace; a PrivateUsers= namespace around the
  # service would leave it an unmapped nobody there.
  PrivateUsers = false;
  PrivateTmp = true;
  PrivateDevices = true;
  PrivateMounts = true;
  ProtectSystem = "strict";
  ProtectHome = true;
  ProtectClock = true;
  ProtectControlGroups = true;
  ProtectKernelModules = true;
  # Off, and ProtectProc=/ProcSubset= left at their defaults, for the agent sandbox: bwrap mounts a
  # fresh /proc for its PID namespace, and the kernel refuses that mount in a user namespace
  # ("mount too revealing") while the inherited /proc has any locked mount over something other than
  # an empty directory. ProtectKernelTunables= (read-only /proc/sys, /proc/bus, …), ProtectKernelLogs=
  # (/proc/kmsg), ProtectHostname= (/proc/sys/kernel/hostname, domainname) and ProtectProc= all
  # create such mounts. What they guarded stays closed: /proc/sys is read-only and /proc/kmsg
  # root-only to the unprivileged user, PrivateDevices= hides /dev/kmsg, syslog(2) is outside the
  # SystemCallFilter= allow-list below, and without CAP_SYS_ADMIN over the host's UTS namespace
  # nothing here can set the hostname.
  ProtectKernelTunables = false;
  ProtectKernelLogs = false;
  ProtectHostname = false;
  # Only the namespaces the agent sandbox creates: user, mount and PID, and a network namespace
  # of its own (bwrap --unshare-net) whose only way out is the service's egress proxy.
  RestrictNamespaces = "user mnt pid net";
  # AF_UNIX stays: the agent reaches the egress proxy through a Unix socket bound into its sandbox
  # (and the service talks to PostgreSQL over /run/postgresql and to the journal). AF_INET/AF_INET6
  # for the listener, the forge, the model endpoints and the proxy's upstream connections.
  # AF_NETLINK because `bwrap --unshare-net` brings up the new namespace's loopback over an
  # rtnetlink socket (socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) and dies without it. Without
  # CAP_NET_ADMIN over the host's network namespace such a socket can read its addresses and
  # routes but change nothing.
  RestrictAddressFamilies = [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
    "AF_NETLINK"
  ];
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  RemoveIPC = true;
  LockPersonality = true;
  # Off: V8's JIT (Node) and OpenCode's JavaScriptCore need writable+executable memory.
  MemoryDenyWriteExecute = false;
  SystemCallArchitectures = "native";
  # The usual service allow-list, plus @mount (mount, umount2, pivot_root, chroot) that bwrap uses
  # to build the agent's root; unlike the github-runner module we cannot deny @mount. capset,
  # unshare and clone are already in @system-service. Whatever the two groups do not name is
  # refused, syslog(2) among them (no group named here lists it; nix/check.sh asks systemd-analyze),
  # so a "~syslog" entry would deny nothing more. Refused calls fail with EPERM instead of killing
  # the process, so a tool probing an optional syscall degrades gracefully.
  SystemCallFilter = [
    "@system-service"
    "@mount"
  ];
  SystemCallErrorNumber = "EPERM";
  UMask = "0077";
}
