# A user story: senders without the token are turned away, broken bodies are answered with an error
# that names the problem, and neither creates an alert, an incident or a run.
{ common }:
let
  constants = import ./constants.nix;
in
{
  name = "homelab-healer-bad-input";

  nodes.machine = common {
    # Never started: no valid alert arrives in this test.
    agent = pkgs: pkgs.writeShellScript "unused-agent" "exit 1";
  };

  testScript = ''
    import json

    psql = "sudo -u homelab-healer psql homelab-healer -tA -c"
    auth = "-H 'Authorization: Bearer ${constants.hookToken}'"

    def post(path, headers, data):
        """POSTs data and returns (status, body)."""
        out = machine.succeed(
            f"curl -sS -o /tmp/body -w '%{{http_code}}' {headers} -H 'Content-Type: application/json' "
            f"--data-binary {data} http://127.0.0.1:8470{path}; echo; cat /tmp/body"
        )
        status, _, body = out.partition("\n")
        return int(status), body

    def counts():
        return machine.succeed(
            f"{psql} \"select (select count(*) from alerts), (select count(*) from incidents), "
            "(select count(*) from runs), (select count(*) from deliveries)\""
        ).strip()

    machine.wait_for_unit("homelab-healer.service")
    machine.wait_for_open_port(8470)
    before = counts()

    with subtest("no token, or a wrong one: 401, nothing stored"):
        status, _ = post("/hooks/openobserve", "", "@${constants.fixture}")
        assert status == 401, status
        status, _ = post("/hooks/openobserve", "-H 'Authorization: Bearer wrong'", "@${constants.fixture}")
        assert status == 401, status
        assert counts() == before, (counts(), before)

    with subtest("malformed JSON: 400 with a JSON error"):
        status, body = post("/hooks/alertmanager", auth, "'{\"alerts\": ['")
        assert status == 400, (status, body)
        json.loads(body)

    with subtest("valid JSON of the wrong shape: 422 with a JSON error"):
        status, body = post("/hooks/alertmanager", auth, "'{\"alerts\": \"not a list\"}'")
        assert status == 422, (status, body)
        json.loads(body)

    with subtest("no alert, incident or run came of it"):
        alerts, incidents, runs, _ = counts().split("|")
        assert (alerts, incidents, runs) == tuple(before.split("|")[:3]), (counts(), before)
  '';
}
