# Expectations on the unit, users, Postgres, tmpfiles and firewall the module generates.
# Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;
  pkgs = h.fakePkgs;
  healerPackage = pkgs.callPackage ../../package { };
  pinnedOpencode = pkgs.callPackage ../../package/opencode.nix { };
  inherit (import ../../package/opencode-lock.nix { inherit lib; }) testedVersion;

  secrets = {
    tokenFile = "/run/secrets/healer/token";
    githubTokenFile = "/run/secrets/healer/github-token";
    githubWebhookSecretFile = "/run/secrets/healer/webhook";
    sshKeyFile = "/run/secrets/healer/deploy-key";
    ntfyTokenFile = "/run/secrets/healer/ntfy";
  };

  forgejo = h.evalHealer [
    (h.healer {
      secrets = {
        tokenFile = "/run/secrets/healer/token";
        forgejoTokenFile = "/run/secrets/healer/forgejo-token";
        forgejoWebhookSecretFile = "/run/secrets/healer/forgejo-webhook";
      };
      settings = {
        repo.url = "ssh://forgejo@git.home.arpa/me/homelab.git";
        forge.type = "forgejo";
        forge.owner = "me";
        forge.repo = "homelab";
        forge.apiUrl = "https://git.home.arpa";
      };
    })
  ];
  forgejoService = (h.unit forgejo).serviceConfig;
  forgejoSettings = h.settingsOf forgejo;

  full = h.evalHealer [
    (h.healer {
      inherit secrets;
      environmentFile = "/run/secrets/healer/llm.env";
      openFirewall = true;
      settings = {
        listen.host = "0.0.0.0";
        repo.url = "git@github.com:me/homelab.git";
        forge.owner = "me";
        forge.repo = "homelab";
        notify.ntfy = {
          url = "https://ntfy.sh";
          topic = "homelab";
        };
        agent.model = "anthropic/claude-sonnet-4-5";
        # Freeform keys (issue 11's egress allowlist) pass through untyped.
        agent.network = "allowlist";
        agent.allowedHosts = [ "192.168.1.20:11434" ];
        triage.settleSeconds = 0;
      };
    })
    # What a user adds on top: list-valued unit options concatenate, as in NixOS.
    {
      systemd.services.homelab-healer.serviceConfig = {
        SystemCallFilter = [ "~@resources" ];
        ReadWritePaths = [ "/srv/homelab.git" ];
      };
    }
  ];
  fullUnit = h.unit full;
  fullService = fullUnit.serviceConfig;
  fullSettings = h.settingsOf full;
  fullJson = builtins.toJSON fullSettings;

  minimal = h.evalHealer [
    (h.healer {
      database.createLocally = false;
      checkConfig = false;
      secrets.tokenFile = "/run/secrets/healer/token";
    })
  ];
  minimalUnit = h.unit minimal;

  fullDoctor = h.doctorUnit full;

  # NixOS 25.05: no postgresql.target.
  release2505 = h.evalWith { release = "25.05"; } [
    (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; })
  ];

  # A host whose nix and systemd are not pkgs' own.
  hostTools = h.evalHealer [
    (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; })
    {
      nix.package = pkgs.fakeDrv "nix-2.28.4-host" { meta.mainProgram = "nix"; };
      systemd.package = pkgs.fakeDrv "systemd-257.9-host" { meta.mainProgram = "systemctl"; };
    }
  ];

  # nixpkgs' own opencode, another version than the tested one.
  otherAgent = h.evalHealer [
    (h.healer {
      secrets.tokenFile = "/run/secrets/healer/token";
      agentPackage = pkgs.opencode;
    })
  ];

  noUserNamespaces = h.evalHealer [
    (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; })
    { security.allowUserNamespaces = false; }
  ];
  noUserNamespacesNoSandbox = h.evalHealer [
    (h.healer {
      secrets.tokenFile = "/run/secrets/healer/token";
      settings.agent.sandbox = "none";
    })
    { security.allowUserNamespaces = false; }
  ];

  exe = pkg: lib.getExe pkg;
  checkScript = (h.configFile full).fake.script;
