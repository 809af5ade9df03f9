#!/bin/sh
# The Python package installs with pip, offline, and carries its own libcontextembed:
#  1. in a fresh venv (--system-site-packages, so the Debian meson-python is there for
#     --no-build-isolation): pip install ./bindings/python;
#  2. in a fresh venv without the system's packages: the wheel of scripts/build-wheel.sh,
#     installed with --no-index.
# Each time the README's Python snippet (section "In Python", on local models) runs from a
# directory outside the checkout with no CONTEXTEMBED_LIBRARY, LD_LIBRARY_PATH or PYTHONPATH,
# and contextembed, its library and the file mapped into the process are inside the venv.
#
# Usage: test-pip.sh SOURCE_ROOT [PYTHON]   (PYTHON: default /usr/bin/python3, else python3)
# Exits 77 (skipped) without the venv module, ensurepip or meson-python.
set -eu
src=$(cd "$1" && pwd)
py=${2:-}
if [ -z "$py" ]; then
    py=python3
    [ -x /usr/bin/python3 ] && py=/usr/bin/python3
fi
skip() { echo "SKIP: $*"; exit 77; }
command -v "$py" >/dev/null 2>&1 || skip "no $py"
"$py" -c 'import venv, ensurepip' 2>/dev/null ||
    skip "$py has no venv/ensurepip (Debian: apt-get install python3-venv)"
"$py" -c 'import mesonpy' 2>/dev/null ||
    skip "$py has no meson-python (Debian: apt-get install python3-mesonpy)"
"$py" -m pip --version >/dev/null 2>&1 || skip "$py has no pip (Debian: apt-get install python3-pip)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ce-test-pip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Offline and hermetic: no index, no user or site pip configuration, no version check.
export PIP_NO_INDEX=1 PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# What would let the package find a library other than its own, or another package.
unset CONTEXTEMBED_LIBRARY LD_LIBRARY_PATH PYTHONPATH PYTHONHOME LD_PRELOAD || true
jobs="--config-settings=compile-args=-j2"

# A copy of the checkout (symlinks kept: bindings/python/subprojects/contextembed points at
# the root), so pip's in-tree build writes nothing into the repository.
mkdir "$tmp/src"
(cd "$src" && tar -cf - --exclude=./.git --exclude='./build*' --exclude=./dist \
    --exclude=./models --exclude=./test/fixtures --exclude='__pycache__' --exclude='.mesonpy*' .) |
    (cd "$tmp/src" && tar -xf -)
mkdir "$tmp/outside"

# The README's snippet, its models mapped to local ones; it must run as it stands.
cat > "$tmp/snippet.py" <<'EOF'
import os
import re
import sys

venv, src = os.path.realpath(sys.argv[1]), sys.argv[2]
with open(os.path.join(src, "README.md"), encoding="utf-8") as f:
    readme = f.read()
section = readme.split("\n## In Python\n", 1)[1].split("\n## ", 1)[0]
code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
local = {
    "bert-base-uncased": os.path.join(src, "models", "bert-mini-en"),
    "all-MiniLM-L6-v2": os.path.join(src, "test", "fixtures", "st-mean"),
    "bert-base-uncased-finetuned-ner": os.path.join(src, "test", "fixtures", "heads-bert-tokcls"),
}
names = re.findall(r'ce\.Model\("([^"]+)"', code)
unknown = [n for n in names if n not in local]
if not names or unknown:
    sys.exit("README's Python snippet opens %s: map them to local models in test/test-pip.sh"
             % (unknown or "no model"))
code = re.sub(r'ce\.Model\("([^"]+)"', lambda m: "ce.Model(%r" % local[m.group(1)], code)
scope = {"lines": ["In the beginning.", "The tide went out.", "A third line."]}
exec(compile(code, "README.md (In Python)", "exec"), scope)
ce = scope["ce"]
print("snippet ran: sentence %s, corpus %s" % (getattr(scope["sentence"], "shape", "?"),
                                                 getattr(scope["corpus"], "shape", "?")))

inside = lambda p: os.path.realpath(p).startswith(venv + os.sep)
maps = open("/proc/self/maps").read() if os.path.exists("/proc/self/maps") else None
mapped = sorted(set(re.findall(r"(/\S*libcontextembed\S*)", maps or "")))
print("contextembed:", ce.__file__)
print("library:", ce.library_path, "mapped:", mapped)
bad = [p for p in [ce.__file__, ce.library_path] + mapped if not inside(p)]
if bad or (maps is not None and not mapped):
    sys.exit("FAIL: not from the venv %s: %s" % (venv, bad or "no library mapped"))
# every module of the source package, and its py.typed marker, was installed
# (bindings/python/meson.build lists them)
package = os.path.join(src, "bindings", "python", "contextembed")
missing = [m for m in os.listdir(package) if (m.endswith(".py") or m == "py.typed")
           and not os.path.exists(os.path.join(os.path.dirname(ce.__file__), m))]
if missing:
    sys.exit("FAIL: modules not installed: %s (list them in bindings/python/meson.build)" % missing)
EOF

check() {  # VENV: the snippet from outside the checkout, with the venv's Python
    (cd "$tmp/outside" && "$1/bin/python" "$tmp/snippet.py" "$1" "$src")
}

echo "== 1. pip install ./bindings/python in a fresh venv (--system-site-packages)"
"$py" -m venv --system-site-packages "$tmp/venv1"
(cd "$tmp/src" && "$tmp/venv1/bin/python" -m pip install --no-build-isolation $jobs \
    ./bindings/python) > "$tmp/pip1.log" 2>&1 || { cat "$tmp/pip1.log"; echo "FAIL: pip install"; exit 1; }
tail -n 1 "$tmp/pip1.log"
check "$tmp/venv1"

echo "== 2. scripts/build-wheel.sh, the wheel in a fresh venv without system packages"
wheel=$(PYTHON="$py" sh "$tmp/src/scripts/build-wheel.sh" "$tmp/wheels" $jobs 2> "$tmp/pip2.log") ||
    { cat "$tmp/pip2.log"; echo "FAIL: scripts/build-wheel.sh"; exit 1; }
echo "wheel: $(basename "$wheel")"
"$py" -m venv "$tmp/venv2"
"$tmp/venv2/bin/python" -m pip install --no-deps "$wheel" > "$tmp/pip3.log" 2>&1 ||
    { cat "$tmp/pip3.log"; echo "FAIL: pip install the wheel"; exit 1; }
check "$tmp/venv2"
# the system's library on request: none is installed here, so it is an error naming the choice
if ! "$py" -c 'import ctypes.util, sys; sys.exit(bool(ctypes.util.find_library("contextembed")))'; then
    echo "(a libcontextembed is installed on the system: CONTEXTEMBED_LIBRARY=system not checked)"
elif (cd "$tmp/outside" && CONTEXTEMBED_LIBRARY=system "$tmp/venv2/bin/python" -c \
        'import contextembed' 2>&1) | grep -q "CONTEXTEMBED_LIBRARY=system"; then
    echo "CONTEXTEMBED_LIBRARY=system: the package's own library passed over"
else
    echo "FAIL: CONTEXTEMBED_LIBRARY=system did not refuse the package's own library"
    exit 1
fi
echo "PASS"
