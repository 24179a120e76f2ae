# Two machines: the healer, and media-01 with nixosModules.inspectTarget and a `jellyfin` unit. An
# alert about jellyfin on media-01 starts a run whose (script) agent calls `inspect media-01 …`:
# the output of `systemctl status jellyfin` must come from media-01 into the run log and an
# `inspected` event, a command outside the list must be refused, and media-01 must refuse on its
# own what its list does not allow, even sent straight over SSH with the healer's key.
{ common, inspectTarget }:
let
  constants = import ./constants.nix;
  inspectKey = "${constants.secretsDir}/inspect-ssh-key";
  victim = "/tmp/victim/x";
  # A line only media-01's journal holds: the healer has no jellyfin unit.
  jellyfinLine = "jellyfin-dummy-started-on-media-01";
  # nixpkgs' throwaway test keys: ECDSA for the healer's inspect key, ed25519 as media-01's host key.
  testKeys = pkgs: import (pkgs.path + "/nixos/tests/ssh-keys.nix") pkgs;
  knownHosts =
    pkgs: pkgs.writeText "inspect-known-hosts" "media-01 ${(testKeys pkgs).snakeOilEd25519PublicKey}\n";

  # The agent: two inspections, each announced, its exit status printed; the run log keeps it all.
  agent =
    pkgs:
    pkgs.writeShellScript "inspect-agent" ''
      echo "== inspect media-01 systemctl status jellyfin"
      inspect media-01 systemctl status jellyfin
      echo "== exit $?"
      echo "== inspect media-01 rm -rf ${victim}"
      inspect media-01 rm -rf ${victim}
      echo "== exit $?"
      exit 0
    '';

  # The healer's key reaches the service as a credential (LoadCredential), never from the store.
  keyCredential = {
    requires = [ "inspect-test-key.service" ];
    after = [ "inspect-test-key.service" ];
    serviceConfig.LoadCredential = [ "inspect-ssh-key:${inspectKey}" ];
  };
