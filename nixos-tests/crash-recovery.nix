# A user story: the service is killed (SIGKILL) while the agent works. systemd restarts it, the
# expired lease is reaped, and the same run finishes once: one pull request, on attempt 2.
{ common }:
let
  constants = import ./constants.nix;
in
{
  name = "homelab-healer-crash-recovery";

  nodes.machine = common {
    agent =
      pkgs:
      import ./script-agent.nix {
        inherit pkgs;
        delay = 30;
      };
  };

  testScript = ''
    import json

    psql = "sudo -u homelab-healer psql homelab-healer -tA -c"
    state = "curl -sf http://127.0.0.1:${constants.githubPort}/_state"

    machine.wait_for_unit("homelab-healer.service")
    machine.wait_for_open_port(8470)

    with subtest("an alert starts a run, and the slow agent is at work"):
        machine.succeed(
            "curl -sS --fail-with-body -H 'Authorization: Bearer ${constants.hookToken}' "
            "-H 'Content-Type: application/json' "
            "--data-binary @${constants.fixture} http://127.0.0.1:8470/hooks/openobserve"
        )
        machine.wait_until_succeeds(f"{psql} \"select state from runs where incident_id = 1\" | grep -x running")
        machine.wait_until_succeeds("pgrep -u homelab-healer -f script-agent")

    with subtest("SIGKILL mid-run: systemd restarts the service"):
        machine.succeed("systemctl kill -s KILL homelab-healer.service")
        machine.wait_until_succeeds("systemctl show -p NRestarts --value homelab-healer.service | grep -qx 1")
        machine.wait_for_unit("homelab-healer.service")
        machine.wait_for_open_port(8470)

    with subtest("the run is picked up again and finishes once"):
        machine.wait_until_succeeds(
            f"{psql} \"select state from runs where incident_id = 1\" | grep -x finished", timeout=900
        )
        run = machine.succeed(f"{psql} \"select count(*), max(attempt), max(outcome) from runs where incident_id = 1\"")
        assert run.strip() == "1|2|pr_opened", run
        pulls = json.loads(machine.succeed(state))["pulls"]
        assert len(pulls) == 1, pulls
        assert pulls[0]["head"]["ref"] == "healer/incident-1", pulls
        commits = machine.succeed(
            "git -c safe.directory='*' --git-dir=${constants.repoDir} rev-list --count main..healer/incident-1"
        )
        assert commits.strip() == "1", commits
  '';
}
