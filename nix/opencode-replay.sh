# shellcheck shell=bash
# Sourced by nix/check.sh (uses its check_eval, report and $scratch): package/opencode.nix replayed
# on the bytes npm downloaded from the same URL, as closely as this machine allows without nixpkgs.
#
#   - fetch: Nix hashes the tarball to the derivation's fixed-output hash;
#   - installPhase, then preFixup, then autoPatchelfHook as auto-patchelf.py does it: the
#     interpreter set to the store's glibc, and a RUNPATH made only of the buildInputs' lib dirs
#     that hold a DT_NEEDED library glibc does not have (glibc's own are left to the dynamic
#     linker). The store is emulated: glibc and stdenv.cc.cc.lib are this machine's libraries
#     copied under /nix/store-like paths, linked to their own dir as Nix links libraries;
#   - every library the package says the binary loads (the LD_DEBUG evidence in opencode.nix) is
#     in the patched binary's NEEDED or provided by those store paths, and the native libraries in
#     the binary's `.bun` section are the ones the package lists;
#   - each of those embedded libraries dlopen()ed by the patched binary (BUN_BE_BUN=1 makes it run
#     a script) in a root holding nothing but the emulated store: no /lib, no /etc/ld.so.cache, as
#     on NixOS. This is where the watcher addon failed for nixpkgs#522943;
#   - installCheckPhase run as the sandbox would (HOME=/homeless-shelter, read-only);
#   - stripped, the binary is no longer OpenCode (why dontStrip).

oc_attr() { check_eval nix/checks/opencode-build.nix ".$1" --raw; }
# The same, newline-terminated, for `while read` loops.
oc_lines() { oc_attr "$1" && echo; }
oc_fail_all() { report FAIL "opencode: $1" "$2"; }

# NEEDED entries of an ELF, one per line.
needed_of() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
runpath_of() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'; }

# This machine's file for a soname (for filling the emulated store).
host_lib() { # soname
  local found
  found=$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }')
  if [ -z "$found" ]; then
    for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64; do
      if [ -e "$dir/$1" ]; then found="$dir/$1"; break; fi
    done
  fi
  [ -n "$found" ] && readlink -f "$found"
}

