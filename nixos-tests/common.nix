# The machine every VM test starts: homelab-healer from the module with a local PostgreSQL, a fake
# GitHub as its own unit, a bare homelab repository made at boot, and a script as the agent.
{ module }:
{
  # The agent program: a function from the node's pkgs to an executable.
  agent,
  # Extra services.homelabHealer.settings for this test.
  settings ? { },
}:
{ lib, pkgs, ... }:
let
  constants = import ./constants.nix;
  inherit (constants) secretsDir repoDir;
  # The test's secrets, bare repo and fake GitHub come first.
  testDeps = {
    requires = [
      "healer-test-secrets.service"
      "homelab-repo.service"
    ];
    after = [
      "healer-test-secrets.service"
      "homelab-repo.service"
      "fake-github.service"
    ];
  };
in
{
  imports = [ module ];

  virtualisation.memorySize = 2048;
  virtualisation.cores = 2;

  environment.systemPackages = with pkgs; [
    curl
    git
    jq
  ];

  # Test secrets are written at boot: the module refuses secret files in the Nix store.
  systemd.services.healer-test-secrets = {
    wantedBy = [ "multi-user.target" ];
    before = [
      "homelab-healer.service"
      "homelab-healer-doctor.service"
      "fake-github.service"
    ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
    script = ''
      install -d -m 0700 ${secretsDir}
      printf '%s' '${constants.hookToken}' > ${secretsDir}/token
      printf '%s' '${constants.githubToken}' > ${secretsDir}/github-token
    '';
  };

  systemd.services.fake-github = {
    wantedBy = [ "multi-user.target" ];
    requires = [ "healer-test-secrets.service" ];
    after = [ "healer-test-secrets.service" ];
    before = [ "homelab-healer.service" ];
    serviceConfig.ExecStart = lib.escapeShellArgs [
      pkgs.python3.interpreter
      "${./fake-github.py}"
      "--port"
      constants.githubPort
      "--owner"
      constants.owner
      "--repo"
      constants.repo
      "--token-file"
      "${secretsDir}/github-token"
      "--git-dir"
      repoDir
    ];
    path = [ pkgs.git ];
  };

  # The homelab flake repository, as a bare repository the service pushes to over file://.
  systemd.services.homelab-repo = {
    wantedBy = [ "multi-user.target" ];
    before = [ "homelab-healer.service" ];
    path = [ pkgs.git ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
    script = ''
      if [ ! -d ${repoDir} ]; then
        git init --quiet --bare --initial-branch=main ${repoDir}
        work=$(mktemp -d)
        cp -r ${./homelab-repo}/. "$work"
        chmod -R u+w "$work"
        git -C "$work" init --quiet --initial-branch=main
        git -C "$work" add -A
        git -C "$work" -c user.name=owner -c user.email=owner@home.arpa commit --quiet -m "homelab: media-01"
        git -C "$work" push --quiet ${repoDir} main
        chown -R homelab-healer:homelab-healer ${repoDir}
      fi
    '';
  };

  services.homelabHealer = {
    enable = true;
    # The script is the agent, so the default agentPackage (the pinned OpenCode, which the lock
    # has for x86_64 only) is never part of the machine, on aarch64-linux either.
    agentPackage = agent pkgs;
    secrets.tokenFile = "${secretsDir}/token";
    secrets.githubTokenFile = "${secretsDir}/github-token";
    settings = lib.recursiveUpdate {
      repo.url = "file://${repoDir}";
      forge = {
        inherit (constants) owner repo;
        apiUrl = "http://127.0.0.1:${constants.githubPort}";
      };
      agent.command = "${agent pkgs}";
      agent.args = [ ];
      triage.settleSeconds = 0;
    } settings;
  };

  systemd.services.homelab-healer = testDeps // {
    # The "remote" lives outside the state dir, where ProtectSystem=strict would refuse a push.
    serviceConfig.ReadWritePaths = [ repoDir ];
  };
  # `homelab-healer doctor` as the module runs it (the service's user, credentials and sandboxing):
  # every required check must pass on this machine — bwrap's sandbox under the unit's hardening
  # (user namespaces are allowed: NixOS's default, asserted by the module), git and rg on the PATH,
  # the agent, the bare repo over file://, the fake GitHub whose token may push and open PRs.
  systemd.services.homelab-healer-doctor = testDeps;
}
