#!/bin/sh
# The library's ABI against the dump of the last release (abi/): additions are fine,
# anything incompatible fails. Skips (77) when abigail-tools is not installed.
set -u
lib="$1"
dump="$2"
inc="$3"
if ! command -v abidiff >/dev/null 2>&1; then
    echo "SKIP: abidiff not found (Debian package abigail-tools)"
    exit 77
fi
abidiff --headers-dir2 "$inc/contextembed" "$dump" "$lib"
rc=$?
# abidiff exit bits: 1 error, 2 usage, 4 ABI change, 8 incompatible change
if [ $((rc & 3)) -ne 0 ]; then
    echo "abidiff failed to run (exit $rc)"
    exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
    echo "INCOMPATIBLE ABI CHANGE against $dump"
    exit 1
fi
echo "ABI compatible with $dump (exit $rc)"
exit 0
