# A fake `pkgs` for evaluating the module and package/*.nix with only nixpkgs `lib`: packages are
# derivation-like attrsets (type, name, outPath, meta) and the builders record what they were
# asked to build instead of building it, so the checks can inspect the generated config, the
# build-time check's script and the derivations' arguments. Nothing here can be built.
{
  lib,
  system ? "x86_64-linux",
}:
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
  hook = name: fakeDrv name { };

  hostPlatform = lib.systems.elaborate system;

  # mkDerivation / buildNpmPackage: pname + version as nixpkgs names them, the arguments kept. As
  # nixpkgs' check-meta.nix does, the derivation's paths refuse a system outside meta.platforms
  # (before its source is ever read), while name, version and meta still evaluate.
  recordDrv =
    attrs:
    let
      name = "${attrs.pname}-${attrs.version}";
      meta = attrs.meta or { };
      refused = !(lib.meta.availableOn hostPlatform { inherit meta; });
      checked =
        value:
        if refused then
          throw "Package ‘${name}’ is not available on the requested hostPlatform: hostPlatform.system = \"${system}\", package.meta.platforms = ${builtins.toJSON meta.platforms}"
        else
          value;
      drv = fakeDrv name {
        inherit (attrs) pname version;
        inherit meta;
        passthru = attrs.passthru or { };
        fake = attrs;
      };
    in
    drv
    // {
      outPath = checked drv.outPath;
      drvPath = checked "${drv.outPath}.drv";
    }
    // (attrs.passthru or { });

  self = {
    inherit fakeDrv lib;

    stdenv = {
      inherit hostPlatform;
      mkDerivation = recordDrv;
      # The compiler's runtime libraries (libstdc++.so.6, libgcc_s.so.1): stdenv.cc.cc.lib.
      cc.cc.lib = fakeDrv "gcc-14.3.0-lib" { };
    };
    fetchurl = args: fakeDrv (baseNameOf args.url) { fake = args; };
    autoPatchelfHook = hook "auto-patchelf-hook";
    versionCheckHook = hook "version-check-hook";
    writableTmpDirAsHomeHook = hook "writable-tmp-dir-as-home-hook";

    nodejs_22 = tool "nodejs-22.20.0" "node";
    buildNpmPackage = recordDrv;
    # nixpkgs' importNpmLock is a functor with the hooks as attributes.
    importNpmLock = {
      __functor =
        _: args:
        fakeDrv "${args.package.name or "unknown"}-${args.package.version or "0.0.0"}-sources" {
          fake = args;
        };
      npmConfigHook = hook "npm-config-hook";
    };

    # callPackage as nixpkgs does it: a function (or a file holding one) gets the arguments it
    # names from this set, overridden by the explicit ones.
    callPackage =
      fn: args:
      let
        f = if lib.isFunction fn then fn else import fn;
      in
      f (builtins.intersectAttrs (lib.functionArgs f) self // args);

    bubblewrap = tool "bubblewrap-0.11.0" "bwrap";
    git = tool "git-2.51.0" "git";
    openssh = tool "openssh-10.0p2" "ssh";
    # What nixpkgs itself has; the module must default to the host's (config.nix.package, …).
    nix = tool "nix-2.31.2" "nix";
    systemd = tool "systemd-258" "systemctl";
    ripgrep = tool "ripgrep-14.1.1" "rg";
    postgresql = tool "postgresql-17.6" "psql";
    # nixpkgs' own OpenCode, an older release than the one tested here.
    opencode = fakeDrv "opencode-1.0.150" {
      version = "1.0.150";
      meta.mainProgram = "opencode";
    };
    # boot.kernelPackages: the default kernel, and linux_hardened as nixpkgs' linux-kernels.nix
    # builds it (hardenedKernelFor passes isHardened = true; kernel/generic.nix puts isHardened,
    # default false, in the kernel's passthru).
    linuxPackages.kernel = fakeDrv "linux-6.12.58" {
      version = "6.12.58";
      isHardened = false;
    };
    linuxPackages_hardened.kernel = fakeDrv "linux-6.12.58" {
      version = "6.12.58";
      isHardened = true;
    };
    # What the VM test machine (nixos-tests/common.nix) uses besides the module.
    curl = tool "curl-8.16.0" "curl";
    jq = tool "jq-1.8.1" "jq";
    coreutils = tool "coreutils-9.8" "ls";
    gnused = tool "gnused-4.9" "sed";
    gnugrep = tool "gnugrep-3.12" "grep";
    python3 = tool "python3-3.13.7" "python3" // {
      interpreter = "/nix/store/00000000000000000000000000000000-python3-3.13.7/bin/python3";
    };
    writeShellScript = name: text: fakeDrv name { fake = { inherit text; }; };
    writeText = name: text: fakeDrv name { fake = { inherit text; }; };
    # The inspect target's program: its shell and tools.
    runtimeShell = "/nix/store/00000000000000000000000000000000-bash-5.3p3/bin/bash";
    util-linux = tool "util-linux-2.41.2" "mount";
    # nixpkgs' own tree, for the VM tests' nixos/tests/ssh-keys.nix (here a stub with fake keys).
    path = ./nixpkgs-path;

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
      fakeDrv name {
        meta = env.meta or { };
        fake = { inherit env script; };
      };
  };
in
self
