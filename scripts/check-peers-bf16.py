#!/usr/bin/python3
"""bf16's accuracy contract at BERT-base size: every token's vector at every hidden layer of the
peers' random-weight BERT-base (../shared/peers, `ref_models.py make DIR`) at precision bf16 against
float32 (the default backend) and against the float64 reference, for every backend that runs bf16 on
this CPU (the reference backend always; it is slow: about a minute).

    PYTHONPATH=bindings/python CONTEXTEMBED_LIBRARY=build/libcontextembed.so \\
        /usr/bin/python3 scripts/check-peers-bf16.py /tmp/peers/models [MIN_COSINE]

Exits 1 when a cosine falls below MIN_COSINE (default 0.999), 77 when the model is absent."""
import os
import sys

import numpy as np

import contextembed as ce


def cosines(a, b):
    a = np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1])
    b = np.asarray(b, dtype=np.float64).reshape(a.shape)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def hidden(path, ids, types, **opts):
    with ce.Model(path, threads=2, **opts) as m:
        return np.asarray(m.embed_ids(ids, type_ids=types, layers="all"))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/peers/models"
    bound = float(sys.argv[2]) if len(sys.argv) > 2 else 0.999
    path = os.path.join(root, "bert-base-random")
    refs = os.path.join(path, "refs")
    if not os.path.isdir(refs):
        print(f"skip: no peers' reference models under {root} (ref_models.py make {root})")
        return 77
    ids = np.load(os.path.join(refs, "input_ids.npy")).astype(np.int32).ravel().tolist()
    types = np.load(os.path.join(refs, "token_type_ids.npy")).astype(np.int32).ravel().tolist()
    f64 = np.load(os.path.join(refs, "hidden_states_f64.npy"))
    f32 = hidden(path, ids, types)
    bad = 0
    for backend in ce.backends():
        try:
            got = hidden(path, ids, types, backend=backend, precision="bf16")
        except ce.ContextEmbedError as e:
            print(f"{backend:7} bf16: not run here ({e})")
            continue
        vs32, vs64 = cosines(got, f32), cosines(got, f64)
        ok = vs32.min() >= bound
        bad += not ok
        print(f"{backend:7} bf16, {vs32.size} token vectors (every layer): cosine vs f32 min "
              f"{vs32.min():.6f} mean {vs32.mean():.7f}; vs float64 min {vs64.min():.6f}"
              + ("" if ok else "  FAIL"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
