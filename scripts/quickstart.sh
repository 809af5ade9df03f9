#!/bin/sh
# Quick start: install what is missing, build, and run the three small models trained on the King
# James Bible that ship in the repository (models/README.md): contextual embeddings from a BERT
# encoder and from an ELMo biLM, a continuation from a GPT-2 decoder, and one word's vectors
# compared across its senses.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
./build/tools/contextembed info -m models/bert-mini-en
./build/tools/contextembed embed -m models/bert-mini-en --pool mean --normalize "The tide went out."
./build/tools/contextembed generate -m models/gpt2-mini-en --temperature 0 -n 16 "The"
./build/tools/contextembed embed -m models/elmo-mini-en --mix 1,1,1 "The bear came out of the wood ."
PYTHONPATH=bindings/python python3 examples/word_senses.py models/bert-mini-en
