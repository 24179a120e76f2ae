# Expectations on what services.homelabHealer refuses or warns about, on the disabled module, and
# on the VM tests' machine. Returns a list of { name, ok, detail }.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h) expect expectEq;

  disabled = h.evalHealer [ { services.homelabHealer.settings.listen.port = 9000; } ];

  storeSecret = h.evalHealer [
    (h.healer { secrets.githubTokenFile = "/nix/store/aaaa-token"; })
  ];
  storeSecretInSettings = h.evalHealer [
    (h.healer { settings.auth.sources.grafana.tokenFile = "/nix/store/bbbb-grafana-token"; })
  ];
  githubWithoutToken = h.evalHealer [
    (h.healer {
      settings.repo.url = "git@github.com:me/homelab.git";
      settings.forge.owner = "me";
      settings.forge.repo = "homelab";
    })
  ];
  forgejoWithoutToken = h.evalHealer [
    (h.healer {
      settings.repo.url = "ssh://forgejo@git.home.arpa/me/homelab.git";
      settings.forge = {
        type = "forgejo";
        owner = "me";
        repo = "homelab";
        apiUrl = "https://git.home.arpa";
      };
    })
  ];
  closedFirewall = h.evalHealer [ (h.healer { openFirewall = true; }) ];
  bothKindsOfUser = h.evalHealer [
    (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; })
    { users.users.homelab-healer.isNormalUser = true; }
  ];
  withoutToken = h.evalHealer [ (h.healer { }) ];

  vmMachine = h.evalHealer [
    (import ../../nixos-tests/common.nix { module = ../../module; } {
      agent = pkgs: import ../../nixos-tests/script-agent.nix { inherit pkgs; };
    })
  ];
  vmUnit = h.unit vmMachine;
  vmDoctor = h.doctorUnit vmMachine;
  vmSettings = h.settingsOf vmMachine;
  endToEnd = import ../../nixos-tests/end-to-end.nix {
    common = import ../../nixos-tests/common.nix { module = ../../module; };
  };

  # aarch64-linux, where the lock pins no OpenCode: a host with its own agent, and the VM tests'
  # machine (checks.aarch64-linux.*). With the defaults it must stop, saying what to set:
  # bad-values.nix.
  onArm = h.evalWith { system = "aarch64-linux"; };
  armOwnAgent = onArm [
    (h.healer {
      secrets.tokenFile = "/run/secrets/healer/token";
      settings.agent.command = "/run/current-system/sw/bin/opencode";
    })
  ];
  armVm = onArm [
    (import ../../nixos-tests/common.nix { module = ../../module; } {
      agent = pkgs: import ../../nixos-tests/script-agent.nix { inherit pkgs; };
    })
  ];
  # Evaluates to the value, or to the string "threw" (tryEval cannot show the message; nix eval of
  # the same expression does).
  strict = v: let r = builtins.tryEval (builtins.deepSeq v v); in if r.success then r.value else "threw";
  # Another OpenCode as agentPackage, but the command is not its program: no version warning.
  otherPackageOwnCommand = h.evalHealer [
    (h.healer {
      secrets.tokenFile = "/run/secrets/healer/token";
      agentPackage = h.fakePkgs.opencode;
      settings.agent.command = "/opt/agent/bin/agent";
    })
  ];

  # The hardened profile's kernel: unprivileged user namespaces only with unprivilegedUsernsClone.
  hardened =
    extra:
    h.evalHealer [
      (h.healer ({ secrets.tokenFile = "/run/secrets/healer/token"; } // extra))
      { boot.kernelPackages = h.fakePkgs.linuxPackages_hardened; }
    ];
  hardenedNoClone = hardened { };
  hardenedClone = h.evalHealer [
    (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; })
    {
      boot.kernelPackages = h.fakePkgs.linuxPackages_hardened;
      security.unprivilegedUsernsClone = true;
    }
  ];
  hardenedNoSandbox = hardened { settings.agent.sandbox = "none"; };
  # A kernel without the passthru flag (linuxManualConfig): not taken for hardened.
  plainKernel = h.evalHealer [
    (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; })
    { boot.kernelPackages.kernel = h.fakePkgs.fakeDrv "linux-custom-6.12" { }; }
  ];

  hasPrefixIn = prefix: lib.any (lib.hasPrefix prefix);
  mentions = needle: lib.any (lib.hasInfix needle);
