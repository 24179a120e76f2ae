#!/usr/bin/env bash
# The offline Nix checks: every .nix file parses; the module, evaluated with nixpkgs `lib`, stub
# NixOS options and fake pkgs, gives the expected unit, users, Postgres, tmpfiles and firewall; bad
# option values fail with the module system's message; the generated settings pass
# `check-config --shape-only` and build as a file; the flake's wiring evaluates.
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

# 3. Bad option values fail, with the module system's own message.
bad=nix/checks/bad-values.nix
if names=$(check_eval "$bad" "" --raw --apply 'c: builtins.concatStringsSep "\n" (builtins.attrNames c)' 2>&1); then
  while IFS= read -r name; do
    expected=$(check_eval "$bad" ".\"$name\".expect" --raw)
    if err=$(check_eval "$bad" ".\"$name\".value" --json 2>&1); then
      report FAIL "rejected: $name" "evaluated without error: $err"
    elif grep -qF -- "$expected" <<<"$err"; then
      report ok "rejected: $name ($expected)"
    else
      report FAIL "rejected: $name" "expected \"$expected\" in: $(tail -n 3 <<<"$err")"
    fi
  done <<<"$names"
else
  report FAIL "evaluating $bad" "$names"
fi

# 4. Closest to the package build without nixpkgs: the pruned package.json and lock, installed from
#    npm's local cache (as npmConfigHook installs from the store), built with tsc, then pruned to
#    the runtime dependencies. The result checks the generated settings below, as the module's
#    build-time check runs the built package.
pkg="$scratch/package"
mkdir -p "$pkg"
check_eval nix/checks/pruned-npm.nix ".package" --json >"$pkg/package.json"
check_eval nix/checks/pruned-npm.nix ".packageLock" --json >"$pkg/package-lock.json"
cp -r src tsconfig.json tsconfig.build.json "$pkg/"
if [ -d share ]; then cp -r share "$pkg/"; fi
npm_quiet=(--offline --no-audit --no-fund --loglevel=error)
checker=()
if ! err=$(cd "$pkg" && npm ci --ignore-scripts "${npm_quiet[@]}" 2>&1); then
  if grep -q ENOTCACHED <<<"$err"; then
    report SKIP "package: offline install of the pruned lock" "npm's cache lacks some tarballs (run npm ci once with network)"
  else
    report FAIL "package: offline install of the pruned lock" "$(tail -n 5 <<<"$err")"
  fi
elif ! err=$(cd "$pkg" && npm run build --silent 2>&1); then
  report FAIL "package: npm run build with only the pruned lock's packages" "$(tail -n 8 <<<"$err")"
elif ! err=$(cd "$pkg" && npm prune --omit=dev "${npm_quiet[@]}" 2>&1); then
  report FAIL "package: npm prune --omit=dev" "$(tail -n 5 <<<"$err")"
else
  report ok "package: npm run build with only the pruned lock's packages (no OpenCode binary, vitest, biome), then pruned to runtime"
  checker=(node "$pkg/dist/main.js")
  checker_label="the built package"
fi
if [ ${#checker[@]} -eq 0 ] && [ -f src/main.ts ]; then
  checker=(node_modules/.bin/tsx src/main.ts)
  checker_label="tsx src/main.ts"
fi

# 5. The generated settings JSON: builds as a file, and passes the program's own shape check.
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

# 6. The flake through Nix's own flake machinery, nixpkgs replaced by lib (no network here).
if git ls-files --error-unmatch flake.nix >/dev/null 2>&1; then
  if out=$(nix eval --no-write-lock-file --override-input nixpkgs "path:$lib_dir" \
    '.#nixosModules.default' --apply 'm: builtins.baseNameOf (toString m)' 2>&1); then
    report ok "flake: nix eval .#nixosModules.default, nixpkgs overridden with lib"
  else
    report FAIL "flake: nix eval .#nixosModules.default" "$(tail -n 3 <<<"$out")"
  fi
else
  report SKIP "flake: nix eval .#nixosModules.default" "flake.nix is not tracked by git yet"
fi
echo "note  not run here: the Nix package build and the VM tests (need nixpkgs, network and KVM: nix flake check -L)"

exit "$failed"