in
[
  (expectEq "ExecStart runs `serve` on the build-time-checked config"
    "${exe healerPackage} serve --config ${h.configFile full}"
    fullService.ExecStart
  )
  (expect "the config is checked at build time with `check-config --shape-only`" (
    lib.hasInfix ''homelab-healer check-config --shape-only --config "$config"'' checkScript
    && (h.configFile full).fake.env.nativeBuildInputs == [ healerPackage ]
  ) checkScript)
  (expectEq "checkConfig = false uses the raw generated file" "homelab-healer.json"
    (h.configFile minimal).name
  )
  (expectEq "every secret is a LoadCredential, the LLM env file included"
    [
      "agent-env:/run/secrets/healer/llm.env"
      "github-token:/run/secrets/healer/github-token"
      "github-webhook-secret:/run/secrets/healer/webhook"
      "ntfy-token:/run/secrets/healer/ntfy"
      "ssh-key:/run/secrets/healer/deploy-key"
      "token:/run/secrets/healer/token"
    ]
    (lib.sort lib.lessThan fullService.LoadCredential)
  )
  (expectEq "the settings name the credentials, relative to $CREDENTIALS_DIRECTORY"
    {
      auth = "token";
      webhook = "github-webhook-secret";
      forge = "github-token";
      ssh = "ssh-key";
      ntfy = "ntfy-token";
      agentEnv = "agent-env";
    }
    {
      auth = fullSettings.auth.tokenFile;
      webhook = fullSettings.auth.github.webhookSecretFile;
      forge = fullSettings.forge.tokenFile;
      ssh = fullSettings.repo.sshKeyFile;
      ntfy = fullSettings.notify.ntfy.tokenFile;
      agentEnv = fullSettings.agent.environmentFile;
    }
  )
  (expectEq "Forgejo: its token and webhook secret are LoadCredentials the settings name"
    {
      creds = [
        "forgejo-token:/run/secrets/healer/forgejo-token"
        "forgejo-webhook-secret:/run/secrets/healer/forgejo-webhook"
        "token:/run/secrets/healer/token"
      ];
      forge = "forgejo-token";
      webhook = "forgejo-webhook-secret";
    }
    {
      creds = lib.sort lib.lessThan forgejoService.LoadCredential;
      forge = forgejoSettings.forge.tokenFile;
      webhook = forgejoSettings.auth.forgejo.webhookSecretFile;
    }
  )
  (expect "no secret path appears in the generated config" (!lib.hasInfix "/run/secrets" fullJson) fullJson)
  (expect "the LLM keys never reach the service's own environment: it holds only the heap bound" (
    !(fullService ? EnvironmentFile)
    && fullUnit.environment == { NODE_OPTIONS = "--max-old-space-size=256"; }
  ) fullUnit.environment)
  (expect "no null is written: unset options are left to the program's defaults" (
    !lib.hasInfix "null" (builtins.toJSON (h.settingsOf minimal))
  ) (h.settingsOf minimal))
  (expectEq "the generated settings carry the fixed state dir, local database and OpenCode"
    {
      stateDir = "/var/lib/homelab-healer";
      url = "postgresql:///homelab-healer?host=/run/postgresql";
      command = exe pinnedOpencode;
      settle = 0;
    }
    {
      inherit (fullSettings) stateDir;
      inherit (fullSettings.database) url;
      inherit (fullSettings.agent) command;
      settle = fullSettings.triage.settleSeconds;
    }
  )
  (expectEq "NixOS 25.11: wants and is ordered after postgresql.target, never requires it (a PostgreSQL restart must not bounce the service)"
    {
      wants = [
        "network-online.target"
        "postgresql.target"
      ];
      after = [
        "network-online.target"
        "postgresql.target"
      ];
      requires = [ ];
      bindsTo = [ ];
      partOf = [ ];
    }
    { inherit (fullUnit) wants after requires bindsTo partOf; }
  )
  (expectEq "NixOS 25.05 (no postgresql.target): wants and is ordered after postgresql.service"
    {
      wants = [
        "network-online.target"
        "postgresql.service"
      ];
      after = [
        "network-online.target"
        "postgresql.service"
      ];
      requires = [ ];
    }
    { inherit (h.unit release2505) wants after requires; }
  )
  (expect "without createLocally: no Postgres dependency, no database URL" (
    !(lib.any (lib.hasPrefix "postgresql") (minimalUnit.after ++ minimalUnit.wants))
    && minimalUnit.requires == [ ]
    && !((h.settingsOf minimal).database ? url)
    && !minimal.services.postgresql.enable
  ) { inherit (minimalUnit) after wants requires; })
  (expectEq "KillMode=mixed: systemd's SIGTERM reaches only the service, which ends the agent in its own order"
    {
      KillMode = "mixed";
      TimeoutStopSec = 120;
    }
    { inherit (fullService) KillMode TimeoutStopSec; }
  )
  (expectEq "the default agent is the pinned OpenCode, the version the tests run"
    {
      version = testedVersion;
      name = "opencode-${testedVersion}";
      command = exe pinnedOpencode;
      warnings = [ ];
    }
    {
      inherit (full.services.homelabHealer.agentPackage) version name;
      command = fullSettings.agent.command;
      warnings = full.warnings;
    }
  )
  (expect "another agentPackage version is used, with a warning naming the tested version" (
    (h.settingsOf otherAgent).agent.command == exe pkgs.opencode
    && lib.any (
      w: lib.hasInfix "opencode-1.0.150" w && lib.hasInfix "tested with OpenCode ${testedVersion}" w
    ) otherAgent.warnings
  ) otherAgent.warnings)
  (expectEq "nix and systemd on the PATH are the host's (config.nix.package, config.systemd.package)"
    [
      "nix-2.28.4-host"
      "systemd-257.9-host"
    ]
    (map (p: p.name) (lib.filter (p: lib.hasSuffix "-host" p.name) (h.unit hostTools).path))
  )
  (expect "security.allowUserNamespaces = false is refused while the sandbox is bubblewrap, saying why" (
    lib.any (lib.hasInfix "bubblewrap sandbox needs unprivileged user namespaces") (
      h.failedAssertions noUserNamespaces
    )
  ) (h.failedAssertions noUserNamespaces))
  (expectEq "with agent.sandbox = \"none\" user namespaces may be off" [ ] (
    h.failedAssertions noUserNamespacesNoSandbox
  ))
  (expectEq "agent.network and agent.allowedHosts pass through the freeform settings"
    {
      network = "allowlist";
      allowedHosts = [ "192.168.1.20:11434" ];
    }
    { inherit (fullSettings.agent) network allowedHosts; }
  )
  (expect "the doctor unit runs `doctor` as the service runs: same user, credentials, sandboxing, PATH and ordering" (
    fullDoctor.serviceConfig.ExecStart == "${exe healerPackage} doctor --config ${h.configFile full}"
    && fullDoctor.serviceConfig.Type == "oneshot"
    && fullDoctor.wantedBy == [ ]
    && fullDoctor.path == fullUnit.path
    && fullDoctor.wants == fullUnit.wants
    && fullDoctor.after == fullUnit.after
    &&
      removeAttrs fullDoctor.serviceConfig [
        "ExecStart"
        "Type"
        "TimeoutStartSec"
        # The user's additions in this case went to the service only.
        "SystemCallFilter"
        "ReadWritePaths"
      ] == removeAttrs fullService [
        "ExecStart"
        "Type"
        "Restart"
        "RestartSec"
        "KillMode"
        "TimeoutStopSec"
        "SystemCallFilter"
        "ReadWritePaths"
      ]
  ) fullDoctor.serviceConfig)
  (expectEq "Postgres gets the database and its owner role"
    {
      enable = true;
      dbs = [ "homelab-healer" ];
      users = [
        {
          name = "homelab-healer";
          ensureDBOwnership = true;
          ensureClauses = { };
        }
      ];
    }
    {
      inherit (full.services.postgresql) enable;
      dbs = full.services.postgresql.ensureDatabases;
      users = full.services.postgresql.ensureUsers;
    }
  )
  (expectEq "a static system user in systemd-journal, with its own group"
    {
      user = "homelab-healer";
      group = "homelab-healer";
      system = true;
      groups = [ "systemd-journal" ];
      hasGroup = true;
    }
    {
      user = fullService.User;
      group = fullService.Group;
      system = full.users.users.homelab-healer.isSystemUser;
      groups = full.users.users.homelab-healer.extraGroups;
      hasGroup = full.users.groups ? homelab-healer;
    }
  )
  (expectEq "StateDirectory, restart on failure"
    {
      StateDirectory = "homelab-healer";
      StateDirectoryMode = "0700";
      Restart = "on-failure";
      WorkingDirectory = "/var/lib/homelab-healer";
    }
    {
      inherit (fullService)
        StateDirectory
        StateDirectoryMode
        Restart
        WorkingDirectory
        ;
    }
  )
  (expectEq "hardening: locked down, with room for bubblewrap and V8"
    {
      NoNewPrivileges = true;
      CapabilityBoundingSet = "";
      ProtectSystem = "strict";
      ProtectHome = true;
      PrivateTmp = true;
      PrivateDevices = true;
      RestrictSUIDSGID = true;
      SystemCallArchitectures = "native";
      UMask = "0077";
      PrivateUsers = false;
      RestrictNamespaces = "user mnt pid net";
      ProtectKernelTunables = false;
      ProtectKernelLogs = false;
      ProtectHostname = false;
      MemoryDenyWriteExecute = false;
    }
    (
      lib.getAttrs [
        "NoNewPrivileges"
        "CapabilityBoundingSet"
        "ProtectSystem"
        "ProtectHome"
        "PrivateTmp"
        "PrivateDevices"
        "RestrictSUIDSGID"
        "SystemCallArchitectures"
        "UMask"
        "PrivateUsers"
        "RestrictNamespaces"
        "ProtectKernelTunables"
        "ProtectKernelLogs"
        "ProtectHostname"
        "MemoryDenyWriteExecute"
      ] fullService
    )
  )
  (expect "address families: AF_UNIX kept (the egress proxy socket), AF_NETLINK for the sandbox's loopback" (
    lib.all (f: lib.elem f fullService.RestrictAddressFamilies) [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
      "AF_NETLINK"
    ]
  ) fullService.RestrictAddressFamilies)
  (expectEq "unit list options concatenate with the user's (real unitOption merge)"
    [
      "@system-service"
      "@mount"
      "~@resources"
    ]
    fullService.SystemCallFilter
  )
  (expect "ProtectProc/ProcSubset stay unset: bwrap must be able to mount /proc" (
    !(fullService ? ProtectProc) && !(fullService ? ProcSubset)
  ) fullService)
  (expectEq "bubblewrap and the extra packages are on the PATH"
    (with pkgs; [
      bubblewrap
      git
      openssh
      nix
      systemd
      ripgrep
    ])
    fullUnit.path
  )
  (expectEq "tmpfiles keeps the state dir private (an `e` entry: adjust, never create)"
    {
      type = "e";
      user = "homelab-healer";
      group = "homelab-healer";
      mode = "0700";
      age = "-";
      argument = "";
    }
    full.systemd.tmpfiles.settings.homelab-healer."/var/lib/homelab-healer".e
  )
  (expectEq "openFirewall opens the listen port" [ 8470 ] full.networking.firewall.allowedTCPPorts)
  (expectEq "the firewall stays closed by default" [ ] minimal.networking.firewall.allowedTCPPorts)
  (expectEq "a correct config has no failed assertion and no warning"
    {
      assertions = [ ];
      warnings = [ ];
    }
    {
      assertions = h.failedAssertions full;
      warnings = full.warnings;
    }
  )
]