in
[
  (expect "disabled: no unit, no user, no database" (
    disabled.systemd.services == { } && disabled.users.users == { } && !disabled.services.postgresql.enable
  ) disabled.systemd.services)
  (expect "a secret file in the Nix store is refused" (mentions "must not lie in the Nix store" (
    h.failedAssertions storeSecret
  )) (h.failedAssertions storeSecret))
  (expect "a store path in a settings *File key is refused too" (mentions "/nix/store/bbbb-grafana-token" (
    h.failedAssertions storeSecretInSettings
  )) (h.failedAssertions storeSecretInSettings))
  (expect "without a bearer token file the module refuses, as the program would" (mentions "set secrets.tokenFile" (
    h.failedAssertions withoutToken
  )) (h.failedAssertions withoutToken))
  (expect "GitHub with a repo but no token is refused" (mentions "needs secrets.githubTokenFile" (
    h.failedAssertions githubWithoutToken
  )) (h.failedAssertions githubWithoutToken))
  (expect "Forgejo with a repo but no token is refused" (mentions "needs secrets.forgejoTokenFile" (
    h.failedAssertions forgejoWithoutToken
  )) (h.failedAssertions forgejoWithoutToken))
  (expect "NixOS's own user assertion holds for the module's user, and fails when it is made a normal user too" (
    h.failedAssertions (h.evalHealer [ (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; }) ]) == [ ]
    && mentions "Exactly one of users.users.homelab-healer.isSystemUser and users.users.homelab-healer.isNormalUser must be set" (
      h.failedAssertions bothKindsOfUser
    )
  ) (h.failedAssertions bothKindsOfUser))
  (expect "openFirewall on a loopback listener warns" (hasPrefixIn "services.homelabHealer.openFirewall" closedFirewall.warnings) closedFirewall.warnings)
  (expect "VM test machine: the unit waits for its secrets and the bare repo, and may push to it" (
    lib.all (u: lib.elem u vmUnit.requires) [
      "healer-test-secrets.service"
      "homelab-repo.service"
    ]
    && !(lib.elem "postgresql.target" vmUnit.requires)
    && lib.elem "postgresql.target" vmUnit.wants
    && lib.elem "fake-github.service" vmUnit.after
    && vmUnit.serviceConfig.ReadWritePaths == [ "/var/lib/homelab-repo.git" ]
    && h.failedAssertions vmMachine == [ ]
  ) { inherit (vmUnit) requires wants after; })
  (expect "VM test machine: doctor runs after the same test fixtures, with bwrap, git and rg on its PATH and user namespaces allowed" (
    vmDoctor.requires == vmUnit.requires
    && vmDoctor.after == vmUnit.after
    && lib.all (p: lib.elem p vmDoctor.path) [
      h.fakePkgs.bubblewrap
      h.fakePkgs.git
      h.fakePkgs.ripgrep
    ]
    && vmMachine.security.allowUserNamespaces
    && vmSettings.forge.apiUrl == "http://127.0.0.1:8471"
    && vmSettings.forge ? tokenFile
    && vmSettings.repo.url == "file:///var/lib/homelab-repo.git"
  ) { inherit (vmDoctor) requires after; })
  (expectEq "aarch64-linux, own agent.command: evaluates with no failed assertion and no warning"
    {
      assertions = [ ];
      warnings = [ ];
      command = "/run/current-system/sw/bin/opencode";
    }
    (strict {
      assertions = h.failedAssertions armOwnAgent;
      inherit (armOwnAgent) warnings;
      command = (h.settingsOf armOwnAgent).agent.command;
    })
  )
  (expectEq "aarch64-linux: the VM tests' machine evaluates, its agentPackage is the script agent, no warning"
    {
      assertions = [ ];
      warnings = [ ];
      sameAgent = true;
    }
    (strict {
      assertions = h.failedAssertions armVm;
      inherit (armVm) warnings;
      # All of its settings evaluate, and the command is the agentPackage's script.
      sameAgent = builtins.deepSeq (h.settingsOf armVm) (
        (h.settingsOf armVm).agent.command == "${armVm.services.homelabHealer.agentPackage}"
      );
    })
  )
  (expectEq "agentPackage of another version, but agent.command is not its program: no version warning" [ ]
    otherPackageOwnCommand.warnings
  )
  (expect "a hardened kernel without security.unprivilegedUsernsClone is refused while the sandbox is bubblewrap, saying why" (
    mentions "hardened kernel (linux-6.12.58) allows them only with" (h.failedAssertions hardenedNoClone)
    && mentions "security.unprivilegedUsernsClone = true: without it every repair would fail" (
      h.failedAssertions hardenedNoClone
    )
  ) (h.failedAssertions hardenedNoClone))
  (expectEq "a hardened kernel with unprivilegedUsernsClone, a hardened kernel with sandbox = \"none\", and a kernel without the isHardened flag pass"
    {
      clone = [ ];
      noSandbox = [ ];
      plain = [ ];
    }
    {
      clone = h.failedAssertions hardenedClone;
      noSandbox = h.failedAssertions hardenedNoSandbox;
      plain = h.failedAssertions plainKernel;
    }
  )
  (expect "VM end-to-end test: runs `homelab-healer doctor` and expects exit 0" (
    lib.hasInfix "systemctl start homelab-healer-doctor.service" endToEnd.testScript
    && lib.hasInfix "assert status == 0" endToEnd.testScript
  ) null)
]
