#!/bin/sh
# Build the contextembed wheel: the Python package with libcontextembed, compiled from this
# checkout, inside it. Prints the wheel's path (the only line on stdout; pip's output goes to
# stderr), so `pip install "$(sh scripts/build-wheel.sh)"` installs it.
#
# Usage: scripts/build-wheel.sh [OUTDIR [PIP-ARGS...]]
#   OUTDIR     where the wheel goes (default: dist/ in the checkout)
#   PIP-ARGS   more for `pip wheel`, e.g. --config-settings=compile-args=-j2
#   $PYTHON    the Python the wheel is for (default /usr/bin/python3, else python3); it needs
#              pip and meson-python (Debian: python3-pip python3-mesonpy)
#
# Offline (no PyPI) pip cannot fetch meson-python into an isolated build environment, so the
# build uses the one installed: --no-build-isolation. The library links the system's libblis,
# libdnnl, libyaml, libutf8proc and libgomp: the wheel is for machines that have them.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist}
[ $# -gt 0 ] && shift
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
fi
if ! "$PYTHON" -c 'import mesonpy' 2>/dev/null; then
    echo "build-wheel.sh: $PYTHON has no meson-python (Debian: apt-get install python3-mesonpy)" >&2
    exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ce-wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m pip wheel --no-build-isolation --no-deps --no-index --disable-pip-version-check \
    -w "$tmp" "$@" "$root/bindings/python" >&2
set -- "$tmp"/contextembed-*.whl
[ -f "$1" ] || { echo "build-wheel.sh: pip made no wheel" >&2; exit 1; }
mv -f "$1" "$out/"
echo "$out/$(basename "$1")"
