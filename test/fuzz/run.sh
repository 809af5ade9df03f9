#!/bin/sh
# Fuzz every target with libFuzzer for a while: a clang build with ASan + UBSan
# and coverage instrumentation (-fsanitize=fuzzer-no-link) of the whole library,
# then each fuzz-<target> on its seed corpus. New inputs go to a scratch corpus
# ($out/<target>/corpus), crashes and leaks to $out/<target>/crash-*; the seed
# corpora in test/fuzz/corpus are only read (add a finding there by hand, and
# to gen_corpus.py).
#
#   test/fuzz/run.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
#
# CE_FUZZ_BUILD: the build directory (default build-fuzz in the source tree);
# CE_FUZZ_OUT: where scratch corpora and crashes go (default $CE_FUZZ_BUILD/fuzz-out);
# CE_FUZZ_JOBS: parallel jobs per target (default 1).
# Without clang it says so and exits 77; the replay tests (meson test --suite
# fuzz) still cover the seeds in any build.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (void)d, (int)n & 0; }\n' \
    >"$probe/probe.c"
if ! clang -fsanitize=fuzzer "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1; then
    rm -rf "$probe"
    echo "run.sh: no clang with libFuzzer (Debian: clang libclang-rt-14-dev);" \
        "meson test --suite fuzz replays the seed corpora in any build"
    exit 77
fi
rm -rf "$probe"
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$(sed -n "s/^fuzz_targets = \[\(.*\)/\1/p; s/^ *\('.*'\)\]$/\1/p" \
    "$src/test/fuzz/meson.build" | tr -d "',]" | tr -s ' ' '\n' | grep -v '^$')}
build=${CE_FUZZ_BUILD:-$src/build-fuzz}
out=${CE_FUZZ_OUT:-$build/fuzz-out}
jobs=${CE_FUZZ_JOBS:-1}
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" "$src" -Dbuildtype=debugoptimized -Donednn=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
fi
ninja -C "$build" $(for t in $targets; do echo "test/fuzz/fuzz-$t"; done)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in $targets; do
    mkdir -p "$out/$t/corpus"
    echo "== $t: $secs s"
    "$build/test/fuzz/fuzz-$t" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" \
        -timeout=30 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$out/$t/" "$out/$t/corpus" "$src/test/fuzz/corpus/$t" \
        2>"$out/$t/log" || status=1
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov: .* ft:" "$out/$t/log" |
        tail -n 3 || true
    if ls "$out/$t"/crash-* "$out/$t"/leak-* "$out/$t"/timeout-* "$out/$t"/oom-* >/dev/null 2>&1; then
        echo "$t: FOUND (see $out/$t)"
        status=1
    fi
done
exit $status
