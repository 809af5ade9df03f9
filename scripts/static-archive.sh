#!/bin/sh
# Build step (a meson custom_target): the installed static library, libcontextembed.a.
#
# Every object of the internal archive is partially linked (ld -r) into one relocatable object,
# in which only the names of the version script stay global (objcopy --keep-global-symbols).
# The archive then defines exactly the symbols the shared library exports: a program linking it
# statically sees the public API and nothing else, so its own names cannot clash with ours.
#
# usage: static-archive.sh OUTPUT.a VERSION-SCRIPT INTERNAL.a OBJCOPY AR CC [CC-ARGS...]
set -eu
out=$1
map=$2
internal=$3
objcopy=$4
ar=$5
shift 5
tmp="$out.d"
rm -rf "$tmp" "$out"
mkdir "$tmp"
# "    ce_name;" lines of the version script (every node); "local: *;" is not a name.
sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*$/\1/p' "$map" | sort -u > "$tmp/public"
if [ ! -s "$tmp/public" ]; then
    echo "static-archive.sh: no symbol names in $map" >&2
    exit 1
fi
"$@" -r -nostdlib -o "$tmp/contextembed.o" -Wl,--whole-archive "$internal" -Wl,--no-whole-archive
"$objcopy" --keep-global-symbols="$tmp/public" "$tmp/contextembed.o"
"$ar" rcs "$out" "$tmp/contextembed.o"
rm -rf "$tmp"
