#!/bin/sh
# Install the Debian packages the build and the test suite need, if any is missing.
set -eu
PKGS="meson ninja-build pkg-config gcc g++ binutils libblis-dev libdnnl-dev check libyaml-dev libutf8proc-dev python3 abigail-tools"
# contextembed.dask and its test: distributed (dask), and what --no-install-recommends leaves out
# of it: numpy for dask.array, pandas for Dask DataFrames.
PKGS="$PKGS python3-distributed python3-numpy python3-pandas"
# test/fuzz/run.sh: clang with libFuzzer
PKGS="$PKGS clang libclang-rt-14-dev"
# pip install ./bindings/python offline (meson-python) and test/test-pip.sh (fresh venvs)
PKGS="$PKGS python3-mesonpy python3-pip python3-venv"
# scripts/make-bundle.sh and test/test-bundle.sh (the static link of test/test-static.sh needs
# no more: libyaml-dev, libutf8proc-dev, libblis-dev, gcc and libc6-dev ship their .a files)
PKGS="$PKGS patchelf"
# the API reference (meson compile -C build docs) and its test (test/test-docs.sh)
PKGS="$PKGS doxygen"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
