#!/usr/bin/python3
"""Corpus throughput, measured as issue 14's targets state it.

    /usr/bin/python3 scripts/bench_corpus.py -m BERT_BASE_DIR [--texts 10000] [--rounds 3]
        [--threads 2] [--python] [--dask] [--dask-texts 2000] [--exe build/tools/contextembed]

A corpus of --texts sentences of 5-120 tokens each (the model's own tokens,
special ones included; words drawn from its vocabulary with a fixed seed) is
written to a temporary file. Then, interleaved over --rounds rounds:
- "bench": `contextembed bench --seq 128 --batch 1` (tokens/s = 128 / median);
- "cli": `contextembed embed --input FILE --pool mean --format npy --stack`;
- "python" (--python): Model.embed_batch(texts, pool="mean") in this process;
- "dask-1" / "dask-2" (--dask): contextembed.dask.embed_texts on a local
  cluster of 1 or 2 worker processes x 1 thread (the model opened with 1
  thread), on the first --dask-texts texts; after the others, one cluster at
  a time, each started and its model opened before the clock starts.
Prints one JSON object per measurement and a summary with medians and the
ratios the targets name (cli / bench >= 0.9, python / cli >= 0.9, dask-2 /
dask-1 >= 1.6). Compare numbers only within one run: nothing else should run.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-m", "--model", required=True, help="a BERT-base model directory")
    p.add_argument("--texts", type=int, default=10000)
    p.add_argument("--min-tokens", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=120)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--python", action="store_true", help="also time Model.embed_batch")
    p.add_argument("--dask", action="store_true", help="also time contextembed.dask, 1 vs 2 workers")
    p.add_argument("--dask-texts", type=int, default=2000)
    p.add_argument("--exe", default=os.path.join(ROOT, "build", "tools", "contextembed"))
    p.add_argument("--seed", type=int, default=14)
    return p.parse_args()


def make_corpus(tok, n, lo, hi, seed):
    """n texts whose token counts (special tokens included) are uniform in [lo, hi]."""
    rng = random.Random(seed)
    words = [w for w in (tok.id_to_token(i) for i in range(tok.vocab_size))
             if w.isalpha() and w.isascii() and len(w) > 1]
    texts, total = [], 0
    for _ in range(n):
        want = rng.randint(lo, hi)
        text = ""
        while True:
            grown = (text + " " + rng.choice(words)) if text else rng.choice(words).capitalize()
            count = len(tok.encode(grown).ids)
            if count > want:
                break
            text = grown
            if count == want:
                break
        text = text or rng.choice(words)
        texts.append(text + ".")
        total += len(tok.encode(texts[-1]).ids)
    return texts, total


def run_bench(a):
    out = subprocess.run([a.exe, "bench", "-m", a.model, "--seq", "128", "--batch", "1",
                          "--threads", str(a.threads), "--runs", "10"],
                         check=True, capture_output=True, text=True).stdout
    rec = json.loads(out.strip().splitlines()[-1])
    return 128 / (rec["median_ms"] / 1000.0)


def run_cli(a, path, tokens, out_dir):
    out = os.path.join(out_dir, "cli.npy")
    t = time.perf_counter()
    subprocess.run([a.exe, "embed", "-m", a.model, "--input", path, "--pool", "mean",
                    "--format", "npy", "--stack", "-o", out, "--threads", str(a.threads),
                    "--no-progress"], check=True)
    return tokens / (time.perf_counter() - t)


def run_python(model, texts, tokens):
    t = time.perf_counter()
    model.embed_batch(texts, pool="mean")
    return tokens / (time.perf_counter() - t)


def run_dask_cluster(a, workers, texts, tokens):
    """A local cluster of @workers processes x 1 thread, the model opened on
    each before the clock starts; closed after."""
    from distributed import Client
    from contextembed.dask import embed_texts, local_cluster, open_on_workers
    with local_cluster(n_workers=workers, threads_per_worker=1) as cluster, \
            Client(cluster) as client:
        open_on_workers(client, a.model, threads=1)
        t = time.perf_counter()
        embed_texts(client, texts, a.model, pool="mean", threads=1)
        return tokens / (time.perf_counter() - t)


def record(results, r, name, tps):
    results[name].append(tps)
    print(json.dumps({"round": r, "what": name, "tokens_per_s": round(tps, 1)}), flush=True)


def main():
    a = parse_args()
    from contextembed import Model, Tokenizer
    tok = Tokenizer(a.model)
    texts, tokens = make_corpus(tok, a.texts, a.min_tokens, a.max_tokens, a.seed)
    dask_texts = texts[:a.dask_texts]
    dask_tokens = sum(len(tok.encode(t).ids) for t in dask_texts)
    results = {k: [] for k in ("bench", "cli", "python", "dask-1", "dask-2")}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "corpus.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        print(json.dumps({"corpus": a.texts, "tokens": tokens, "dask_texts": len(dask_texts),
                          "dask_tokens": dask_tokens, "threads": a.threads}), flush=True)
        model = Model(a.model, threads=a.threads) if a.python else None
        for r in range(a.rounds):
            jobs = [("bench", lambda: run_bench(a)), ("cli", lambda: run_cli(a, path, tokens, tmp))]
            if model:
                jobs.append(("python", lambda: run_python(model, texts, tokens)))
            for name, job in jobs:
                record(results, r, name, job())
        if model:
            model.close()
        # Dask last, one cluster at a time: idle workers of a live cluster would
        # slow everything else measured beside them.
        for r in range(a.rounds if a.dask else 0):
            for w in (1, 2):
                record(results, r, "dask-%d" % w, run_dask_cluster(a, w, dask_texts, dask_tokens))
    med = {k: statistics.median(v) for k, v in results.items() if v}
    summary = {"median_tokens_per_s": {k: round(v, 1) for k, v in med.items()},
               "cli_over_bench": round(med["cli"] / med["bench"], 3)}
    if "python" in med:
        summary["python_over_cli"] = round(med["python"] / med["cli"], 3)
    if "dask-2" in med:
        summary["dask2_over_dask1"] = round(med["dask-2"] / med["dask-1"], 3)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
