#!/bin/sh
# Quick start: install what is missing, build, and embed a sentence with a model that ships
# in the repository.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
MODEL=test/fixtures/bert-tiny-uncased
./build/tools/contextembed info -m "$MODEL"
./build/tools/contextembed embed -m "$MODEL" --pool mean --normalize "The tide went out."