# autoPatchelf on one executable: interpreter, then RUNPATH from the lib dirs for NEEDED entries
# not in glibc. Paths are given as seen inside the emulated root ($root prefix removed).
auto_patchelf() { # root file interpreter glibc_dir lib_dirs...
  local root=$1 file=$2 interp=$3 glibc=$4
  shift 4
  local rpath=() dep dir found missing=()
  patchelf --set-interpreter "$interp" "$file" || return 1
  while IFS= read -r dep; do
    [ -z "$dep" ] && continue
    [ -f "$root$glibc/$dep" ] && continue
    found=""
    for dir in "$@"; do
      if [ -f "$root$dir/$dep" ]; then found=$dir; break; fi
    done
    if [ -n "$found" ]; then
      [[ " ${rpath[*]} " == *" $found "* ]] || rpath+=("$found")
    else
      missing+=("$dep")
    fi
  done < <(needed_of "$file")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "auto-patchelf could not satisfy ${missing[*]}"
    return 1
  fi
  if [ ${#rpath[@]} -gt 0 ]; then
    patchelf --set-rpath "$(IFS=:; echo "${rpath[*]}")" "$file" || return 1
  fi
}

opencode_replay() {
  local oc_url oc_hash oc_version cached tarball actual
  if ! oc_url=$(oc_attr url 2>&1); then
    oc_fail_all "evaluating package/opencode.nix" "$oc_url"
    return
  fi
  oc_hash=$(oc_attr hash)
  oc_version=$(oc_attr version)
  if ! cached=$(node nix/cached-tarball.mjs "$(npm config get cache)" "$oc_url" 2>&1); then
    report SKIP "opencode: the fetched tarball" "$cached (npm ci installs it on x86_64)"
    return
  fi
  tarball=${cached%%$'\t'*}
  actual=$(nix hash file --type sha512 --sri "$tarball" 2>&1)
  if [ "$actual" = "$oc_hash" ]; then
    report ok "opencode: the bytes npm fetched from $oc_url hash (Nix, sha512) to the derivation's fixed-output hash, the lock's integrity"
  else
    report FAIL "opencode: the fetched tarball" "Nix hashes $oc_url to $actual, the derivation expects $oc_hash"
  fi

  local why=""
  if [ "$(uname -m)" != x86_64 ]; then why="the pinned binary is x86_64, this is $(uname -m)"
  elif ! command -v patchelf >/dev/null 2>&1; then why="patchelf is not installed (../shared/nix/install-nix.sh installs it)"
  elif ! command -v readelf >/dev/null 2>&1; then why="readelf (binutils) is not installed"
  elif ! command -v python3 >/dev/null 2>&1; then why="python3 is not installed"
  fi
  if [ -n "$why" ]; then
    report SKIP "opencode: patched as the derivation is" "$why"
    return
  fi

  local oc_dir="$scratch/opencode" root="$scratch/opencode/root"
  local zeros=00000000000000000000000000000000
  local glibc="/nix/store/$zeros-glibc-emulated/lib"
  local out="/nix/store/$zeros-opencode-$oc_version"
  mkdir -p "$oc_dir/build" "$root$glibc" "$root$out"
  tar -xzf "$tarball" -C "$oc_dir/build"
  local orig="$oc_dir/build/package/bin/opencode" interp soname
  interp=$(patchelf --print-interpreter "$orig")
  # glibc: the interpreter and the libraries of its package.
  for soname in "$(basename "$interp")" libc.so.6 libm.so.6 libmvec.so.1 libpthread.so.0 libdl.so.2 \
    libutil.so.1 librt.so.1 libresolv.so.2 libanl.so.1 libnss_files.so.2 libnss_dns.so.2; do
    local src
    src=$(host_lib "$soname") || continue
    [ -n "$src" ] && cp "$src" "$root$glibc/$soname"
  done

  # buildInputs: stdenv.cc.cc.lib gets this machine's libstdc++ and libgcc_s; nothing else is known.
  local cc_lib lib_dirs=() name path
  cc_lib=$(oc_attr ccLib)
  while IFS=$'\t' read -r name path; do
    [ -z "$path" ] && continue
    if [ "$path" != "$cc_lib" ]; then
      report FAIL "opencode: buildInputs" "$name has no emulation in nix/opencode-replay.sh"
      continue
    fi
    mkdir -p "$root$path/lib"
    for soname in libstdc++.so.6 libgcc_s.so.1; do
      cp "$(host_lib "$soname")" "$root$path/lib/$soname"
      patchelf --set-rpath "$path/lib:$glibc" "$root$path/lib/$soname"
    done
    lib_dirs+=("$path/lib")
  done < <(oc_lines buildInputs)

  # installPhase, preFixup, autoPatchelf (postFixup), each as the derivation says.
  local err install_phase pre_fixup
  install_phase=$(oc_attr installPhase)
  pre_fixup=$(oc_attr preFixup)
  if ! err=$(cd "$oc_dir/build/package" && out="$root$out" bash -euo pipefail -c "runHook() { :; }; $install_phase" 2>&1) ||
    ! err=$(out="$root$out" bash -euo pipefail -c "$pre_fixup" 2>&1) ||
    ! err=$(auto_patchelf "$root" "$root$out/bin/opencode" "$glibc/$(basename "$interp")" "$glibc" "${lib_dirs[@]}" 2>&1); then
    report FAIL "opencode: installPhase, preFixup and autoPatchelf" "$err"
    rm -rf "$oc_dir"
    return
  fi
  local bin="$root$out/bin/opencode" needed runpath
  needed=$(needed_of "$bin")
  runpath=$(runpath_of "$bin")
  if grep -qx 'libstdc++.so.6' <<<"$needed" && [ "$runpath" = "${lib_dirs[*]}" ] && [ -n "$runpath" ]; then
    report ok "opencode: patched as the derivation is (preFixup's --add-needed, then autoPatchelf): NEEDED has libstdc++.so.6, RUNPATH is stdenv.cc.cc.lib's lib dir alone ($runpath), interpreter the store's glibc"
  else
    report FAIL "opencode: the patched binary's NEEDED and RUNPATH" "NEEDED: $(tr '\n' ' ' <<<"$needed"); RUNPATH: ${runpath:-none} (the watcher addon needs libstdc++.so.6 loaded or findable)"
  fi

  opencode_loaded_libraries "$root" "$bin" "$glibc" "${lib_dirs[@]}"
  opencode_embedded "$root" "$out" "$glibc" "$orig"
  opencode_install_check "$root" "$out" "$oc_version"
  opencode_stripped "$orig" "$oc_dir" "$oc_version"
  rm -rf "$oc_dir"
}

# Every library the package says the binary loads: in NEEDED, or provided by the emulated store
# (glibc's dir for glibc's; a buildInput's lib dir, and loaded through a NEEDED library, for the rest).
opencode_loaded_libraries() { # root bin glibc lib_dirs...
  local root=$1 bin=$2 glibc=$3
  shift 3
  local needed lib problems=() listed=0 dir via
  needed=$(needed_of "$bin")
  while IFS= read -r lib; do
    [ -z "$lib" ] && continue
    listed=$((listed + 1))
    grep -qx "$lib" <<<"$needed" && [ -f "$root$glibc/$lib" ] && continue
    [ -f "$root$glibc/$lib" ] || problems+=("$lib: not in the store's glibc")
  done < <(oc_lines libsGlibc)
  while IFS= read -r lib; do
    [ -z "$lib" ] && continue
    listed=$((listed + 1))
    grep -qx "$lib" <<<"$needed" && continue
    # Not the binary's own: a NEEDED library's dependency, from that library's store path.
    via=""
    for dir in "$@"; do
      local dep
      while IFS= read -r dep; do
        if [ -f "$root$dir/$dep" ] && needed_of "$root$dir/$dep" | grep -qx "$lib" && [ -f "$root$dir/$lib" ]; then
          via="$dep"
        fi
      done <<<"$needed"
    done
    [ -n "$via" ] || problems+=("$lib: neither NEEDED by the binary nor by a NEEDED library in buildInputs")
  done < <(oc_lines libsCcLib)
  if [ "$listed" -eq 0 ]; then
    report FAIL "opencode: the libraries it loads" "package/opencode.nix lists none (passthru.loadedLibraries)"
  elif [ ${#problems[@]} -eq 0 ]; then
    report ok "opencode: each of the $listed libraries a scripted-model run loaded is NEEDED by the patched binary or comes from the store with a NEEDED one (libgcc_s.so.1 through libstdc++.so.6); $(oc_attr libsHostNss | paste -sd' ') is glibc's NSS for the host's nsswitch.conf, not OpenCode's"
  else
    report FAIL "opencode: the libraries it loads" "${problems[*]}"
  fi
}

# The `.bun` section's native libraries: the package's list, and each loads in a NixOS-like root.
opencode_embedded() { # root out glibc orig
  local root=$1 out=$2 glibc=$3 orig=$4
  local listing names elves
  if ! listing=$(python3 nix/bun-embedded.py "$orig" "$root/embedded" 2>&1); then
    report FAIL "opencode: the native libraries in the .bun section" "$listing"
    return
  fi
  names=$(awk -F'\t' '$1 == "name" { print $2 }' <<<"$listing" | sort)
  elves=$(awk -F'\t' '$1 == "elf" { print $2 }' <<<"$listing")
  if [ "$names" = "$(oc_attr libsEmbedded | sort)" ] && [ "$(wc -l <<<"$elves")" -eq "$(wc -l <<<"$names")" ]; then
    report ok "opencode: the .bun section holds exactly the native libraries package/opencode.nix lists: $(tr '\n' ' ' <<<"$names")"
  else
    report FAIL "opencode: the native libraries in the .bun section" "found $(tr '\n' ' ' <<<"$names")($(wc -l <<<"$elves") ELF files), package/opencode.nix lists $(oc_attr libsEmbedded | tr '\n' ' ')"
  fi
  if ! command -v bwrap >/dev/null 2>&1; then
    report SKIP "opencode: the embedded libraries dlopen()ed in a NixOS-like root" "needs bwrap"
    return
  fi
  # process.dlopen: a library that is no Node-API module still gets loaded (and then refused for
  # lacking napi_register_module_v1); a library whose dependencies cannot be found is not.
  cat >"$root/dlopen.js" <<'EOF'
for (const path of process.argv.slice(2)) {
  try {
    process.dlopen({ exports: {} }, path);
    console.log(`loaded ${path}`);
  } catch (e) {
    const msg = String(e.message);
    console.log(msg.includes("napi_register_module_v1") ? `loaded ${path}` : `FAILED ${path}: ${msg}`);
  }
}
EOF
  local inside=() f said
  while IFS= read -r f; do inside+=("/embedded/$(basename "$f")"); done <<<"$elves"
  # The loader is this machine's ld.so under a store path; its compiled-in default dir gets the
  # emulated glibc, as a Nix glibc's ld.so defaults to its own lib dir and to nothing else.
  local default_dir
  default_dir=$(dirname "$(host_lib libc.so.6)")
  said=$(env -i BUN_BE_BUN=1 HOME=/tmp "$(command -v bwrap)" --ro-bind "$root/nix" /nix \
    --ro-bind "$root$glibc" "$default_dir" \
    --ro-bind "$root/embedded" /embedded --ro-bind "$root/dlopen.js" /dlopen.js \
    --tmpfs /tmp --proc /proc --dev /dev --die-with-parent \
    "$out/bin/opencode" /dlopen.js "${inside[@]}" 2>&1)
  if [ "$(grep -c '^loaded ' <<<"$said")" -eq "${#inside[@]}" ]; then
    report ok "opencode: each of the ${#inside[@]} embedded libraries dlopen()ed by the patched binary in a root with only the store (no /lib, no ld.so.cache)"
  else
    report FAIL "opencode: the embedded libraries dlopen()ed in a NixOS-like root" "$(grep -v '^loaded ' <<<"$said" | head -n 4)"
  fi
}

# installCheckPhase as the build sandbox runs it: HOME=/homeless-shelter, which cannot be created.
opencode_install_check() { # root out version
  local root=$1 out=$2 version=$3 phase err
  phase=$(oc_attr installCheckPhase)
  if [ -z "$phase" ]; then
    report FAIL "opencode: installCheckPhase" "package/opencode.nix has none (versionCheckHook's environment differs between nixpkgs releases)"
    return
  fi
  if ! command -v bwrap >/dev/null 2>&1; then
    report SKIP "opencode: installCheckPhase in a sandbox-like environment" "needs bwrap"
    return
  fi
  sandboxed() { # command...
    env -i HOME=/homeless-shelter TMPDIR=/build PATH=/usr/bin:/bin out="$out" version="$version" \
      "$(command -v bwrap)" --ro-bind /usr /usr --ro-bind-try /bin /bin --ro-bind-try /lib /lib \
      --ro-bind-try /lib64 /lib64 --ro-bind-try /etc /etc --ro-bind "$root/nix" /nix \
      --tmpfs /build --tmpfs /tmp --proc /proc --dev /dev --remount-ro / --die-with-parent "$@" 2>&1
  }
  if err=$(sandboxed bash -euo pipefail -c "runHook() { :; }; $phase"); then
    if sandboxed bash -c '"$out/bin/opencode" --version' >/dev/null; then
      report FAIL "opencode: installCheckPhase" "--version also works with HOME=/homeless-shelter here, so this replay cannot tell"
    else
      report ok "opencode: installCheckPhase passes with the sandbox's read-only HOME=/homeless-shelter (--version says $version; without HOME=\$TMPDIR it fails)"
    fi
  else
    report FAIL "opencode: installCheckPhase with HOME=/homeless-shelter" "$(tail -n 4 <<<"$err")"
  fi
}

# Stripped, the Bun executable loses its `.bun` section and is plain Bun.
opencode_stripped() { # orig oc_dir version
  local orig=$1 oc_dir=$2 version=$3 said
  if ! command -v strip >/dev/null 2>&1; then
    report SKIP "opencode: stripped" "needs strip (binutils)"
    return
  fi
  cp "$orig" "$oc_dir/stripped"
  strip "$oc_dir/stripped"
  said=$(HOME="$oc_dir/home" XDG_CACHE_HOME="$oc_dir/home/.cache" timeout 60 "$oc_dir/stripped" --version 2>&1 | tail -n 1)
  if [ "$said" != "$version" ]; then
    report ok "opencode: stripped, it is no longer OpenCode (--version says \"$said\"): dontStrip is needed"
  else
    report FAIL "opencode: stripped" "still says $version: dontStrip may be unneeded, re-check the comment"
  fi
}
