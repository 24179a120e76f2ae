# A script that plays the agent (any program following the agent contract can): it fixes the
# jellyfin host in its worktree, fills the PR body, and writes into the worktree what it could see
# from inside the sandbox, so the test reads it back from the pushed branch.
{
  pkgs,
  # Seconds to wait after the edit, so the crash test can kill the service mid-run.
  delay ? 0,
}:
pkgs.writeShellScript "script-agent" ''
  set -eu
  export PATH=${
    pkgs.lib.makeBinPath [
      pkgs.coreutils
      pkgs.gnused
      pkgs.gnugrep
      pkgs.systemd
    ]
  }
  report=agent-report.txt

  # The fix: jellyfin joins the group that may read the media share.
  sed -i 's|services.jellyfin.enable = true;|services.jellyfin.enable = true;\n  users.users.jellyfin.extraGroups = [ "media" ];|' hosts/media-01.nix

  cat > "$HEALER_PR_BODY_FILE" <<'BODY'
  # jellyfin: let the service read the media share
  ## What broke
  FFmpeg could not open files under /mnt/media: permission denied.
  ## Root cause
  The share is readable by the media group, which jellyfin was not in.
  ## Fix
  Add jellyfin to the media group in hosts/media-01.nix.
  ## How it was checked
  A script agent in a VM test.
  ## Risk and rollback
  None: revert the commit.
  BODY

  lines=$(journalctl -q -n 5 --no-pager 2>/dev/null | wc -l || true)
  if [ "$lines" -gt 0 ]; then echo "journal: readable ($lines lines)"; else echo "journal: unreadable"; fi >> "$report"

  token=/run/credentials/homelab-healer.service/github-token
  if cat "$token" >/dev/null 2>&1; then echo "github token: READABLE"; else echo "github token: hidden"; fi >> "$report"

  if env | grep -q -F '${(import ./constants.nix).githubToken}'; then
    echo "github token in env: yes"
  else
    echo "github token in env: no"
  fi >> "$report"

  sleep ${toString delay}
''
