# The settings JSON the module generates for a few configurations: `json.<case>` is the text,
# `drv.<case>` a /bin/sh-only derivation writing it (it builds without nixpkgs). nix/check.sh
# builds each and runs `homelab-healer check-config --shape-only` on it.
{ lib }:
let
  h = import ./harness.nix { inherit lib; };
  settings = modules: h.settingsOf (h.evalHealer modules);

  cases = {
    # Only `enable` and the token: the local database, OpenCode, and the program's defaults.
    minimal = [ (h.healer { secrets.tokenFile = "/run/secrets/healer/token"; }) ];

    # The README example: OpenObserve on the same host, GitHub, OpenCode with a provider.
    docs-example = [
      (h.healer {
        secrets = {
          tokenFile = "/run/secrets/homelab-healer/token";
          githubTokenFile = "/run/secrets/homelab-healer/github-token";
        };
        environmentFile = "/run/secrets/homelab-healer/llm.env";
        settings = {
          repo.url = "git@github.com:me/homelab.git";
          forge.owner = "me";
          forge.repo = "homelab";
          agent.model = "anthropic/claude-sonnet-4-5";
          agent.opencodeConfig.provider.anthropic.options.baseURL = "https://api.anthropic.com/v1";
          validate.command = [
            "nix"
            "flake"
            "check"
            "--no-build"
          ];
        };
      })
    ];

    # Every secret, a webhook, ntfy, ignore rules and a local model.
    everything = [
      (h.healer {
        secrets = {
          tokenFile = "/run/secrets/healer/token";
          githubTokenFile = "/run/secrets/healer/github-token";
          githubWebhookSecretFile = "/run/secrets/healer/webhook";
          sshKeyFile = "/run/secrets/healer/deploy-key";
          ntfyTokenFile = "/run/secrets/healer/ntfy";
        };
        environmentFile = "/run/secrets/healer/llm.env";
        openFirewall = true;
        settings = {
          listen.host = "0.0.0.0";
          repo.url = "ssh://git@github.com/me/homelab.git";
          repo.knownHostsFile = "/etc/ssh/ssh_known_hosts";
          forge.owner = "me";
          forge.repo = "homelab";
          notify.ntfy = {
            url = "https://ntfy.sh";
            topic = "homelab";
          };
          agent.model = "ollama/qwen2.5-coder:32b";
          agent.opencodeConfig.provider.ollama = {
            npm = "@ai-sdk/openai-compatible";
            options.baseURL = "http://127.0.0.1:11434/v1";
            models."qwen2.5-coder:32b" = { };
          };
          triage.ignore = [ { service = "^systemd-tmpfiles"; } ];
          triage.settleSeconds = 0;
        };
      })
    ];

    # The VM tests' machine (nixos-tests/common.nix) with its script agent.
    vm-tests = [
      (import ../../nixos-tests/common.nix { module = ../../module; } {
        agent = pkgs: import ../../nixos-tests/script-agent.nix { inherit pkgs; };
      })
    ];

    # The flake on a self-hosted Forgejo: its token and webhook secret as credentials.
    forgejo = [
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

    # A dry run against an external database, no forge.
    dry-run = [
      (h.healer {
        database.createLocally = false;
        secrets.tokenFile = "/run/secrets/healer/token";
        settings = {
          database.url = "postgres://healer@db.home.arpa/healer";
          repo.url = "file:///srv/homelab.git";
          forge.type = "none";
        };
      })
    ];
  };
in
rec {
  json = lib.mapAttrs (_: modules: builtins.toJSON (settings modules)) cases;
  drv = lib.mapAttrs (
    name: text:
    derivation {
      name = "homelab-healer-${name}.json";
      system = builtins.currentSystem;
      builder = "/bin/sh";
      args = [
        "-c"
        ''printf '%s' "$json" > "$out"''
      ];
      json = text;
    }
  ) json;
}
