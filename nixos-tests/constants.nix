# Values the VM test machines and their test scripts share.
{
  secretsDir = "/run/healer-test-secrets";
  repoDir = "/var/lib/homelab-repo.git";
  hookToken = "hook-token-0123456789";
  githubToken = "gh-token-9876543210";
  githubPort = "8471";
  owner = "homelab";
  repo = "infra";
  fixture = ../test/fixtures/alerts/openobserve/recommended.jellyfin-ffmpeg-permission-denied.json;
}
