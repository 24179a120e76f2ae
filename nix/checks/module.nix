# Expectations on the unit, users, Postgres, tmpfiles and firewall the module generates.
# Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;
  pkgs = h.fakePkgs;

  secrets = {
    tokenFile = "/run/secrets/healer/token";
    githubTokenFile = "/run/secrets/healer/github-token";
    githubWebhookSecretFile = "/run/secrets/healer/webhook";
    sshKeyFile = "/run/secrets/healer/deploy-key";
    ntfyTokenFile = "/run/secrets/healer/ntfy";
  };

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

  exe = pkg: lib.getExe pkg;
  checkScript = (h.configFile full).fake.script;
in
[
  (expectEq "ExecStart runs `serve` on the build-time-checked config"
    "${exe pkgs.homelab-healer} serve --config ${h.configFile full}"
    fullService.ExecStart
  )
  (expect "the config is checked at build time with `check-config --shape-only`" (
    lib.hasInfix ''homelab-healer check-config --shape-only --config "$config"'' checkScript
    && (h.configFile full).fake.env.nativeBuildInputs == [ pkgs.homelab-healer ]
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
  (expect "no secret path appears in the generated config" (!lib.hasInfix "/run/secrets" fullJson) fullJson)
  (expect "the LLM keys never reach the service's own environment" (
    !(fullService ? EnvironmentFile) && fullUnit.environment == { }
  ) fullUnit.environment)
  (expect "no null is written: unset options are left to the program's defaults" (
    !lib.hasInfix "null" (builtins.toJSON (h.settingsOf minimal))
  ) (h.settingsOf minimal))
  (expectEq "the generated settings carry the fixed state dir, local database and OpenCode"
    {
      stateDir = "/var/lib/homelab-healer";
      url = "postgresql:///homelab-healer?host=/run/postgresql";
      command = exe pkgs.opencode;
      settle = 0;
    }
    {
      inherit (fullSettings) stateDir;
      inherit (fullSettings.database) url;
      inherit (fullSettings.agent) command;
      settle = fullSettings.triage.settleSeconds;
    }
  )
  (expect "ordered after and requiring postgresql.target" (
    lib.elem "postgresql.target" fullUnit.after && lib.elem "postgresql.target" fullUnit.requires
  ) { inherit (fullUnit) after requires; })
  (expect "without createLocally: no Postgres dependency, no database URL" (
    !(lib.elem "postgresql.target" minimalUnit.after)
    && minimalUnit.requires == [ ]
    && !((h.settingsOf minimal).database ? url)
    && !minimal.services.postgresql.enable
  ) { inherit (minimalUnit) after requires; })
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
      RestrictNamespaces = "user mnt pid";
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
  (expectEq "unit list options concatenate with the user's (real unitOption merge)"
    [
      "@system-service"
      "@mount"
      "~syslog"
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
  (expectEq "tmpfiles keeps the state dir private"
    {
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
