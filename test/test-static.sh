#!/bin/sh
# The installed static library and its pkg-config file (docs/guide.md, "Linking statically"):
#  1. libcontextembed.a defines exactly the CE_API functions of the public headers as globals
#     (the internal ce_* names are local to it) and leaves no ce_* name undefined;
#  2. installed with `meson install --destdir`, `pkg-config --cflags contextembed` is only -I
#     (no -D of a dependency's) and `pkg-config --static --libs` lists every library the archive
#     needs, in an order a static link accepts;
#  3. test/install/smoke.c, with a function of its own named like one of the library's internal
#     ones, links against it with `cc ... $(pkg-config --static --libs contextembed) -static` and
#     runs on bert-tiny-uncased. Debian ships no libdnnl.a: built with oneDNN, the program links
#     libcontextembed.a statically and the other libraries dynamically instead (a fully static
#     program needs -Donednn=disabled, which CI's build-no-onednn checks).
# usage: test-static.sh ARCHIVE INTERNAL-ARCHIVE INCLUDE-DIR SOURCE-ROOT BUILD-ROOT FIXTURES-DIR
#        [--symbols-only]
set -eu
archive=$1
internal_archive=$2
inc=$3
src=$4
build_root=$5
fixtures=$6
symbols_only=${7:-}
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ce-test-static.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}

# 1. The archive's symbols.
grep -ho "^CE_API [^(]*(" "$inc"/contextembed/*.h | sed 's/($//' | awk '{print $NF}' | tr -d '*' |
    sort >"$tmp/want"
nm -g --defined-only "$archive" | awk 'NF == 3 {print $3}' | sort >"$tmp/got"
if ! cmp -s "$tmp/want" "$tmp/got"; then
    echo "the archive's global symbols differ from the CE_API declarations:"
    diff -u "$tmp/want" "$tmp/got" || true
    exit 1
fi
undefined=$(nm -u "$archive" | awk '$2 ~ /^ce_/ {print $2}' | tr '\n' ' ')
[ -z "$undefined" ] || fail "ce_* names the archive uses but does not define: $undefined"
# The internal archive's global names (the test suites link it) that are not public.
internal=$(nm -g --defined-only "$internal_archive" | awk 'NF == 3 {print $3}' | sort -u |
    comm -23 - "$tmp/want")
echo "libcontextembed.a: $(wc -l <"$tmp/got") global symbols, all CE_API; the" \
    "$(printf '%s\n' "$internal" | grep -c .) other globals of the internal archive are local in it"
[ "$symbols_only" = "--symbols-only" ] && exit 0

# 2. The installed tree and its pkg-config file.
meson install -C "$build_root" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "meson install --destdir"; }
pc=$(find "$tmp/root" -name contextembed.pc | head -n 1)
[ -n "$pc" ] || fail "no contextembed.pc installed"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
unset PKG_CONFIG_LIBDIR
cflags=$(pkg-config --cflags contextembed)
libs=$(pkg-config --static --libs contextembed)
echo "pkg-config --cflags: $cflags"
echo "pkg-config --static --libs: $libs"
for f in $cflags; do
    case "$f" in -I*) ;; *) fail "pkg-config --cflags gives $f: consumers must get only -I" ;; esac
done
case " $libs " in
    *" -lm "*" -lcontextembed "* | *" -lm "*" -lblis "*) fail "-lm before the libraries that need it" ;;
esac
installed_a=$(find "$tmp/root" -name libcontextembed.a | head -n 1)
[ -n "$installed_a" ] || fail "libcontextembed.a is not installed"
cmp -s "$installed_a" "$archive" || fail "the installed libcontextembed.a is not the checked one"

# 3. A program of one's own, linked statically. Its own function bears an internal name of the
# library's: with those names global in the archive, this link fails ("multiple definition").
clash=$(printf '%s\n' "$internal" | grep '^ce_[a-z0-9_]*$' | head -n 1)
[ -n "$clash" ] || fail "no internal name found"
printf 'int %s(void);\nint %s(void) { return 42; }\n' "$clash" "$clash" >"$tmp/host.c"
static=-static
case " $libs " in
    *" -ldnnl "*)
        if [ "$("$cc" -print-file-name=libdnnl.a)" = libdnnl.a ]; then
            echo "no libdnnl.a (Debian ships only libdnnl.so): libcontextembed.a linked statically," \
                "its dependencies dynamically; a fully static program needs -Donednn=disabled"
            static=""
            libs=$(printf '%s\n' "$libs" | sed 's/-lcontextembed\( \|$\)/-l:libcontextembed.a\1/')
        fi ;;
esac
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Werror $cflags "$src/test/install/smoke.c" "$tmp/host.c" -o "$tmp/smoke" \
    $libs $static >"$tmp/link.log" 2>&1 || { cat "$tmp/link.log"; fail "static link"; }
if [ -n "$static" ]; then
    readelf -d "$tmp/smoke" 2>/dev/null | grep -q NEEDED && fail "-static gave a dynamic program"
    echo "linked fully static (own function $clash() beside the library's)"
else
    readelf -d "$tmp/smoke" | grep -q 'NEEDED.*libcontextembed' && fail "linked the shared library"
    echo "linked libcontextembed.a (own function $clash() beside the library's)"
fi
env -u LD_LIBRARY_PATH "$tmp/smoke" "$fixtures/bert-tiny-uncased" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out"; fail "the static program failed"; }
cat "$tmp/out"
grep -q '^ok: ' "$tmp/out" || fail "unexpected output"
