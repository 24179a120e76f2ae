# A fake `pkgs` for evaluating the module with only nixpkgs `lib`: packages are derivation-like
# attrsets (type, name, outPath, meta) and the builders record what they were asked to build
# instead of building it, so the checks can inspect the generated config and the build-time
# check's script. Nothing here can be built.
{ lib }:
let
  fakeDrv =
    name: extra:
    {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
      meta = { };
    }
    // extra;
  tool = pname: main: fakeDrv pname { meta.mainProgram = main; };
in
{
  inherit fakeDrv;

  homelab-healer = tool "homelab-healer-0.1.0" "homelab-healer";
  opencode = tool "opencode-1.18.33" "opencode";
  bubblewrap = tool "bubblewrap-0.11.0" "bwrap";
  git = tool "git-2.51.0" "git";
  openssh = tool "openssh-10.0p2" "ssh";
  nix = tool "nix-2.31.2" "nix";
  systemd = tool "systemd-258" "systemctl";
  ripgrep = tool "ripgrep-14.1.1" "rg";
  postgresql = tool "postgresql-17.6" "psql";

  # Only the module's `package` default calls it.
  callPackage = _fn: _args: tool "homelab-healer-0.1.0" "homelab-healer";

  formats.json =
    { }:
    {
      # The same value type as nixpkgs' pkgs.formats.json.
      type =
        let
          valueType =
            types.nullOr (
              types.oneOf [
                types.bool
                types.int
                types.float
                types.str
                types.path
                (types.attrsOf valueType)
                (types.listOf valueType)
              ]
            )
            // {
              description = "JSON value";
            };
          inherit (lib) types;
        in
        valueType;
      generate =
        name: value:
        fakeDrv name {
          fake.value = value;
          fake.json = builtins.toJSON value;
        };
    };

  runCommand =
    name: env: script:
    fakeDrv name { fake = { inherit env script; }; };
}
