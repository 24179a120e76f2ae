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
  # What the VM test machine (nixos-tests/common.nix) uses besides the module.
  inherit lib;
  curl = tool "curl-8.16.0" "curl";
  jq = tool "jq-1.8.1" "jq";
  coreutils = tool "coreutils-9.8" "ls";
  gnused = tool "gnused-4.9" "sed";
  gnugrep = tool "gnugrep-3.12" "grep";
  python3 = tool "python3-3.13.7" "python3" // {
    interpreter = "/nix/store/00000000000000000000000000000000-python3-3.13.7/bin/python3";
  };
  writeShellScript = name: text: fakeDrv name { fake = { inherit text; }; };

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