in
{
  name = "homelab-healer-inspect";

  nodes.healer =
    { pkgs, ... }:
    {
      imports = [
        (common {
          inherit agent;
          settings = {
            hosts."media-01".address = "media-01";
            # A relative name: the file in $CREDENTIALS_DIRECTORY.
            inspect.sshKeyFile = "inspect-ssh-key";
            inspect.knownHostsFile = "${knownHosts pkgs}";
          };
        })
      ];

      environment.systemPackages = [ pkgs.openssh ];

      systemd.services.inspect-test-key = {
        wantedBy = [ "multi-user.target" ];
        before = [
          "homelab-healer.service"
          "homelab-healer-doctor.service"
        ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
        };
        script = ''
          install -d -m 0700 ${constants.secretsDir}
          install -m 0600 ${(testKeys pkgs).snakeOilPrivateKey} ${inspectKey}
        '';
      };
      systemd.services.homelab-healer = keyCredential;
      systemd.services.homelab-healer-doctor = keyCredential;
    };

  nodes."media-01" =
    { pkgs, ... }:
    {
      imports = [ inspectTarget ];

      services.openssh.enable = true;
      # A fixed host key, so the healer's known_hosts can be written before either machine boots.
      environment.etc."ssh/ssh_host_ed25519_key" = {
        source = (testKeys pkgs).snakeOilEd25519PrivateKey;
        mode = "0600";
      };

      services.homelabHealer.inspectTarget = {
        enable = true;
        authorizedKeys = [ (testKeys pkgs).snakeOilPublicKey ];
      };

      systemd.services.jellyfin = {
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.coreutils}/bin/echo ${jellyfinLine}";
        };
      };

      # Something the healer-inspect account could delete, were a refused command ever run.
      systemd.tmpfiles.rules = [
        "d /tmp/victim 0777 root root -"
        "f ${victim} 0666 root root -"
      ];
    };

  testScript =
    { nodes, ... }:
    ''
      import base64
      import json


      def encode(argv):
          """The wire format: one base64 word per argument, `-` for an empty one."""
          return " ".join(base64.b64encode(a.encode()).decode() if a else "-" for a in argv)


      ssh = (
          "ssh -F none -T -i ${inspectKey} -o IdentitiesOnly=yes -o BatchMode=yes "
          "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${nodes.healer.services.homelabHealer.settings.inspect.knownHostsFile} "
          "-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 -l healer-inspect media-01 "
      )
      psql = "sudo -u homelab-healer psql homelab-healer -tA -c"
      refused = "homelab-healer-inspect: refused: "

      start_all()
      media_01.wait_for_unit("sshd.service")
      media_01.wait_for_unit("jellyfin.service")
      media_01.succeed("test -e ${victim}")
      healer.wait_for_unit("inspect-test-key.service")
      healer.wait_for_unit("homelab-healer.service")
      healer.wait_for_open_port(8470)

      with subtest("media-01: healer-inspect is in systemd-journal and its key carries the forced command"):
          media_01.succeed("id -nG healer-inspect | tr ' ' '\\n' | grep -qx systemd-journal")
          keys = media_01.succeed("cat /etc/ssh/authorized_keys.d/healer-inspect")
          assert 'command="' in keys and "/bin/homelab-healer-inspect /etc/homelab-healer-inspect/commands\",restrict ecdsa-sha2-nistp256 " in keys, keys
          healer.fail("systemctl cat jellyfin.service")

      with subtest("straight over SSH with the healer's key, an allowed command runs on media-01"):
          out = healer.succeed(ssh + "'" + encode(["systemctl", "status", "jellyfin"]) + "'")
          assert "${jellyfinLine}" in out, out
          assert media_01.succeed("hostname").strip() == "media-01"

      with subtest("media-01 refuses on its own what its list does not allow, and nothing runs"):
          cases = [
              (encode(["rm", "-rf", "${victim}"]), "command not allowed: rm -rf ${victim}"),
              (encode(["journalctl", "-u", "x; touch /tmp/victim/pwned"]), "shell syntax in argument 3: "),
              (encode(["journalctl", "-u", "$(touch /tmp/victim/pwned)"]), "shell syntax in argument 3: "),
              (encode(["ls", "x\ntouch /tmp/victim/pwned"]), "control character in argument 2: "),
              ("touch /tmp/victim/pwned", "not base64: word 1"),
          ]
          for wire, reason in cases:
              status, out = healer.execute(ssh + "'" + wire + "' 2>&1")
              assert status == 125, (wire, status, out)
              assert out.startswith(refused + reason) and out.count("\n") == 1, (wire, out)
          media_01.succeed("test -e ${victim}")
          media_01.fail("test -e /tmp/victim/pwned")

      with subtest("a key media-01 does not know gets no further than authentication"):
          healer.succeed("ssh-keygen -q -t ed25519 -N ''' -f /root/stranger")
          status, out = healer.execute(ssh.replace("${inspectKey}", "/root/stranger") + "'" + encode(["id"]) + "' 2>&1")
          assert status == 255 and "Permission denied" in out, (status, out)

      with subtest("media-01's journal has every command: sshd's login and the program's own line"):
          media_01.wait_until_succeeds(
              "journalctl -t homelab-healer-inspect -o cat | grep -F 'running: systemctl status jellyfin'"
          )
          media_01.succeed(
              "journalctl -t homelab-healer-inspect -o cat | grep -F 'refused: command not allowed: rm -rf ${victim}'"
          )
          media_01.succeed("journalctl -o cat | grep -F 'Accepted publickey for healer-inspect'")

      with subtest("homelab-healer doctor reaches media-01 through the channel (exit 0)"):
          status, _ = healer.execute("systemctl start homelab-healer-doctor.service")
          report = healer.succeed("journalctl -u homelab-healer-doctor.service -o cat")
          print(report)
          assert status == 0, report
          assert "media-01" in report, report

      with subtest("the agent inspects media-01 during a run for an alert about media-01"):
          answer = json.loads(healer.succeed(
              "curl -sS --fail-with-body -H 'Authorization: Bearer ${constants.hookToken}' "
              "-H 'Content-Type: application/json' "
              "--data-binary @${constants.fixture} http://127.0.0.1:8470/hooks/openobserve"
          ))
          assert answer["incidents"] == [1], answer
          healer.wait_until_succeeds(
              f"{psql} \"select outcome from runs where incident_id = 1 and outcome is not null\" | grep -q .",
              timeout=600,
          )
          log = healer.succeed("cat /var/lib/homelab-healer/runs/*/agent.log")
          print(log)
          status_part = log.split("== inspect media-01 systemctl status jellyfin", 1)[1].split("== exit", 1)[0]
          assert "${jellyfinLine}" in status_part, log
          refused_part = log.split("== inspect media-01 rm -rf ${victim}", 1)[1]
          assert "refused" in refused_part.split("== exit", 1)[0], log
          assert not refused_part.split("== exit", 1)[1].strip().startswith("0"), log
          media_01.succeed("test -e ${victim}")

      with subtest("the inspection is an `inspected` event of the incident"):
          rows = healer.succeed(
              f"{psql} \"select data from incident_events where incident_id = 1 and kind = 'inspected' order by id\""
          ).strip().splitlines()
          events = [json.loads(row) for row in rows]
          ran = [e for e in events if e.get("host") == "media-01" and e.get("argv") == ["systemctl", "status", "jellyfin"]]
          assert len(ran) == 1, events
          assert [v for k, v in ran[0].items() if "exit" in k.lower()] == [0], ran
          shown = healer.succeed(
              "sudo -u homelab-healer homelab-healer incident 1 --config /etc/homelab-healer/config.json"
          )
          assert "inspected" in shown, shown
    '';
}
