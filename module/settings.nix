# The typed part of `services.homelabHealer.settings`: the keys most homelabs set. Every other key
# of the config file (SPEC §3, src/config/schema.ts) can be set freeform; unknown keys are refused
# by the build-time `check-config --shape-only`, not here.
{ lib, format }:
let
  inherit (lib) mkOption types;

  # `null` means "not set": the module drops nulls before writing the JSON, so the program's own
  # default applies.
  optionalStr =
    description:
    mkOption {
      type = types.nullOr types.str;
      default = null;
      inherit description;
    };
in
types.submodule {
  freeformType = format.type;

  options = {
    listen = {
      host = mkOption {
        type = types.str;
        default = "127.0.0.1";
        example = "0.0.0.0";
        description = "Address the HTTP listener (alert webhooks, API) binds to.";
      };
      port = mkOption {
        type = types.port;
        default = 8470;
        description = "Port of the HTTP listener.";
      };
    };

    database.url = optionalStr ''
      Database URL. With {option}`services.homelabHealer.database.createLocally` it is the local
      PostgreSQL over its socket (peer authentication); else `postgres://…`, or `pglite://DIR`.
    '';

    stateDir = mkOption {
      type = types.str;
      default = "/var/lib/homelab-healer";
      readOnly = true;
      description = "Mirror clone, worktrees and run logs: the unit's `StateDirectory`.";
    };

    repo = {
      url = optionalStr ''
        The homelab flake repository the agent repairs, e.g.
        `git@github.com:me/homelab.git`. Without it alerts are still grouped and triaged, and each
        incident says why no repair ran.
      '';
      branch = mkOption {
        type = types.str;
        default = "main";
        description = "Base branch: worktrees start from it and pull requests target it.";
      };
    };

    forge = {
      type = mkOption {
        type = types.enum [
          "github"
          "forgejo"
          "gitea"
          "none"
        ];
        default = "github";
        description = "`github`, `forgejo`, `gitea`, or `none` for a dry run (the commit stays local, nothing is pushed).";
      };
      owner = optionalStr "GitHub owner (user or organisation) of the homelab repository.";
      repo = optionalStr "GitHub name of the homelab repository.";
      apiUrl = mkOption {
        type = types.str;
        default = "https://api.github.com";
        description = "GitHub API base URL (GitHub Enterprise: `https://HOST/api/v3`); for Forgejo/Gitea the server's base URL (`https://git.example.org`).";
      };
    };

    agent = {
      command = mkOption {
        type = types.str;
        description = ''
          The agent program. Defaults to OpenCode from
          {option}`services.homelabHealer.agentPackage`; any program following the agent contract
          works.
        '';
      };
      model = optionalStr "Model as `provider/model`, passed to OpenCode as `--model`.";
      opencodeConfig = mkOption {
        type = format.type;
        default = { };
        example = lib.literalExpression ''
          {
            provider.ollama = {
              npm = "@ai-sdk/openai-compatible";
              options.baseURL = "http://127.0.0.1:11434/v1";
              models."qwen2.5-coder:32b" = { };
            };
          }
        '';
        description = ''
          Merged into each run's OpenCode config: `provider` entries, `agent`, `instructions`.
          It can never set `permission`: the run's lane owns it.
        '';
      };
    };

    triage.settleSeconds = mkOption {
      type = types.ints.unsigned;
      default = 60;
      description = "Seconds an incident must stay unresolved before a repair starts.";
    };
  };
}
