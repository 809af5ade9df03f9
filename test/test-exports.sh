#!/bin/sh
# The shared library exports exactly the CE_API functions of the public headers, each in a
# CONTEXTEMBED_x.y version node, and nothing else.
set -eu
lib="$1"
inc="$2"
want=$(grep -ho "^CE_API [^(]*(" "$inc"/contextembed/*.h | sed 's/($//' | awk '{print $NF}' | tr -d '*' | sort)
got=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "i" {print $3}' | sed 's/@.*//' | sort)
if [ "$want" != "$got" ]; then
    echo "exported symbols differ from the CE_API declarations:"
    diff -u "$(printf '%s\n' "$want" > /tmp/ce-want.$$; echo /tmp/ce-want.$$)" \
            "$(printf '%s\n' "$got" > /tmp/ce-got.$$; echo /tmp/ce-got.$$)" || true
    rm -f /tmp/ce-want.$$ /tmp/ce-got.$$
    exit 1
fi
unversioned=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | grep -v '@@CONTEXTEMBED_' || true)
if [ -n "$unversioned" ]; then
    echo "symbols without a version node: $unversioned"
    exit 1
fi
echo "$(printf '%s\n' "$got" | wc -l) symbols exported, all declared and versioned"
