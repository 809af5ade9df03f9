#!/bin/sh
# Quick start: install what is missing, build, and run two small models trained on the King James
# Bible that ship in the repository (models/README.md): contextual embeddings from a BERT encoder,
# and a continuation from a GPT-2 decoder.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
./build/tools/contextembed info -m models/bert-mini-en
./build/tools/contextembed embed -m models/bert-mini-en --pool mean --normalize "The tide went out."
./build/tools/contextembed generate -m models/gpt2-mini-en --temperature 0 -n 16 "The"
