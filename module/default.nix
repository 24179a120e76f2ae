# services.homelabHealer: alert webhooks in, an OpenCode agent repairs the homelab flake in a
# worktree, a pull request out. Options and their wiring; the unit's sandboxing is ./hardening.nix.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkEnableOption
    mkIf
    mkOption
    types
    ;

  cfg = config.services.homelabHealer;
  format = pkgs.formats.json { };
  name = "homelab-healer";
  stateDir = "/var/lib/${name}";

  # The OpenCode every test of the project runs, as package-lock.json pins it.
  inherit (import ../package/opencode-lock.nix { inherit lib; }) testedVersion;

  # postgresql.target (NixOS >= 25.11) is reached once the server is up and its ensure* scripts
  # have run; before 25.11 there is only postgresql.service, whose start includes them.
  postgresqlUnit =
    if config.systemd.targets ? postgresql then "postgresql.target" else "postgresql.service";

  # A path given as a string, so the secret is never copied into the world-readable Nix store
  # (a path literal like ./token would be).
  secretPathType = types.nullOr (
    types.str
    // {
      name = "secretPath";
      description = "absolute path to a file outside the Nix store, given as a string";
      check = p: lib.isString p && lib.hasPrefix "/" p;
    }
  );
  secretOption =
    { example, text }:
    mkOption {
      type = secretPathType;
      default = null;
      example = "/run/secrets/homelab-healer/${example}";
      description = text;
    };

  # secret option -> the LoadCredential name the generated settings refer to. A relative `*File`
  # name is looked up in $CREDENTIALS_DIRECTORY by the program.
  credentialNames = {
    tokenFile = "token";
    githubTokenFile = "github-token";
    githubWebhookSecretFile = "github-webhook-secret";
    forgejoTokenFile = "forgejo-token";
    forgejoWebhookSecretFile = "forgejo-webhook-secret";
    sshKeyFile = "ssh-key";
    ntfyTokenFile = "ntfy-token";
    inspectSshKeyFile = "inspect-ssh-key";
    inspectKnownHostsFile = "inspect-known-hosts";
    viewerTokenFile = "viewer-token";
  };
  agentEnvCredential = "agent-env";

  credentials =
    lib.mapAttrsToList (opt: cred: "${cred}:${cfg.secrets.${opt}}") (
      lib.filterAttrs (opt: _: cfg.secrets.${opt} != null) credentialNames
    )
    ++ lib.optional (cfg.environmentFile != null) "${agentEnvCredential}:${cfg.environmentFile}";

  credentialFor = opt: mkIf (cfg.secrets.${opt} != null) credentialNames.${opt};

  secretPaths =
    lib.filter (p: p != null) (lib.attrValues cfg.secrets)
    ++ lib.optional (cfg.environmentFile != null) cfg.environmentFile;

  # `*File` keys set directly in settings must not point into the store either.
  settingsSecretPaths = lib.collect lib.isString (
    lib.mapAttrsRecursive (
      path: v: if lib.hasSuffix "File" (lib.last path) && lib.last path != "knownHostsFile" then v else null
    ) cfg.settings
  );

  sandboxed = (cfg.settings.agent.sandbox or "bubblewrap") == "bubblewrap";

  # Whether the agent run is agentPackage's program. Only then does its version matter: a host that
  # sets settings.agent.command to something else gets no warning, and (on aarch64, where the
  # default agentPackage cannot be built) never makes Nix evaluate the package's path. The warning
  # tests the version first, so the tested default is not evaluated beyond its version.
  agentFromPackage =
    cfg.agentPackage ? meta.mainProgram && cfg.settings.agent.command == lib.getExe cfg.agentPackage;

  # Unset typed options are null; the program's defaults apply to keys that are absent.
  settingsJson = lib.filterAttrsRecursive (_: v: v != null) cfg.settings;
  rawConfigFile = format.generate "${name}.json" settingsJson;

  # Ordering shared by the service and its doctor unit. PostgreSQL is wanted, not required: with
  # `requires`, systemd would stop or restart homelab-healer whenever PostgreSQL is stopped or
  # restarted, dropping alerts in flight and killing a running agent. The service copes on its
  # own: while the database is away it answers 503 (senders retry) and reconnects when it is back.
  unitDeps = {
    wants = [ "network-online.target" ] ++ lib.optional cfg.database.createLocally postgresqlUnit;
    after = [ "network-online.target" ] ++ lib.optional cfg.database.createLocally postgresqlUnit;
  };

  # ssh reaches the hosts under settings.hosts (the broker runs it outside the sandbox); after
  # extraPackages, so an openssh of the owner's choice there wins.
  path =
    [ pkgs.bubblewrap ]
    ++ cfg.extraPackages
    ++ lib.optional ((cfg.settings.hosts or { }) != { }) pkgs.openssh;

  # Everything but how the process is run: ./hardening.nix, the user, credentials and state dir.
  serviceConfig = import ./hardening.nix // {
    User = name;
    Group = name;
    LoadCredential = credentials;
    StateDirectory = name;
    StateDirectoryMode = "0700";
    WorkingDirectory = stateDir;
  };

  # The package validates its own config at build time, without reading any secret.
  configFile =
    if cfg.checkConfig then
      pkgs.runCommand "${name}-checked.json"
        {
          nativeBuildInputs = [ cfg.package ];
          config = rawConfigFile;
          preferLocalBuild = true;
        }
        ''
          homelab-healer check-config --shape-only --config "$config"
          cp "$config" "$out"
        ''
    else
      rawConfigFile;
