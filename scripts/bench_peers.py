#!/usr/bin/env python3
"""The speed targets of the README's performance table, measured in one run against ONNX Runtime.

    python3 scripts/bench_peers.py PEERS_DIR [ROUNDS] [RUNS]

PEERS_DIR is where ../shared/peers/README.md's steps put models/, onnx/ and node_modules/ (ONNX Runtime
through onnxruntime-node), with the F16 copies made by f16_copy.py as models/NAME-f16. Each round runs
ONNX Runtime then this library on every workload (interleaved: the machine's drift hits both), RUNS
timed runs each at 2 threads; the table gives the median of the rounds' medians and every round's ratio.
Decoding is compared with the time to read the float32 weights once at the read bandwidth that
../shared/peers/stream.c measures (built here with gcc) just before and just after each decoding run. Standard library only."""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.path.join(HERE, "..", "build", "tools", "contextembed")
PEERS_SRC = os.path.join(HERE, "..", "..", "shared", "peers")


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def ort(peers, model, runs, seq, batch, vocab):
    out = subprocess.run(["node", os.path.join(PEERS_SRC, "ort_bench.mjs"), model, "onnx/inputs",
                          "2", str(runs), str(seq), str(batch), str(vocab)], cwd=peers,
                         capture_output=True, text=True, check=True).stdout
    return last_json(out)["median_ms"]


def ours(args, key="median_ms"):
    out = subprocess.run([CLI, "bench"] + args, capture_output=True, text=True, check=True).stdout
    return last_json(out)[key]


def read_gbps():
    exe = "/tmp/ce-stream"
    subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", os.path.join(PEERS_SRC, "stream.c"),
                    "-o", exe], check=True)
    line = subprocess.run([exe], capture_output=True, text=True, check=True,
                          env=dict(os.environ, OMP_NUM_THREADS="2")).stdout.strip().splitlines()[-1]
    return float(line.split("read(dot): median")[1].split()[0])


def main():
    peers = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/peers")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    bert, gpt2 = os.path.join(peers, "models/bert-base-random"), os.path.join(peers, "models/gpt2-random")
    rows = {}

    def add(name, peer, us):
        rows.setdefault(name, {"peer": [], "us": []})
        rows[name]["peer"].append(peer)
        rows[name]["us"].append(us)

    for r in range(rounds):
        for seq, batch in ((128, 1), (512, 1), (128, 8)):
            p = ort(peers, "onnx/bert.onnx", runs, seq, batch, 30522)
            bench = ["-m", bert, "--seq", str(seq), "--batch", str(batch), "--threads", "2",
                     "--runs", str(runs)]
            add(f"BERT-base b{batch}x{seq} f32", p, ours(bench))
            if (seq, batch) == (128, 1):
                add("BERT-base b1x128 bf16", p, ours(bench + ["--precision", "bf16"]))
        p = ort(peers, "onnx/gpt2_full.onnx", runs, 128, 1, 50257)
        add("GPT-2 prompt 128, all logits f32", p,
            ours(["--gpt2", "--ctx", "128", "--threads", "2", "--runs", str(runs)], "prompt_median_ms"))
        bws = []
        for prec in ("f32", "bf16", "int8"):
            # the VM's bandwidth drifts within a round: measured just before and just after
            # each decoding run, the bound is taken at their mean
            before = read_gbps()
            out = subprocess.run([CLI, "bench", "-m", gpt2, "--decode", "--threads", "2", "--runs",
                                  str(4 * runs), "--precision", prec], capture_output=True, text=True,
                                 check=True).stdout
            bw = (before + read_gbps()) / 2
            bws.append(bw)
            d = last_json(out)
            add(f"GPT-2 decode ctx 128 {prec}", d["weight_bytes"] / bw / 1e6, d["median_ms"])
        print(f"round {r + 1} done (read bandwidth {', '.join('%.1f' % b for b in bws)} GB/s)",
              file=sys.stderr)
    rss = {}
    for name in ("bert-base-random-f16", "gpt2-random-f16"):
        path = os.path.join(peers, "models", name)
        if os.path.isdir(path):
            for prec in ("f32", "bf16"):
                args = (["-m", path, "--decode"] if "gpt2" in name else ["-m", path]) + \
                    ["--threads", "2", "--runs", "2", "--precision", prec]
                rss[(name, prec)] = ours(args, "peak_rss_bytes") / 1e6
    print("| workload | peer (ms) | libcontextembed (ms) | peer / us (median; rounds) |")
    print("|---|---|---|---|")
    for name, v in rows.items():
        ratios = [p / u for p, u in zip(v["peer"], v["us"])]
        peer = "read bound %.2f" % statistics.median(v["peer"]) if "decode" in name else \
            "%.1f" % statistics.median(v["peer"])
        if "decode" in name:  # time over the float32 read time: lower is better
            ratios = [u / p for p, u in zip(v["peer"], v["us"])]
        print(f"| {name} | {peer} | {statistics.median(v['us']):.2f} | "
              f"{statistics.median(ratios):.2f} ({', '.join('%.2f' % x for x in ratios)}) |")
    for (name, prec), mb in rss.items():
        print(f"peak RSS {name} {prec}: {mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
