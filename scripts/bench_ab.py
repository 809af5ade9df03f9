#!/usr/bin/env python3
"""Two builds of the CLI timed against each other, interleaved, on one machine in one run.

    python3 scripts/bench_ab.py A_CLI B_CLI [--pairs N] [--runs R] -- BENCH_ARGS...

Runs `A_CLI bench BENCH_ARGS --runs R` and the same with B_CLI, N times each, the order alternating
(A then B, then B then A) so that the machine's drift hits both. A shared VM's speed moves by more
than most changes are worth (BERT-base bf16 b1x128 took 19.2-23.4 ms over ten minutes here), so only
such pairs say anything. Prints each pair's medians, then the mean ratio B / A with a 95 % interval
(t distribution over the pairs' ratios) and how many pairs B won (with the two-sided sign test's p),
and last a JSON line of the same for scripts. Standard library only.

Example, the committed build against a working tree's:
    cp build/tools/contextembed /tmp/ce_base   # before the change
    python3 scripts/bench_ab.py /tmp/ce_base build/tools/contextembed --pairs 10 -- \\
        -m models/bert-mini-en --seq 128 --threads 2 --precision bf16"""
import json
import math
import statistics
import subprocess
import sys

# two-sided 95 % quantiles of Student's t for 1-30 degrees of freedom; 1.96 past them
T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
       2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
       2.052, 2.048, 2.045, 2.042]


def usage(msg):
    sys.stderr.write("bench_ab.py: %s\n%s\n" % (msg, __doc__.split("\n\n")[1]))
    sys.exit(2)


def parse(argv):
    if "--" not in argv:
        usage("the bench arguments follow --")
    cut = argv.index("--")
    head, bench = argv[:cut], argv[cut + 1:]
    opts = {"--pairs": 8, "--runs": 30}
    clis = []
    i = 0
    while i < len(head):
        if head[i] in opts:
            if i + 1 >= len(head) or not head[i + 1].isdigit() or int(head[i + 1]) < 1:
                usage("%s takes a whole number of at least 1" % head[i])
            opts[head[i]] = int(head[i + 1])
            i += 2
        elif head[i].startswith("-"):
            usage("unknown option %s" % head[i])
        else:
            clis.append(head[i])
            i += 1
    if len(clis) != 2:
        usage("two CLI programs are needed, %d given" % len(clis))
    if not bench or "--runs" in bench:
        usage("bench arguments are needed (and --runs goes before --)")
    return clis, opts["--pairs"], opts["--runs"], bench


def median_ms(cli, bench, runs):
    proc = subprocess.run([cli, "bench"] + bench + ["--runs", str(runs)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit("bench_ab.py: %s bench failed (exit %d)" % (cli, proc.returncode))
    for line in reversed(proc.stdout.strip().splitlines()):
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and "median_ms" in result:
            return float(result["median_ms"])
    sys.exit("bench_ab.py: %s bench printed no median_ms" % cli)


def sign_test_p(wins, n):
    """Two-sided p of at least this many wins (or losses) of n fair coin tosses."""
    k = max(wins, n - wins)
    tail = sum(math.comb(n, i) for i in range(k, n + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)


def summary(pairs):
    ratios = [b / a for a, b in pairs]
    n = len(ratios)
    mean = statistics.fmean(ratios)
    half = 0.0
    if n > 1:
        t = T95[n - 2] if n - 1 <= len(T95) else 1.96
        half = t * statistics.stdev(ratios) / math.sqrt(n)
    wins = sum(1 for a, b in pairs if b < a)
    return {"pairs": n, "a_mean_ms": statistics.fmean(a for a, _ in pairs),
            "b_mean_ms": statistics.fmean(b for _, b in pairs), "ratio_b_over_a": mean,
            "ratio_low": mean - half, "ratio_high": mean + half, "b_faster_pairs": wins,
            "sign_test_p": sign_test_p(wins, n)}


def main():
    (a_cli, b_cli), n_pairs, runs, bench = parse(sys.argv[1:])
    pairs = []
    for i in range(n_pairs):
        if i % 2 == 0:
            a = median_ms(a_cli, bench, runs)
            b = median_ms(b_cli, bench, runs)
        else:
            b = median_ms(b_cli, bench, runs)
            a = median_ms(a_cli, bench, runs)
        pairs.append((a, b))
        print("pair %2d: A %8.3f ms  B %8.3f ms  B/A %.4f" % (i + 1, a, b, b / a), flush=True)
    s = summary(pairs)
    print("B/A %.4f (95 %% interval %.4f-%.4f); B faster in %d of %d pairs (sign test p %.3g)"
          % (s["ratio_b_over_a"], s["ratio_low"], s["ratio_high"], s["b_faster_pairs"], s["pairs"],
             s["sign_test_p"]))
    print(json.dumps(s))


if __name__ == "__main__":
    main()