in
{
  options.services.homelabHealer = {
    enable = mkEnableOption "homelab-healer, the self-healing control plane for a NixOS homelab";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package { }";
      description = "The homelab-healer package.";
    };

    agentPackage = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package/opencode.nix { };
      defaultText = lib.literalMD "OpenCode ${testedVersion}, the npm build package-lock.json pins (`package/opencode.nix`)";
      example = lib.literalExpression "pkgs.opencode";
      description = ''
        The agent; `settings.agent.command` defaults to its main program. The default is the exact
        OpenCode the project is tested with (its command line, permission handling and event stream
        were learned on it); another version works if its flags did not change, and gets a warning.
      '';
    };

    settings = mkOption {
      type = import ./settings.nix { inherit lib format; };
      default = { };
      description = ''
        The config file (JSON, keys as in the program's `src/config/schema.ts`). Secret files are
        set through {option}`services.homelabHealer.secrets`, which fills in the `*File` keys.
      '';
    };

    checkConfig = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Validate the generated config at build time with `homelab-healer check-config
        --shape-only`. Turn off only when the build machine cannot run the package (cross builds).
      '';
    };

    database.createLocally = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Create the `homelab-healer` database and role in the local PostgreSQL, reached over
        `/run/postgresql` with peer authentication (no password).
      '';
    };

    secrets = {
      tokenFile = secretOption {
        example = "token";
        text = "Bearer token for `/hooks/*` and `/api/*` (`auth.tokenFile`).";
      };
      githubTokenFile = secretOption {
        example = "github-token";
        text = "GitHub token that pushes branches and opens pull requests (`forge.tokenFile`).";
      };
      githubWebhookSecretFile = secretOption {
        example = "github-webhook-secret";
        text = "Enables `POST /hooks/github`, signed with this secret (`auth.github.webhookSecretFile`).";
      };
      forgejoTokenFile = secretOption {
        example = "forgejo-token";
        text = "Forgejo/Gitea access token (scopes write:repository and write:issue) that opens pull requests (`forge.tokenFile` when `forge.type` is `forgejo` or `gitea`).";
      };
      forgejoWebhookSecretFile = secretOption {
        example = "forgejo-webhook-secret";
        text = "Enables `POST /hooks/forgejo` (Forgejo and Gitea), signed with this secret (`auth.forgejo.webhookSecretFile`).";
      };
      sshKeyFile = secretOption {
        example = "deploy-key";
        text = "SSH deploy key used to push to `repo.url` (`repo.sshKeyFile`).";
      };
      ntfyTokenFile = secretOption {
        example = "ntfy-token";
        text = "Access token for `notify.ntfy` (`notify.ntfy.tokenFile`).";
      };
      inspectSshKeyFile = secretOption {
        example = "inspect-key";
        text = ''
          Private key (`ssh-keygen -t ed25519`) of the read-only inspect account on the hosts under
          `settings.hosts` (`inspect.sshKeyFile`); its public half goes into each host's
          `services.homelabHealer.inspectTarget.authorizedKeys`. Never visible to the agent.
        '';
      };
      inspectKnownHostsFile = secretOption {
        example = "inspect-known-hosts";
        text = ''
          known_hosts lines for every host under `settings.hosts` (`inspect.knownHostsFile`): no
          trust on first use, an unknown or changed host key is refused.
        '';
      };
      viewerTokenFile = secretOption {
        example = "viewer-token";
        text = "Read-only token for the web page: signs in without any action (`auth.viewerTokenFile`).";
      };
    };

    environmentFile = mkOption {
      type = secretPathType;
      default = null;
      example = "/run/secrets/homelab-healer/llm.env";
      description = ''
        `KEY=value` lines (LLM API keys) given to the agent only (`agent.environmentFile`). It is
        passed as a credential, never as the service's own environment.
      '';
    };

    extraPackages = mkOption {
      type = types.listOf types.package;
      # The host's own nix and systemd: the agent inspects this host, whose nix daemon and systemd
      # may be other builds than pkgs'.
      default = [
        pkgs.git
        pkgs.openssh
        config.nix.package
        config.systemd.package
        pkgs.ripgrep
      ];
      defaultText = lib.literalExpression "[ pkgs.git pkgs.openssh config.nix.package config.systemd.package pkgs.ripgrep ]";
      description = "Tools on the service's and the agent's PATH (ripgrep is OpenCode's search; openssh pushes and reaches the hosts under `settings.hosts`).";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open `settings.listen.port` in the firewall, for alert senders on other hosts.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = lib.all (p: !lib.hasPrefix builtins.storeDir p) (secretPaths ++ settingsSecretPaths);
        message = ''
          services.homelabHealer: secret files must not lie in the Nix store (it is world-readable):
          ${lib.concatStringsSep ", " (
            lib.filter (lib.hasPrefix builtins.storeDir) (secretPaths ++ settingsSecretPaths)
          )}
        '';
      }
      {
        assertion = cfg.settings.auth ? tokenFile;
        message = "services.homelabHealer: set secrets.tokenFile, the bearer token alert senders use.";
      }
      {
        assertion =
          cfg.settings.forge.type == "github" && cfg.settings.repo.url != null -> cfg.settings.forge ? tokenFile;
        message = "services.homelabHealer: forge.type = \"github\" with a repo.url needs secrets.githubTokenFile.";
      }
      {
        # linux_hardened (the hardened profile's kernel) lets only privileged processes create user
        # namespaces unless kernel.unprivileged_userns_clone is 1, which NixOS sets from
        # security.unprivilegedUsernsClone (default false; nixos/modules/security/misc.nix). Other
        # kernels have no such sysctl. `isHardened` is the kernel's passthru flag
        # (pkgs/os-specific/linux/kernel/generic.nix, set by hardenedKernelFor in
        # pkgs/top-level/linux-kernels.nix); a kernel built otherwise may lack it.
        assertion =
          sandboxed && (config.boot.kernelPackages.kernel.isHardened or false)
          -> config.security.unprivilegedUsernsClone;
        message = ''
          services.homelabHealer: the agent's bubblewrap sandbox needs unprivileged user namespaces,
          and this host's hardened kernel (${config.boot.kernelPackages.kernel.name or "linux_hardened"}) allows them only with
          security.unprivilegedUsernsClone = true: without it every repair would fail at its start.
          Set it, or set settings.agent.sandbox = "none" (the agent then runs unsandboxed and can
          read the service's credentials).
        '';
      }
      {
        assertion =
          lib.elem cfg.settings.forge.type [ "forgejo" "gitea" ] && cfg.settings.repo.url != null
          -> cfg.secrets.forgejoTokenFile != null;
        message = "services.homelabHealer: forge.type = \"${cfg.settings.forge.type}\" with a repo.url needs secrets.forgejoTokenFile.";
      }
      {
        assertion = cfg.secrets.githubTokenFile == null || cfg.secrets.forgejoTokenFile == null;
        message = "services.homelabHealer: set secrets.githubTokenFile or secrets.forgejoTokenFile, not both (one forge.tokenFile).";
      }
      {
        assertion = sandboxed -> config.security.allowUserNamespaces;
        message = ''
          services.homelabHealer: the agent's bubblewrap sandbox needs unprivileged user namespaces
          (bwrap is not setuid on NixOS), and security.allowUserNamespaces = false forbids them: every
          repair would fail at its start. Allow them, or set settings.agent.sandbox = "none" (the
          agent then runs unsandboxed and can read the service's credentials).
        '';
      }
    ];

    warnings =
      lib.optional (cfg.openFirewall && cfg.settings.listen.host == "127.0.0.1") ''
        services.homelabHealer.openFirewall is set but settings.listen.host is 127.0.0.1: nothing
        outside this host can reach the port.
      ''
      ++ lib.optional ((cfg.agentPackage.version or null) != testedVersion && agentFromPackage) ''
        services.homelabHealer.agentPackage is ${cfg.agentPackage.name or "a package without a name"}, but
        homelab-healer is tested with OpenCode ${testedVersion} (the default): its command line,
        permission handling and event stream may differ on this version.
      '';

    services.homelabHealer.settings = {
      database.url = mkIf cfg.database.createLocally (
        lib.mkDefault "postgresql:///${name}?host=/run/postgresql"
      );
      auth.tokenFile = credentialFor "tokenFile";
      auth.github.webhookSecretFile = credentialFor "githubWebhookSecretFile";
      auth.viewerTokenFile = credentialFor "viewerTokenFile";
      auth.forgejo.webhookSecretFile = credentialFor "forgejoWebhookSecretFile";
      forge.tokenFile =
        if cfg.secrets.forgejoTokenFile != null then
          credentialFor "forgejoTokenFile"
        else
          credentialFor "githubTokenFile";
      repo.sshKeyFile = credentialFor "sshKeyFile";
      notify = mkIf (cfg.secrets.ntfyTokenFile != null) { ntfy.tokenFile = credentialNames.ntfyTokenFile; };
      inspect.sshKeyFile = credentialFor "inspectSshKeyFile";
      inspect.knownHostsFile = credentialFor "inspectKnownHostsFile";
      agent.command = lib.mkDefault (
        if lib.meta.availableOn pkgs.stdenv.hostPlatform cfg.agentPackage then
          lib.getExe cfg.agentPackage
        else
          # Said here rather than by nixpkgs' "not available on the requested hostPlatform" for
          # the package: the fix is an option of this module.
          throw ''
            services.homelabHealer: agentPackage (${cfg.agentPackage.name or "the agent"}) has no build for ${pkgs.stdenv.hostPlatform.system} (its meta.platforms: ${lib.concatStringsSep ", " (map (p: if lib.isString p then p else builtins.toJSON p) (cfg.agentPackage.meta.platforms or [ ]))}).
            The default is the OpenCode package-lock.json pins, which exists only where the lock has a binary.
            Set services.homelabHealer.agentPackage (e.g. pkgs.opencode) or settings.agent.command.
          ''
      );
      agent.environmentFile = mkIf (cfg.environmentFile != null) agentEnvCredential;
    };

    services.postgresql = mkIf cfg.database.createLocally {
      enable = true;
      ensureDatabases = [ name ];
      ensureUsers = [
        {
          inherit name;
          ensureDBOwnership = true;
        }
      ];
    };

    users.users.${name} = {
      isSystemUser = true;
      group = name;
      # The agent reads logs with journalctl.
      extraGroups = [ "systemd-journal" ];
      home = stateDir;
      description = "homelab-healer service";
    };
    users.groups.${name} = { };

    # For the CLI (`sudo -u homelab-healer homelab-healer incidents --config /etc/homelab-healer/config.json`).
    environment.etc."${name}/config.json".source = configFile;
    environment.systemPackages = [ cfg.package ];

    # Run logs hold alert text and agent transcripts: keep the state dir private even where it
    # pre-exists with a looser mode (restored from a backup); `e` adjusts, never creates.
    systemd.tmpfiles.settings.${name}.${stateDir}.e = {
      user = name;
      group = name;
      mode = "0700";
    };

    systemd.services.${name} = unitDeps // {
      description = "homelab-healer: alerts in, reviewed pull requests out";
      wantedBy = [ "multi-user.target" ];
      inherit path;
      # V8 sizes its heap from the machine's memory and lets garbage grow with it: a storm of 100k
      # alerts peaked at 187 MiB RSS with a live heap of about 50 MiB. With a 256 MiB bound it
      # collects sooner, at the same speed: 138 MiB (bench/results, issue 25). The bench runs the
      # service with the same value (bench/service.ts, SERVICE_NODE_OPTIONS; a test keeps them equal).
      # The agent's environment is built apart and does not inherit it.
      environment.NODE_OPTIONS = "--max-old-space-size=256";

      serviceConfig = serviceConfig // {
        Type = "simple";
        ExecStart = "${lib.getExe cfg.package} serve --config ${configFile}";
        Restart = "on-failure";
        RestartSec = 5;
        # SIGTERM reaches the service's main process only; the service then ends each agent run
        # in its own order (SIGTERM to the sandbox, a grace period, SIGKILL) and releases its
        # lease. What is left when TimeoutStopSec runs out gets SIGKILL from systemd. The default
        # (control-group) would SIGTERM the agents at the same moment, behind the service's back.
        KillMode = "mixed";
        # Shutdown lets a running agent reach a safe point or release its lease.
        TimeoutStopSec = 120;
      };
    };

    # `systemctl start homelab-healer-doctor` runs `homelab-healer doctor` exactly as the service
    # runs: same user, credentials, sandboxing and PATH, so what it finds is what a repair meets.
    # Its report is in `journalctl -u homelab-healer-doctor`; the unit fails when a required check
    # does.
    systemd.services."${name}-doctor" = unitDeps // {
      description = "homelab-healer doctor: checks every dependency of the repair path";
      inherit path;
      serviceConfig = serviceConfig // {
        Type = "oneshot";
        ExecStart = "${lib.getExe cfg.package} doctor --config ${configFile}";
        # A oneshot has no start timeout by default; a remote that never answers must not hang it.
        TimeoutStartSec = 300;
      };
    };

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ cfg.settings.listen.port ];
  };
}
