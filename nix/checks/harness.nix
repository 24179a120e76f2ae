# Evaluates services.homelabHealer with nixpkgs `lib`, the stub NixOS options and the fake pkgs.
{ lib }:
rec {
  fakePkgs = import ../stubs/fake-pkgs.nix { inherit lib; };

  # The evaluated NixOS-ish config for the given extra modules, as on NixOS 25.11 (which has
  # postgresql.target).
  evalHealer = modules: evalWith { } modules;

  # The same with a choice of NixOS release ("25.05": no postgresql.target) and host system.
  evalWith =
    {
      release ? "25.11",
      system ? "x86_64-linux",
    }:
    modules:
    (lib.evalModules {
      class = "nixos";
      modules = [
        ../stubs/nixos-options.nix
        ../../module
        { _module.args.pkgs = import ../stubs/fake-pkgs.nix { inherit lib system; }; }
      ]
      ++ lib.optional (release != "25.05") ../stubs/postgresql-target.nix
      ++ modules;
    }).config;

  # The evaluated config of a host with services.homelabHealer.inspectTarget (module/inspect-target.nix)
  # and the given extra modules.
  evalTarget = evalModulesOf [ ../../module/inspect-target.nix ];

  # A VM test machine, which may use either module.
  evalMachine = evalModulesOf [
    ../../module
    ../../module/inspect-target.nix
  ];

  evalModulesOf =
    base: modules:
    (lib.evalModules {
      class = "nixos";
      modules = [
        ../stubs/nixos-options.nix
        { _module.args.pkgs = fakePkgs; }
      ]
      ++ base
      ++ modules;
    }).config;

  # A module enabling the inspect target (with sshd on) with the given inspectTarget values.
  target = values: {
    services.openssh.enable = true;
    services.homelabHealer.inspectTarget = { enable = true; } // values;
  };

  # A module enabling the service with the given services.homelabHealer values.
  healer = values: { services.homelabHealer = { enable = true; } // values; };

  # One named expectation: { name, ok, detail }; detail shows what was found when it fails.
  expect = name: ok: found: {
    inherit name ok;
    detail = if ok then "" else "found: ${builtins.toJSON found}";
  };
  expectEq = name: want: got: expect name (want == got) got;

  failedAssertions = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  unit = config: config.systemd.services.homelab-healer;
  doctorUnit = config: config.systemd.services.homelab-healer-doctor;

  # The config file the unit runs with: the build-time-checked copy, or the raw one.
  configFile = config: config.environment.etc."homelab-healer/config.json".source;
  # The settings value the module handed to pkgs.formats.json's generate.
  settingsOf =
    config:
    let
      file = configFile config;
    in
    file.fake.env.config.fake.value or file.fake.value;
}
