#!/bin/sh
# Build libcontextembed and the contextembed CLI into an application directory that carries every
# library they load except glibc, each found beside the others through RUNPATH $ORIGIN:
#
#   APP/bin/contextembed                          RUNPATH $ORIGIN/../lib
#   APP/lib/libcontextembed.so.0 (.so.0.x.y, .so) RUNPATH $ORIGIN
#   APP/lib/libblis.so.4, libgomp.so.1, ...       copies of this system's libraries, RUNPATH $ORIGIN
#   APP/include/contextembed/*.h                  to build the application against
#   APP/share/licenses/BUNDLED                    each copy: soname, Debian package, where from
#   APP/share/licenses/PACKAGE/copyright          the copies' licences (Debian packages)
#
# glibc stays the system's: libc, libm, libpthread, libdl, librt, ... and the dynamic loader are
# one package whose parts only work with each other and with the loader, so they cannot be carried
# (see docs/guide.md, "Shipping the library inside an application").
#
# usage: scripts/make-bundle.sh [-B BUILDDIR [--no-rebuild]] APPDIR [MESON-SETUP-OPTION...]
#   -B BUILDDIR  the build directory. Not configured yet (or not given: a temporary one, removed
#                afterwards): configured here with -Dbundle=true -Dtests=false and the options
#                given. Already configured: used as it is; if it was not configured with
#                -Dbundle=true, the RUNPATHs of the library and the CLI are set with patchelf.
#   --no-rebuild install what BUILDDIR holds without running ninja first.
#   BUNDLE_JOBS  environment: ninja's -j (default: ninja's own).
# Needs meson, ninja, patchelf (Debian package patchelf), ldd and readelf. APPDIR may hold an
# earlier bundle: the files named above are replaced, the copies of step 3 kept (start from an
# empty APPDIR to take the system's current ones).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: $0 [-B BUILDDIR [--no-rebuild]] APPDIR [MESON-SETUP-OPTION...]"
build=""
rebuild=1
while [ $# -gt 0 ]; do
    case "$1" in
        -B) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
            build=$2
            shift 2 ;;
        --no-rebuild) rebuild=0
            shift ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
app=$1
shift
for tool in meson patchelf ldd readelf; do
    command -v "$tool" >/dev/null 2>&1 || { echo "make-bundle.sh: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ce-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$build" ] || build="$work/build"

# 1. Build and install into a staging directory.
if [ ! -f "$build/meson-private/coredata.dat" ]; then
    meson setup "$build" "$src" -Dbundle=true -Dtests=false --prefix=/ --bindir=bin --libdir=lib \
        --includedir=include "$@" >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; exit 1; }
elif [ $# -gt 0 ]; then
    echo "make-bundle.sh: $build is configured already; meson options ignored: $*" >&2
fi
if [ "$rebuild" = 1 ]; then
    ninja -C "$build" ${BUNDLE_JOBS:+-j "$BUNDLE_JOBS"} >"$work/build.log" 2>&1 ||
        { tail -n 40 "$work/build.log" >&2; exit 1; }
fi
meson install -C "$build" --destdir "$work/stage" --no-rebuild --quiet >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; exit 1; }

# 2. The library, the CLI and the headers, wherever the build's prefix, libdir and bindir put them.
mkdir -p "$app/bin" "$app/lib" "$app/include"
app=$(cd "$app" && pwd -P)
lib_real=$(find "$work/stage" -name 'libcontextembed.so.*.*' -type f | head -n 1)
cli=$(find "$work/stage" -path '*/bin/contextembed' -type f | head -n 1)
[ -n "$lib_real" ] && [ -n "$cli" ] || { echo "make-bundle.sh: nothing installed?" >&2; exit 1; }
rm -f "$app"/lib/libcontextembed.so*
cp -P "$(dirname "$lib_real")"/libcontextembed.so* "$app/lib/"
cp "$cli" "$app/bin/contextembed"
rm -rf "$app/include/contextembed"
cp -R "$(find "$work/stage" -type d -path '*/include/contextembed' | head -n 1)" "$app/include/"
soname=$(readelf -d "$lib_real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')

runpath() { readelf -d "$1" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'; }
set_runpath() { # FILE RUNPATH
    if [ "$(runpath "$1")" != "$2" ]; then
        patchelf --set-rpath "$2" "$1"
    fi
}
for f in "$app/lib/$soname" "$app/bin/contextembed"; do
    want='$ORIGIN'
    [ "$f" = "$app/bin/contextembed" ] && want='$ORIGIN/../lib'
    if [ "$(runpath "$f")" != "$want" ]; then
        echo "note: $(basename "$f"): RUNPATH set with patchelf (the build was not configured with -Dbundle=true)"
        patchelf --set-rpath "$want" "$f"
    fi
done

# 3. Every library they load, except glibc's, copied beside them (ldd lists the whole tree).
. "$src/scripts/bundle-system.sh"
deps=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD ldd "$app/bin/contextembed" "$app/lib/$soname" |
    awk '$2 == "=>" {print $1, $3}' | sort -u)
missing=$(printf '%s\n' "$deps" | awk '$2 == "not" {print $1}')
[ -z "$missing" ] || { echo "make-bundle.sh: not found: $missing" >&2; exit 1; }
printf '%s\n' "$deps" | while read -r name path; do
    [ -n "$name" ] || continue
    is_system "$name" && continue
    case "$(readlink -f "$path")" in "$app"/*) continue ;; esac
    rm -f "$app/lib/$name"
    cp -L "$path" "$app/lib/$name"
    chmod u+w "$app/lib/$name"
    set_runpath "$app/lib/$name" '$ORIGIN'
    # The copy's licence goes with it (Debian: the copyright file of the package that has it).
    pkg=""
    if command -v dpkg-query >/dev/null 2>&1; then
        pkg=$({ dpkg-query -S "$path" || dpkg-query -S "$(readlink -f "$path")"; } 2>/dev/null |
            head -n 1 | cut -d: -f1)
    fi
    if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
        mkdir -p "$app/share/licenses/$pkg"
        cp "/usr/share/doc/$pkg/copyright" "$app/share/licenses/$pkg/copyright"
    fi
    mkdir -p "$app/share/licenses"
    touch "$app/share/licenses/BUNDLED"
    grep -v "^$name " "$app/share/licenses/BUNDLED" >"$work/bundled" || true
    echo "$name ${pkg:-?} $(readlink -f "$path")" >>"$work/bundled"
    sort "$work/bundled" >"$app/share/licenses/BUNDLED"
    echo "bundled $name (from $path, package ${pkg:-unknown})"
done

# 4. Check: nothing but glibc resolves outside the bundle now.
outside=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD ldd "$app/bin/contextembed" "$app"/lib/*.so.* |
    awk '$2 == "=>" {print $1, $3}' | sort -u | while read -r name path; do
        is_system "$name" && continue
        case "$(readlink -f "$path")" in "$app"/lib/*) ;; *) echo "$name => $path" ;; esac
    done)
if [ -n "$outside" ]; then
    echo "make-bundle.sh: still outside $app: $outside" >&2
    exit 1
fi
echo "bundle in $app: $(ls "$app/lib" | wc -l) files in lib/, bin/contextembed; glibc from the system"
