#!/usr/bin/python3
"""Every built backend against the float64 references of ../shared/peers (BERT-base and GPT-2 small
with random weights, made by `ref_models.py make DIR`): the largest absolute difference of every hidden
layer (BERT, GPT-2) and of every position's logits (GPT-2), at 1 and 2 threads.

    PYTHONPATH=bindings/python CONTEXTEMBED_LIBRARY=build/libcontextembed.so \\
        /usr/bin/python3 scripts/check-peers-fidelity.py /tmp/peers/models [TOLERANCE]

Exits 1 when a difference exceeds TOLERANCE (default 1e-4), 77 when the models are absent."""
import os
import sys

import numpy as np

import contextembed as ce


def worst(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b)))


def bert(path, backend, threads):
    refs = os.path.join(path, "refs")
    ids = np.load(os.path.join(refs, "input_ids.npy")).astype(np.int32).ravel().tolist()
    types = np.load(os.path.join(refs, "token_type_ids.npy")).astype(np.int32).ravel().tolist()
    want = np.load(os.path.join(refs, "hidden_states_f64.npy"))
    with ce.Model(path, backend=backend, threads=threads) as m:
        got = m.embed_ids(ids, type_ids=types, layers="all")
    return {"hidden": worst(got, want.reshape(np.asarray(got).shape))}


def gpt2(path, backend, threads):
    refs = os.path.join(path, "refs")
    ids = np.load(os.path.join(refs, "input_ids.npy")).astype(np.int32).ravel().tolist()
    hidden = np.load(os.path.join(refs, "hidden_states_f64.npy"))
    logits = np.load(os.path.join(refs, "logits_f64.npy"))
    with ce.Model(path, backend=backend, threads=threads) as m:
        got = m.embed_ids(ids, layers="all")
        with m.session() as s:
            s.append(ids, all_logits=True)
            got_logits = s.logits()
    return {"hidden": worst(got, hidden.reshape(np.asarray(got).shape)),
            "logits": worst(np.asarray(got_logits).reshape(logits.shape), logits)}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/peers/models"
    tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-4
    cases = [("bert-base-random", bert), ("gpt2-random", gpt2)]
    if not all(os.path.isdir(os.path.join(root, name, "refs")) for name, _ in cases):
        print(f"skip: no peers' reference models under {root} (ref_models.py make {root})")
        return 77
    bad = 0
    for name, fn in cases:
        for backend in ce.backends():
            for threads in (1, 2):
                diffs = fn(os.path.join(root, name), backend, threads)
                ok = all(v <= tol for v in diffs.values())
                bad += not ok
                print(f"{name:18} {backend:7} threads {threads}: " +
                      ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()) + ("" if ok else "  FAIL"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
