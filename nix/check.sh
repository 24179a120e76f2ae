#!/usr/bin/env bash
# The offline Nix checks: every .nix file parses; the module, evaluated with nixpkgs `lib`, stub
# NixOS options (with NixOS's own types and checks) and fake pkgs, gives the expected unit, doctor
# unit, users, Postgres, tmpfiles and firewall; bad values fail with the message real NixOS gives;
# package/: the pinned OpenCode's tarball is the lock's, patched as the derivation patches it, it loads
# every library it needs in a root with nothing but the store (nix/opencode-replay.sh), and
# buildNpmPackage's phases replayed see one pruned lock; the unit's filters admit the agent's
# sandbox and deny nothing in vain; the generated settings pass `check-config --shape-only` and
# build as a file; the flake's wiring evaluates.
# These are unit tests of our Nix code, not the VM tests (those need KVM: `nix flake check -L`).
#
#   nix/check.sh           run them; one line per check, exit 1 if any failed
#   nix/check.sh --probe   exit 0 if Nix and nixpkgs lib are here, else print why not and exit 1
#   nix/check.sh --settings-json   print {case: settings JSON text} for the generated configs
#
# Needs Nix (on PATH, or in ${NIX_TRIXIE_HOME:-/var/cache/nix-trixie}/bin) and nixpkgs lib
# ($NIXPKGS_LIB, else /var/cache/nixpkgs-lib: a folder holding lib/). Without them it prints one
# line saying it skipped, and why.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v nix-instantiate >/dev/null 2>&1; then
  PATH="${NIX_TRIXIE_HOME:-/var/cache/nix-trixie}/bin:$PATH"
fi
lib_dir="${NIXPKGS_LIB:-/var/cache/nixpkgs-lib}"

missing=""
if ! command -v nix-instantiate >/dev/null 2>&1; then
  missing="Nix is not installed (see ../shared/nix/README.md)"
elif [ ! -f "$lib_dir/lib/default.nix" ]; then
  missing="nixpkgs lib not found (set NIXPKGS_LIB to a folder holding lib/; tried $lib_dir)"
fi
if [ "${1:-}" = "--probe" ]; then
  if [ -n "$missing" ]; then echo "$missing"; exit 1; fi
  echo "$(nix --version) with nixpkgs lib $(cat "$lib_dir/lib/.version" 2>/dev/null) at $lib_dir"
  exit 0
fi
if [ -n "$missing" ]; then
  echo "SKIP  nix checks skipped: $missing"
  exit 0
fi

nix() { command nix --extra-experimental-features "nix-command flakes" "$@"; }
lib_expr="import $lib_dir/lib"
# Evaluates `(import FILE { lib })SUFFIX`, passing any further nix eval flags.
check_eval() { # file suffix [flags...]
  nix eval --impure --expr "(import ./$1 { lib = $lib_expr; })$2" "${@:3}"
}
if [ "${1:-}" = "--settings-json" ]; then
  check_eval nix/checks/settings-json.nix ".json" --json
  exit
fi

