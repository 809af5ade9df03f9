#!/bin/sh
# Build (if needed) and run the whole test suite.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs "$@"
