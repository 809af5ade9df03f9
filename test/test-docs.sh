#!/bin/sh
# The API reference (docs/Doxyfile.in as meson configured it) builds with no Doxygen warning:
# every public declaration documented, no @param naming a parameter that does not exist, no
# function documenting only some of its parameters, no broken markup. Skips (77) without doxygen.
# Usage: test-docs.sh DOXYGEN DOXYFILE     (DOXYGEN empty when meson did not find it)
set -u
doxygen="$1"
doxyfile="$2"
if [ -z "$doxygen" ] || ! command -v "$doxygen" >/dev/null 2>&1; then
    echo "doxygen not found (Debian: apt-get install doxygen): skipped"
    exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The configured settings, with the output and the warnings sent to the scratch directory.
{
    cat "$doxyfile"
    echo "OUTPUT_DIRECTORY = \"$out\""
    echo "WARN_LOGFILE = \"$out/warnings.log\""
} | "$doxygen" - >"$out/doxygen.log" 2>&1
rc=$?
status=0
if [ -s "$out/warnings.log" ]; then
    echo "Doxygen warnings:"
    cat "$out/warnings.log"
    status=1
fi
if [ "$rc" -ne 0 ]; then
    echo "doxygen exited with $rc"
    cat "$out/doxygen.log"
    status=1
fi
if [ ! -s "$out/html/index.html" ]; then
    echo "no html/index.html was written"
    status=1
fi
[ "$status" -eq 0 ] && echo "API reference: $(ls "$out/html" | grep -c '\.html$') HTML pages, no warning"
exit $status
