# A user story: OpenObserve reports jellyfin failing, homelab-healer opens a pull request with the
# agent's fix on the (fake) GitHub, and the operator finds it all in Postgres and the journal.
{ common }:
let
  constants = import ./constants.nix;
in
{
  name = "homelab-healer-end-to-end";

  nodes.machine = common { agent = pkgs: import ./script-agent.nix { inherit pkgs; }; };

  testScript = ''
    import json

    git = "git -c safe.directory='*' --git-dir=${constants.repoDir}"
    psql = "sudo -u homelab-healer psql homelab-healer -tA -c"

    machine.wait_for_unit("homelab-healer.service")
    machine.wait_for_open_port(8470)
    machine.wait_for_open_port(${constants.githubPort})

    with subtest("homelab-healer doctor passes every required check (exit 0)"):
        # A oneshot: `systemctl start` waits for it and fails when doctor exits non-zero.
        status, _ = machine.execute("systemctl start homelab-healer-doctor.service")
        report = machine.succeed("journalctl -u homelab-healer-doctor.service -o cat")
        print(report)
        assert status == 0, report
        exit_status = machine.succeed(
            "systemctl show -p ExecMainStatus --value homelab-healer-doctor.service"
        ).strip()
        assert exit_status == "0", exit_status

    with subtest("OpenObserve's alert is accepted with the bearer token"):
        out = machine.succeed(
            "curl -sS --fail-with-body -H 'Authorization: Bearer ${constants.hookToken}' "
            "-H 'Content-Type: application/json' "
            "--data-binary @${constants.fixture} http://127.0.0.1:8470/hooks/openobserve"
        )
        answer = json.loads(out)
        assert answer["accepted"] >= 1, answer
        assert answer["incidents"] == [1], answer

    with subtest("a pull request appears on GitHub"):
        machine.wait_until_succeeds(
            "curl -sf http://127.0.0.1:${constants.githubPort}/_state | jq -e '.pulls | length == 1'",
            timeout=600,
        )
        pull = json.loads(machine.succeed("curl -sf http://127.0.0.1:${constants.githubPort}/_state"))["pulls"][0]
        assert pull["head"]["ref"] == "healer/incident-1", pull
        assert pull["base"]["ref"] == "main", pull
        assert pull["title"] == "jellyfin: let the service read the media share", pull
        assert "## Root cause" in pull["body"], pull
        assert {"name": "homelab-healer"} in pull["labels"], pull

    with subtest("the branch in the homelab repository carries the agent's fix"):
        fix = machine.succeed(f"{git} show healer/incident-1:hosts/media-01.nix")
        assert 'users.users.jellyfin.extraGroups = [ "media" ];' in fix, fix
        message = machine.succeed(f"{git} log -1 --format=%B healer/incident-1")
        assert "Healer-Incident: 1" in message, message
        assert machine.succeed(f"{git} rev-list --count main..healer/incident-1").strip() == "1"

    with subtest("the incident and its run are in Postgres"):
        incident = machine.succeed(f"{psql} \"select state, pr_number, branch from incidents where id = 1\"")
        assert incident.strip() == "pr_open|1|healer/incident-1", incident
        run = machine.succeed(f"{psql} \"select state, outcome, attempt from runs where incident_id = 1\"")
        assert run.strip() == "finished|pr_opened|1", run

    with subtest("the service's log lines name the incident"):
        machine.succeed("journalctl -u homelab-healer -o cat | grep -F '\"incident\":1'")

    with subtest("inside its sandbox the agent read the journal, but not the GitHub token"):
        report = machine.succeed(f"{git} show healer/incident-1:agent-report.txt")
        assert "journal: readable" in report, report
        assert "github token: hidden" in report, report
        assert "github token in env: no" in report, report
  '';
}
