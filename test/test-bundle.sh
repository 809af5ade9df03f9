#!/bin/sh
# An application directory made by scripts/make-bundle.sh runs on its own copies of every library
# but glibc's (docs/guide.md, "Shipping the library inside an application"), after being moved:
#  1. a fresh build configured by the script (-Dbundle=true: RUNPATHs from meson), and
#  2. this build directory, bundled as it is (RUNPATHs set with patchelf);
# in each, the bundled CLI and a program linked against the bundled libcontextembed.so
# (test/install/smoke.c) must run on bert-tiny-uncased, and both `ldd` and the dynamic loader
# (LD_DEBUG=libs) must show every library except glibc's coming from the bundle.
# usage: test-bundle.sh SOURCE-ROOT BUILD-ROOT FIXTURES-DIR [MESON-SETUP-OPTION...]
set -eu
src=$1
build_root=$2
fixtures=$3
shift 3
model="$fixtures/bert-tiny-uncased"
if ! command -v patchelf >/dev/null 2>&1; then
    echo "SKIP: patchelf is missing (Debian package patchelf; scripts/install-deps.sh installs it)"
    exit 77
fi
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ce-test-bundle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH LD_PRELOAD

# glibc: the C library, its parts and the loader (what make-bundle.sh leaves out).
. "$src/scripts/bundle-system.sh"
fail() {
    echo "FAIL: $*"
    exit 1
}