failed=0
report() { # status name [detail]
  printf '%-5s %s%s\n' "$1" "$2" "${3:+: $3}"
  if [ "$1" = FAIL ]; then failed=1; fi
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# 1. Every .nix file parses.
while IFS= read -r file; do
  if err=$(nix-instantiate --parse "$file" 2>&1 >/dev/null); then
    report ok "parse: $file"
  else
    report FAIL "parse: $file" "$err"
  fi
done < <(git ls-files --cached --others --exclude-standard -- '*.nix' | sort -u)

# 2. The in-Nix expectations: module, npm lock, flake wiring.
if out=$(check_eval nix/checks/report.nix "" --raw 2>&1); then
  printf '%s\n' "$out"
  if grep -q '^FAIL' <<<"$out"; then failed=1; fi
else
  report FAIL "evaluating nix/checks/report.nix" "$out"
fi

# 3. Bad values fail, with the module system's (or NixOS's) own message. One evaluation lists every
#    case as "name<TAB>expected<TAB>expected…", then each value is evaluated on its own.
bad=nix/checks/bad-values.nix
list_cases='c: builtins.concatStringsSep "\n" (map (n: builtins.concatStringsSep "\t" ([ n ] ++ (let e = c.${n}.expect; in if builtins.isList e then e else [ e ]))) (builtins.attrNames c))'
if cases=$(check_eval "$bad" "" --raw --apply "$list_cases" 2>&1); then
  while IFS=$'\t' read -r -a row; do
    name=${row[0]}
    if err=$(check_eval "$bad" ".\"$name\".value" --json 2>&1); then
      report FAIL "rejected: $name" "evaluated without error: ${err:0:300}"
      continue
    fi
    missing=()
    for expected in "${row[@]:1}"; do
      grep -qF -- "$expected" <<<"$err" || missing+=("$expected")
    done
    if [ ${#missing[@]} -eq 0 ]; then
      report ok "rejected: $name (${row[${#row[@]}-1]})"
    else
      report FAIL "rejected: $name" "expected \"${missing[0]}\" in: $(grep -v '^ *… ' <<<"$err" | tail -n 4)"
    fi
  done <<<"$cases"
else
  report FAIL "evaluating $bad" "$cases"
fi

# 4. Closest to the package build without nixpkgs: buildNpmPackage's phases replayed on a copy of
#    the source, in their order, with importNpmLock's npm-config-hook.sh as nixpkgs has it now.
#    postPatch writes the pruned pair over package.json and package-lock.json; npmConfigHook sets
#    that pair aside (.package*.json.orig), writes its own patched pair (importNpmLock's copy of the
#    same pruned lock; store paths in the build, npm's cache here) and installs from it, and leaves
#    it in place: the build, `npm pack --dry-run` and `npm prune --omit=dev` (offline, empty cache,
#    as in the build sandbox) read it; npmConfigPostInstallHook then copies the .orig pair into
#    $out/lib/node_modules/<name>/, which must be the pruned pair. Older hooks moved the .orig pair
#    back at the end of npmConfigHook instead, so prune read the source's pair: the same prune with
#    the unpruned originals, which is what happened before postPatch wrote the pruned pair, must
#    fail to fetch the OpenCode optional dependency, or this replay proves nothing.
pkg="$scratch/package"
mkdir -p "$pkg" "$scratch/empty-cache"
cp -r src package.json package-lock.json tsconfig.json tsconfig.build.json "$pkg/"
if [ -d share ]; then cp -r share "$pkg/"; fi
pruned_json=$(check_eval nix/checks/pruned-npm.nix ".package" --json)
pruned_lock=$(check_eval nix/checks/pruned-npm.nix ".packageLock" --json)
npm_quiet=(--offline --no-audit --no-fund --loglevel=error)
npm_sandbox=(--offline --no-audit --no-fund --cache "$scratch/empty-cache" --loglevel=verbose)
checker=()
replay() { # the phases up to the build; prints what failed
  cd "$pkg" || return 1
  printf '%s\n' "$pruned_json" >package.json # postPatch
  printf '%s\n' "$pruned_lock" >package-lock.json
  mv package.json .package.json.orig # npmConfigHook
  mv package-lock.json .package-lock.json.orig
  printf '%s\n' "$pruned_json" >package.json
  printf '%s\n' "$pruned_lock" >package-lock.json
  npm install --ignore-scripts "${npm_quiet[@]}" 2>&1 || return 1
  npm run build --silent 2>&1 || return 1 # buildPhase, on the hook's pair
  npm pack --json --dry-run "${npm_quiet[@]}" >/dev/null 2>&1 || { echo "npm pack --dry-run failed"; return 1; }
}
if ! err=$(replay); then
  if grep -q ENOTCACHED <<<"$err"; then
    report SKIP "package: buildNpmPackage's phases replayed" "npm's cache lacks some tarballs (run npm ci once with network)"
  else
    report FAIL "package: buildNpmPackage's phases replayed" "$(tail -n 8 <<<"$err")"
  fi
elif ! err=$(cd "$pkg" && npm prune --omit=dev --no-save "${npm_sandbox[@]}" 2>&1) ||
  grep -qiE 'reify failed|ENOTCACHED' <<<"$err"; then
  report FAIL "package: npm prune --omit=dev on the config hook's pair" "$(grep -iE 'reify|ENOTCACHED|ERR' <<<"$err" | tail -n 5)"
elif [ -e "$pkg/node_modules/typescript" ] || ls -d "$pkg"/node_modules/opencode-* >/dev/null 2>&1; then
  report FAIL "package: npm prune --omit=dev" "typescript or an OpenCode binary is still in node_modules"
else
  report ok "package: postPatch's pruned pair → npmConfigHook's pair → install → build → pack → prune --omit=dev (offline, empty cache): nothing to fetch, runtime dependencies only"
  # npmConfigPostInstallHook: the .orig pair is what $out gets.
  if [ "$(cat "$pkg/.package.json.orig")" = "$pruned_json" ] && [ "$(cat "$pkg/.package-lock.json.orig")" = "$pruned_lock" ]; then
    report ok "package: npmConfigPostInstallHook's copy into \$out (the .orig pair) is postPatch's pruned pair: no OpenCode optional dependency in the output"
  else
    report FAIL "package: npmConfigPostInstallHook's copy into \$out" "the .orig pair is not postPatch's pruned pair"
  fi
  checker=(node "$pkg/dist/main.js")
  checker_label="the built package"
  # An older hook restoring the source's pair without postPatch: prune wants the optional OpenCode.
  cp package.json package-lock.json "$pkg/"
  err=$(cd "$pkg" && npm prune --omit=dev --no-save "${npm_sandbox[@]}" 2>&1)
  if grep -qiE 'reify failed optional dependency|ENOTCACHED' <<<"$err"; then
    report ok "package: an older config hook restoring the unpruned originals instead: prune tries to fetch the optional OpenCode offline and fails (the bug postPatch prevents there)"
  else
    report FAIL "package: the replay without postPatch's pair" "prune did not try to fetch OpenCode, so the replay does not show the bug: $(tail -n 3 <<<"$err")"
  fi
fi
# package/default.nix's comment must describe the hook replayed above, not the older one.
if grep -q 'npmConfigPostInstallHook' package/default.nix && ! grep -q "then puts the source's" package/default.nix; then
  report ok "package: package/default.nix's comment describes the config hook replayed here (the patched pair through build, pack and prune; the .orig pair copied by npmConfigPostInstallHook)"
else
  report FAIL "package: package/default.nix's comment" "it does not describe npm-config-hook.sh as replayed here (npmConfigPostInstallHook)"
fi
if [ ${#checker[@]} -eq 0 ] && [ -f src/main.ts ]; then
  checker=(node_modules/.bin/tsx src/main.ts)
  checker_label="tsx src/main.ts"
fi

# 5. The pinned OpenCode (package/opencode.nix) replayed on the lock's tarball: nix/opencode-replay.sh.
source nix/opencode-replay.sh
opencode_replay

# 5b. The unit's RestrictAddressFamilies= and RestrictNamespaces= against the agent's sandbox: bwrap
#     with its own user, PID and network namespaces, run under the seccomp filters systemd builds
#     from those two settings (nix/systemd-filter.py), must start; without `net`, or without
#     AF_NETLINK (bwrap brings up the namespace's loopback over rtnetlink), it must not.
sandbox=(bwrap --unshare-user --unshare-pid --unshare-net --die-with-parent --ro-bind / / --proc /proc --dev /dev true)
if ! line=$(check_eval nix/checks/hardening-filters.nix "" --raw 2>&1); then
  report FAIL "hardening: evaluating the unit's filters" "$line"
elif [ "$(uname -m)" != x86_64 ] || ! command -v python3 >/dev/null 2>&1 || ! command -v bwrap >/dev/null 2>&1; then
  report SKIP "hardening: the agent's sandbox under the unit's filters" "needs x86_64, python3 and bwrap"
elif ! err=$("${sandbox[@]}" 2>&1); then
  report SKIP "hardening: the agent's sandbox under the unit's filters" "bwrap cannot make its namespaces here at all: $err"
else
  IFS=$'\t' read -r families namespaces _ <<<"$line"
  filtered() { python3 nix/systemd-filter.py --families "$1" --namespaces "$2" -- "${sandbox[@]}" 2>&1; }
  if err=$(filtered "$families" "$namespaces"); then
    report ok "hardening: bwrap --unshare-net starts under the unit's RestrictAddressFamilies=$families, RestrictNamespaces=$namespaces"
  else
    report FAIL "hardening: bwrap --unshare-net under the unit's filters" "$err"
  fi
  without_netlink=$(sed 's/ *AF_NETLINK//' <<<"$families")
  if ! err=$(filtered "$without_netlink" "$namespaces") && grep -q NETLINK_ROUTE <<<"$err"; then
    report ok "hardening: without AF_NETLINK it fails (\"${err##*bwrap: }\")"
  else
    report FAIL "hardening: without AF_NETLINK" "bwrap did not fail on its rtnetlink socket: $err"
  fi
  without_net=$(sed 's/ *net\b//' <<<"$namespaces")
  if ! err=$(filtered "$families" "$without_net"); then
    report ok "hardening: without net in RestrictNamespaces it fails (\"${err##*bwrap: }\")"
  else
    report FAIL "hardening: without net in RestrictNamespaces" "bwrap started anyway"
  fi
fi

# 5c. SystemCallFilter=: every "~" entry must deny something the allow-list entries allow, or it
#     is a no-op that reads as a protection. The groups as this machine's systemd-analyze lists them.
expand_syscalls() { # a syscall or @group -> syscalls, one per line
  if [[ $1 != @* ]]; then echo "$1"; return; fi
  local entry
  while read -r entry; do
    expand_syscalls "$entry"
  done < <(systemd-analyze syscall-filter "$1" 2>/dev/null | awk 'NR > 1 && $1 != "" && $1 !~ /^#/ { print $1 }')
}
if ! line=$(check_eval nix/checks/hardening-filters.nix "" --raw 2>&1); then
  report FAIL "hardening: evaluating the unit's SystemCallFilter" "$line"
elif ! command -v systemd-analyze >/dev/null 2>&1; then
  report SKIP "hardening: SystemCallFilter's deny entries" "needs systemd-analyze"
else
  IFS=$'\t' read -r _ _ syscall_filter <<<"$line"
  allowed=$(for e in $syscall_filter; do [[ $e == "~"* ]] || expand_syscalls "$e"; done | sort -u)
  idle=()
  for e in $syscall_filter; do
    [[ $e == "~"* ]] || continue
    comm -12 <(expand_syscalls "${e#\~}" | sort -u) - <<<"$allowed" | grep -q . || idle+=("$e")
  done
  if [ -z "$allowed" ]; then
    report SKIP "hardening: SystemCallFilter's deny entries" "systemd-analyze lists no system calls for: $syscall_filter"
  elif [ ${#idle[@]} -eq 0 ]; then
    report ok "hardening: SystemCallFilter=$syscall_filter: every ~ entry denies something the allow-list allows ($(wc -l <<<"$allowed") calls allowed, $(systemd-analyze --version | head -n 1))"
  else
    report FAIL "hardening: SystemCallFilter=$syscall_filter" "${idle[*]} denies nothing: the allow-list does not allow it anyway"
  fi
fi

# 6. The generated settings JSON: builds as a file, and passes the program's own shape check.
cases=nix/checks/settings-json.nix
if names=$(check_eval "$cases" ".json" --raw --apply 'c: builtins.concatStringsSep "\n" (builtins.attrNames c)' 2>&1); then
  while IFS= read -r name; do
    json="$scratch/$name.json"
    check_eval "$cases" ".json.\"$name\"" --raw >"$json"
    # Reading the output realises the derivation, through whichever store Nix uses.
    if built=$(check_eval "$cases" ".drv.\"$name\"" --raw --apply 'builtins.readFile' 2>"$scratch/err") &&
      [ "$built" = "$(cat "$json")" ]; then
      report ok "settings JSON builds: $name"
    else
      report FAIL "settings JSON builds: $name" "$(tail -n 3 "$scratch/err") ${built:0:200}"
    fi
    if [ ${#checker[@]} -eq 0 ]; then
      report SKIP "check-config --shape-only: $name" "src/main.ts is not there yet"
    elif err=$("${checker[@]}" check-config --shape-only --config "$json" 2>&1); then
      report ok "check-config --shape-only accepts the generated settings: $name ($checker_label)"
    else
      # The message without the stack trace.
      report FAIL "check-config --shape-only: $name" "$(grep -v -e '^ *at ' -e '^ *$' <<<"$err" | head -n 8)"
    fi
  done <<<"$names"
else
  report FAIL "evaluating $cases" "$names"
fi

# 6b. The VM tests' Python scripts (the driver would type-check and lint them before booting
#     anything): each must at least compile.
vm_scripts=nix/checks/vm-scripts.nix
if ! command -v python3 >/dev/null 2>&1; then
  report SKIP "VM test scripts compile" "python3 is not installed"
elif names=$(check_eval "$vm_scripts" "" --raw --apply 'c: builtins.concatStringsSep "\n" (builtins.attrNames c)' 2>&1); then
  while IFS= read -r name; do
    py="$scratch/vm-$name.py"
    if ! err=$(check_eval "$vm_scripts" ".\"$name\"" --raw 2>&1 >"$py"); then
      report FAIL "VM test script: $name" "$(tail -n 3 <<<"$err")"
    elif err=$(python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[2], "exec")' "$py" "$name" 2>&1); then
      report ok "VM test script compiles as Python: $name"
    else
      report FAIL "VM test script: $name" "$(tail -n 4 <<<"$err")"
    fi
  done <<<"$names"
else
  report FAIL "evaluating $vm_scripts" "$names"
fi

# 7. The flake through Nix's own flake machinery, nixpkgs replaced by lib (no network here).
if git ls-files --error-unmatch flake.nix >/dev/null 2>&1; then
  if out=$(nix eval --no-write-lock-file --override-input nixpkgs "path:$lib_dir" \
    '.#nixosModules.default' --apply 'm: builtins.baseNameOf (toString m)' 2>&1); then
    report ok "flake: nix eval .#nixosModules.default, nixpkgs overridden with lib"
  else
    report FAIL "flake: nix eval .#nixosModules.default" "$(tail -n 3 <<<"$out")"
  fi
  # The inspect target's module, through the same machinery (the flake copies the tree to the store).
  if out=$(nix eval --no-write-lock-file --override-input nixpkgs "path:$lib_dir" --raw \
    '.#nixosModules.inspectTarget' --apply 'm: builtins.baseNameOf (toString m)' 2>"$scratch/flake-err") &&
    [ "$out" = inspect-target.nix ]; then
    report ok "flake: nix eval .#nixosModules.inspectTarget is module/inspect-target.nix"
  else
    report FAIL "flake: nix eval .#nixosModules.inspectTarget" "$out $(tail -n 3 "$scratch/flake-err")"
  fi
  # Listing the packages needs no package set: OpenCode is offered where the lock pins a binary.
  if out=$(nix eval --no-write-lock-file --override-input nixpkgs "path:$lib_dir" --json \
    '.#packages' --apply 'p: builtins.mapAttrs (_: builtins.attrNames) p' 2>"$scratch/flake-err") &&
    [ "$out" = '{"aarch64-linux":["default"],"x86_64-linux":["default","opencode"]}' ]; then
    report ok "flake: packages listed through the flake machinery: default, and opencode on x86_64-linux"
  else
    report FAIL "flake: nix eval .#packages" "$out $(tail -n 3 "$scratch/flake-err")"
  fi
else
  report SKIP "flake: nix eval .#nixosModules.default" "flake.nix is not tracked by git yet"
fi
echo "note  not run here: the Nix package build and the VM tests (need nixpkgs, network and KVM: nix flake check -L)"

exit "$failed"
