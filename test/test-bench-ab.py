#!/usr/bin/env python3
"""scripts/bench_ab.py, the interleaved A/B timing of two CLI builds: run here
with the same build on both sides (bert-mini-en, a few runs), its summary's
fields and arithmetic checked, and bad arguments and a failing bench refused.

Usage: test-bench-ab.py CONTEXTEMBED MODELS_DIR SCRIPTS_DIR

Standard library only.
"""

import json
import math
import os
import subprocess
import sys

EXE, MODELS, SCRIPTS = sys.argv[1], sys.argv[2], sys.argv[3]
AB = os.path.join(SCRIPTS, "bench_ab.py")
BERT = os.path.join(MODELS, "bert-mini-en")


def ab(args, code=0):
    p = subprocess.run([sys.executable, AB] + args, capture_output=True, text=True, timeout=300)
    if p.returncode != code:
        raise AssertionError("bench_ab.py %s: exit %d, want %d: %s"
                             % (" ".join(args), p.returncode, code, p.stderr))
    return p


def main():
    out = ab([EXE, EXE, "--pairs", "3", "--runs", "2", "--", "-m", BERT, "--seq", "16",
              "--threads", "1"]).stdout.strip().splitlines()
    pairs = [l for l in out if l.startswith("pair ")]
    assert len(pairs) == 3, out
    s = json.loads(out[-1])
    assert s["pairs"] == 3, s
    ratios = []
    for line in pairs:  # "pair  1: A x ms  B y ms  B/A r" (r printed to 4 places)
        f = line.split()
        a, b = float(f[3]), float(f[6])
        assert a > 0 and b > 0, line
        ratios.append(float(f[9]))
    mean = sum(ratios) / 3
    assert math.isclose(s["ratio_b_over_a"], mean, abs_tol=1e-4), (s, ratios)
    assert s["ratio_low"] <= mean <= s["ratio_high"], s
    # (a ratio printed as 1.0000 may be either side of 1)
    assert sum(1 for r in ratios if r < 0.9999) <= s["b_faster_pairs"] <= \
        sum(1 for r in ratios if r < 1.0001), (s, ratios)
    # 3 of 3 (or 0 of 3) fair tosses: p = 2 / 8; otherwise 1
    want_p = 0.25 if s["b_faster_pairs"] in (0, 3) else 1.0
    assert math.isclose(s["sign_test_p"], want_p), s
    # bad arguments: exit 2 with the usage; a bench that fails: exit 1
    for bad in ([EXE, EXE], [EXE, "--", "-m", BERT], [EXE, EXE, "--pairs", "0", "--", "-m", BERT],
                [EXE, EXE, "--bogus", "--", "-m", BERT], [EXE, EXE, "--", "-m", BERT, "--runs", "3"]):
        err = ab(bad, code=2).stderr
        assert "bench_ab.py:" in err and "BENCH_ARGS" in err, err
    err = ab([EXE, EXE, "--pairs", "1", "--", "-m", os.path.join(MODELS, "no-such-model")],
             code=1).stderr
    assert "bench failed" in err, err
    print("bench_ab: ok")


if __name__ == "__main__":
    main()