check_bundle() { # APP LABEL
    app=$1
    label=$2
    # The program a user would link against the bundle: RUNPATH $ORIGIN/../lib, like the CLI.
    "$cc" -std=c99 -Wall -Werror -I"$app/include" "$src/test/install/smoke.c" -o "$app/bin/smoke" \
        -L"$app/lib" -Wl,-rpath-link,"$app/lib" -lcontextembed -Wl,--enable-new-dtags \
        -Wl,-rpath,'$ORIGIN/../lib'
    # Moved after it was made: nothing may point back to where it was built.
    moved="$tmp/moved-$(basename "$app")/app"
    mkdir "$(dirname "$moved")"
    mv "$app" "$moved"
    app=$(cd "$moved" && pwd -P)

    for f in "$app"/lib/*.so.* "$app/bin/contextembed" "$app/bin/smoke"; do
        [ -L "$f" ] && continue
        rp=$(readelf -d "$f" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
        [ -z "$rp" ] || fail "$label: $f has a DT_RPATH ($rp), not a RUNPATH"
    done
    lib_runpath=$(readelf -d "$app/lib/libcontextembed.so.0" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    cli_runpath=$(readelf -d "$app/bin/contextembed" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    [ "$lib_runpath" = '$ORIGIN' ] || fail "$label: libcontextembed.so.0 RUNPATH is '$lib_runpath'"
    [ "$cli_runpath" = '$ORIGIN/../lib' ] || fail "$label: contextembed RUNPATH is '$cli_runpath'"

    # ldd: every library of every file resolves inside the bundle, glibc's excepted.
    : >"$tmp/ldd-system"
    for f in "$app/bin/contextembed" "$app/bin/smoke" "$app"/lib/*.so.*; do
        ldd "$f" >"$tmp/ldd" 2>&1 || fail "$label: ldd $f: $(cat "$tmp/ldd")"
        grep -q 'not found' "$tmp/ldd" && fail "$label: ldd $f: $(grep 'not found' "$tmp/ldd")"
        awk '$2 == "=>" {print $1, $3}' "$tmp/ldd" | while read -r name path; do
            if is_system "$name"; then
                echo "$name" >>"$tmp/ldd-system"
                continue
            fi
            case "$(readlink -f "$path")" in
                "$app"/lib/*) ;;
                *) fail "$label: ldd $(basename "$f"): $name => $path, outside the bundle" ;;
            esac
        done
    done
    bundled=""
    for f in "$app"/lib/*.so*; do
        case "${f##*/}" in libcontextembed.*) ;; *) bundled="$bundled ${f##*/}" ;; esac
    done
    # Each copy listed with its package, whose copyright file came along (on Debian).
    for name in $bundled; do
        pkg=$(awk -v n="$name" '$1 == n {print $2}' "$app/share/licenses/BUNDLED")
        [ -n "$pkg" ] || fail "$label: $name is not in share/licenses/BUNDLED"
        if command -v dpkg-query >/dev/null 2>&1; then
            [ -f "$app/share/licenses/$pkg/copyright" ] || fail "$label: no licence for $name ($pkg)"
        fi
    done
    echo "$label: ldd: all resolved in the bundle ($bundled ) but glibc's:" \
        "$(sort -u "$tmp/ldd-system" | tr '\n' ' ')"

    # The dynamic loader, running them: every object it initialises, and any it would load later.
    run_traced() { # NAME COMMAND...
        name=$1
        shift
        rm -f "$tmp/ld".*
        if ! LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld" "$@" >"$tmp/out" 2>"$tmp/err"; then
            cat "$tmp/out" "$tmp/err"
            fail "$label: $name exited with an error"
        fi
        cat "$tmp/ld".* >"$tmp/trace"
        sed -n 's/.*calling init: //p' "$tmp/trace" | sort -u >"$tmp/inits"
        from_bundle=0
        from_system=""
        while read -r path; do
            case "$(readlink -f "$path")" in
                "$app"/*) from_bundle=$((from_bundle + 1)) ;;
                *) is_system "$(basename "$path")" || fail "$label: $name loaded $path from outside the bundle"
                   from_system="$from_system $(basename "$path")" ;;
            esac
        done <"$tmp/inits"
        # At least every library ldd lists for the program (all from the bundle, as checked above).
        want=$(ldd "$1" | awk '$2 == "=>" {print $1}' | while read -r n; do
            is_system "$n" || echo "$n"; done | wc -l)
        [ "$from_bundle" -ge "$want" ] && [ "$want" -gt 0 ] ||
            fail "$label: $name: $from_bundle libraries initialised from the bundle, ldd lists $want"
        echo "$label: $name: LD_DEBUG=libs: $from_bundle objects initialised from the bundle, from the system:$from_system"
    }
    run_traced "contextembed info" "$app/bin/contextembed" info -m "$model"
    grep -q '"architecture"' "$tmp/out" || fail "$label: contextembed info printed $(cat "$tmp/out")"
    run_traced "contextembed embed" "$app/bin/contextembed" embed -m "$model" --pool mean \
        --threads 2 "The tide went out."
    grep -q '"data"' "$tmp/out" || fail "$label: contextembed embed printed $(cat "$tmp/out")"
    run_traced "smoke (linked against the bundled .so)" "$app/bin/smoke" "$model"
    grep -q '^ok: ' "$tmp/out" || fail "$label: smoke printed $(cat "$tmp/out")"
    grep -q 'libcontextembed.so.0' "$tmp/inits" || fail "$label: smoke did not load the bundled libcontextembed"
}

# 1. The recipe as documented: a build configured by the script with -Dbundle=true.
BUNDLE_JOBS=${BUNDLE_JOBS:-2} sh "$src/scripts/make-bundle.sh" -B "$tmp/build" "$tmp/app1" "$@" \
    >"$tmp/make1.log" 2>&1 || { cat "$tmp/make1.log"; fail "make-bundle.sh (fresh build)"; }
grep -q '^note: .*patchelf' "$tmp/make1.log" &&
    fail "-Dbundle=true left the RUNPATHs to patchelf: $(grep '^note' "$tmp/make1.log")"
rm -rf "$tmp/build"
check_bundle "$tmp/app1" "fresh -Dbundle=true build"

# 2. An existing build directory (this one), bundled as it is.
sh "$src/scripts/make-bundle.sh" -B "$build_root" --no-rebuild "$tmp/app2" >"$tmp/make2.log" 2>&1 ||
    { cat "$tmp/make2.log"; fail "make-bundle.sh -B $build_root"; }
check_bundle "$tmp/app2" "this build, patched"
echo "bundles run on their own libraries; only glibc comes from the system"
