#!/usr/bin/python3
"""Reference generator for libcontextembed's ELMo test fixtures.

Writes small random-weight ELMo models under test/fixtures/elmo-*/ (options.json
+ model.safetensors with the original bilm-tf tensor names, as
tools/convert_elmo.py produces) together with the outputs an independent numpy
implementation of the algorithm in refdata/elmo/README.md computes for them
(float64 throughout). Nothing here imports the library or its converter.

Run from anywhere:  /usr/bin/python3 test/gen/gen_elmo.py [--out DIR] [--refdata DIR]

Self-check: when refdata/elmo/bilm-tf is present, the same reference runs the
trained bilm-tf test model on its three streams with carried state and must
reproduce every array of expected.safetensors (TensorFlow's outputs) within
2e-6, and the derived char ids exactly; otherwise the script stops.

The fixtures (each directory: options.json, model.safetensors,
expected.safetensors, cases.json):
  elmo-skip    relu, 2 layers, use_skip_connections, 2 highway layers, CNN
               projection, LSTM projection with cell and projection clip; also
               the scalar-mix expectations (with and without layer norm)
  elmo-tanh    tanh activation, 1 LSTM layer, 1 highway layer, no CNN_proj
               (filters sum to projection_dim), no clipping (keys absent),
               max_characters_per_token 20
  elmo-3layer  relu, 3 layers, skip connections, no highway, projection_dim ==
               dim (no W_P_0), n_characters 261

cases.json: "stateless": sentences (lists of words) each run from zero state;
"stateful": batches of rows ([[row0 words], [row1 words]] or a single row),
each row carrying its LSTM state to the same row of the next batch (a row
missing from a batch keeps its state); "mix" (elmo-skip): weights, gamma and
the sentences whose mixed outputs are stored. expected.safetensors holds, F32:
  stateless/{i}   [L + 1, n, 2 * projection_dim], layer 0 = [e, e], boundaries removed
  stateful/{b}/{r} the same for row r of batch b
  mix/{i}/plain, mix/{i}/layer_norm  [n, 2 * projection_dim]: gamma * sum_j softmax(w)_j h_j,
                  the second with each layer normalised over the sentence's words first
                  (mean and biased variance over all its values, eps 1e-12)
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
DEFAULT_REFDATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "refdata"))
MAX_FILE_BYTES = 1 << 20

BOS, EOS, BOW, EOW, PAD = 256, 257, 258, 259, 260

# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------


def st_write(path, tensors, metadata=None):
    """tensors: {name: np.ndarray (float32 or int32)}, written in name order."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    off = 0
    blobs = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = {np.dtype("float32"): ("F32", "<f4"), np.dtype("int32"): ("I32", "<i4")}[a.dtype]
        raw = a.astype(dt[1]).tobytes()
        header[name] = {"dtype": dt[0], "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def st_read(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        dt = {"F32": "<f4", "I32": "<i4"}[v["dtype"]]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt).reshape(v["shape"])
    return out


# ---------------------------------------------------------------------------
# the reference (README items 1-11), float64
# ---------------------------------------------------------------------------


def word_char_ids(word, max_chars):
    """Item 1: [BOW, bytes[:max_chars-2], EOW, PAD...] + 1; <S>/</S> as the boundaries."""
    if word == "<S>":
        return boundary_char_ids(BOS, max_chars)
    if word == "</S>":
        return boundary_char_ids(EOS, max_chars)
    b = word.encode("utf-8")[:max_chars - 2]
    ids = [PAD] * max_chars
    ids[0] = BOW
    ids[1:1 + len(b)] = list(b)
    ids[len(b) + 1] = EOW
    return [i + 1 for i in ids]


def boundary_char_ids(which, max_chars):
    ids = [PAD] * max_chars
    ids[0], ids[1], ids[2] = BOW, which, EOW
    return [i + 1 for i in ids]


def sentence_char_ids(words, max_chars):
    rows = [boundary_char_ids(BOS, max_chars)]
    rows += [word_char_ids(w, max_chars) for w in words]
    rows.append(boundary_char_ids(EOS, max_chars))
    return np.array(rows, dtype=np.int64)


class Model:
    def __init__(self, options, weights):
        self.o = options
        self.w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        cnn, lstm = options["char_cnn"], options["lstm"]
        self.max_chars = cnn["max_characters_per_token"]
        self.filters = cnn["filters"]
        self.act = np.tanh if cnn["activation"] == "tanh" else (lambda x: np.maximum(x, 0.0))
        self.n_highway = cnn.get("n_highway") or 0
        self.dim, self.proj = lstm["dim"], lstm["projection_dim"]
        self.n_layers = lstm.get("n_layers", 1)
        self.cell_clip = lstm.get("cell_clip")
        self.proj_clip = lstm.get("proj_clip")
        self.skip = bool(lstm.get("use_skip_connections"))
        self.clip_hits = {"cell": 0, "proj": 0, "values": 0}

    def token_embeddings(self, ids):
        """Items 2-5 for ids [T, max_chars] -> e [T, proj]."""
        table = np.vstack([np.zeros((1, self.w["char_embed"].shape[1])), self.w["char_embed"]])
        x = table[ids]                                     # [T, C, dim]
        outs = []
        for i, (width, num) in enumerate(self.filters):
            k = self.w["CNN/W_cnn_%d" % i][0]              # [width, dim, num]
            npos = self.max_chars - width + 1
            conv = np.stack([np.einsum("tkc,kcn->tn", x[:, p:p + width, :], k)
                             for p in range(npos)], axis=1)  # [T, npos, num]
            conv = conv + self.w["CNN/b_cnn_%d" % i]
            outs.append(self.act(conv.max(axis=1)))
        h = np.concatenate(outs, axis=1)
        for j in range(self.n_highway):
            p = "CNN_high_%d/" % j
            g = 1.0 / (1.0 + np.exp(-(h @ self.w[p + "W_carry"] + self.w[p + "b_carry"])))
            t = np.maximum(h @ self.w[p + "W_transform"] + self.w[p + "b_transform"], 0.0)
            h = g * t + (1.0 - g) * h
        if "CNN_proj/W_proj" in self.w:
            h = h @ self.w["CNN_proj/W_proj"] + self.w["CNN_proj/b_proj"]
        return h

    def cell(self, d, l, x, c, h):
        """Item 6: one TF LSTMCell step."""
        p = "RNN_%d/RNN/MultiRNNCell/Cell%d/LSTMCell/" % (d, l)
        z = np.concatenate([x, h]) @ self.w[p + "W_0"] + self.w[p + "B"]
        i, j, f, o = np.split(z, 4)
        sig = lambda v: 1.0 / (1.0 + np.exp(-v))
        c = sig(f + 1.0) * c + sig(i) * np.tanh(j)
        self.clip_hits["values"] += c.size
        if self.cell_clip:
            self.clip_hits["cell"] += int((np.abs(c) > self.cell_clip).sum())
            c = np.clip(c, -self.cell_clip, self.cell_clip)
        m = sig(o) * np.tanh(c)
        if p + "W_P_0" in self.w:
            m = m @ self.w[p + "W_P_0"]
            if self.proj_clip:
                self.clip_hits["proj"] += int((np.abs(m) > self.proj_clip).sum())
                m = np.clip(m, -self.proj_clip, self.proj_clip)
        return c, m

    def zero_state(self):
        return {(d, l): (np.zeros(self.dim), np.zeros(self.proj))
                for d in range(2) for l in range(self.n_layers)}

    def run(self, words, state=None):
        """Items 7-9: layers [L + 1, T + 2, 2 proj] (boundaries included), new state."""
        ids = sentence_char_ids(words, self.max_chars)
        e = self.token_embeddings(ids)
        state = dict(state or self.zero_state())
        layers = [np.concatenate([e, e], axis=1)]
        inputs = [e, e]
        for l in range(self.n_layers):
            outs = []
            for d in range(2):
                seq = inputs[d] if d == 0 else inputs[d][::-1]
                c, h = state[(d, l)]
                ys = []
                for x in seq:
                    c, h = self.cell(d, l, x, c, h)
                    ys.append(h + x if (self.skip and l > 0) else h)
                state[(d, l)] = (c, h)
                ys = np.array(ys)
                outs.append(ys if d == 0 else ys[::-1])
            layers.append(np.concatenate(outs, axis=1))
            inputs = outs
        return np.array(layers), state


def scalar_mix(layers, weights, gamma, layer_norm):
    """Item 11 over one sentence's words: layers [L + 1, n, D]."""
    w = np.exp(np.array(weights, dtype=np.float64) - max(weights))
    w /= w.sum()
    out = np.zeros(layers.shape[1:])
    for j, h in enumerate(layers):
        if layer_norm:
            mean = h.mean()
            var = ((h - mean) ** 2).mean()
            h = (h - mean) / np.sqrt(var + 1e-12)
        out += w[j] * h
    return gamma * out


# ---------------------------------------------------------------------------
# self-check against bilm-tf
# ---------------------------------------------------------------------------


def check_refdata(refdata):
    base = os.path.join(refdata, "elmo", "bilm-tf")
    if not os.path.isdir(base):
        print("refdata absent: self-check skipped")
        return
    options = json.load(open(os.path.join(base, "options.json")))
    model = Model(options, st_read(os.path.join(base, "lm_weights.safetensors")))
    expected = st_read(os.path.join(base, "expected.safetensors"))
    derived = st_read(os.path.join(base, "derived", "derived_numpy_ref.safetensors"))
    streams = json.load(open(os.path.join(base, "inputs.json")))["streams"]
    worst = 0.0
    for k, stream in enumerate(streams):
        state = None
        for i, sentence in enumerate(stream):
            words = sentence.strip().split()
            ids = sentence_char_ids(words, model.max_chars)
            assert np.array_equal(ids, derived["s%d_%d/char_ids" % (k, i)]), "char ids differ"
            layers, state = model.run(words, state)
            top = layers[-1][1:-1]
            p = model.proj
            lm = expected["s%d_%d/lm_embeddings" % (k, i)]
            worst = max(worst, np.abs(top - expected["s%d_%d/top_layer_concat" % (k, i)]).max(),
                        np.abs(top[:, :p] - lm[0]).max(), np.abs(top[:, p:] - lm[1]).max())
    print("bilm-tf self-check: max |reference - TensorFlow| = %.2e" % worst)
    if worst > 2e-6:
        sys.exit("the reference does not reproduce bilm-tf")


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

SENTENCES = [
    ["The", "cat", "sat", "on", "the", "mat", "."],
    ["Hi"],
    ["Crème", "brûlée", "in", "Zürich", "costs", "12€", ";", "東京", "too", "🙂"],
    ["Pneumonoultramicroscopicsilicovolcanoconiosis-and-then-some-more-bytes", "is", "long"],
    ["a", "b"],
    ["<S>", "literally", "</S>"],
]

STATEFUL = [
    [["First", "row", "starts", "here", "."], ["Second", "row", "is", "longer", "than", "it", "was"]],
    [["it", "goes", "on"], ["and", "on"]],
    [["only", "row", "zero", "runs", "now"]],
    [["back", "to", "both", "rows"], ["row", "one", "resumes", "."]],
]


def random_weights(options, rng, scale):
    cnn, lstm = options["char_cnn"], options["lstm"]
    cd = cnn["embedding"]["dim"]
    w = {"char_embed": rng.normal(0, 1.0, (261, cd))}
    width = 0
    for i, (fw, num) in enumerate(cnn["filters"]):
        w["CNN/W_cnn_%d" % i] = rng.normal(0, 0.6, (1, fw, cd, num))
        w["CNN/b_cnn_%d" % i] = rng.normal(0, 0.2, (num,))
        width += num
    for j in range(cnn.get("n_highway") or 0):
        p = "CNN_high_%d/" % j
        w[p + "W_carry"] = rng.normal(0, 0.3, (width, width))
        w[p + "W_transform"] = rng.normal(0, 0.3, (width, width))
        w[p + "b_carry"] = rng.normal(0, 0.5, (width,))
        w[p + "b_transform"] = rng.normal(0, 0.2, (width,))
    proj, dim = lstm["projection_dim"], lstm["dim"]
    if width != proj:
        w["CNN_proj/W_proj"] = rng.normal(0, 1.0 / np.sqrt(width), (width, proj))
        w["CNN_proj/b_proj"] = rng.normal(0, 0.1, (proj,))
    for d in range(2):
        for l in range(lstm.get("n_layers", 1)):
            p = "RNN_%d/RNN/MultiRNNCell/Cell%d/LSTMCell/" % (d, l)
            w[p + "W_0"] = rng.normal(0, scale, (2 * proj, 4 * dim))
            w[p + "B"] = rng.normal(0, 0.3, (4 * dim,))
            if proj < dim:
                w[p + "W_P_0"] = rng.normal(0, 2.0 / np.sqrt(dim), (dim, proj))
    return {k: v.astype(np.float32) for k, v in w.items()}


FIXTURES = {
    "elmo-skip": ({
        "lstm": {"cell_clip": 3, "use_skip_connections": True, "n_layers": 2, "proj_clip": 3,
                 "projection_dim": 8, "dim": 24},
        "char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 8], [3, 8], [4, 12]],
                     "n_highway": 2, "n_characters": 262, "max_characters_per_token": 50,
                     "activation": "relu"}}, 11, 0.7, True),
    "elmo-tanh": ({
        "lstm": {"use_skip_connections": False, "n_layers": 1, "projection_dim": 12, "dim": 20},
        "char_cnn": {"embedding": {"dim": 3}, "filters": [[1, 4], [3, 8]], "n_highway": 1,
                     "n_characters": 262, "max_characters_per_token": 20,
                     "activation": "tanh"}}, 12, 0.6, False),
    "elmo-3layer": ({
        "lstm": {"cell_clip": 3, "use_skip_connections": True, "n_layers": 3, "proj_clip": 3,
                 "projection_dim": 10, "dim": 10},
        "char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4], [5, 8]],
                     "n_characters": 261, "max_characters_per_token": 50,
                     "activation": "relu"}}, 13, 0.8, False),
}

MIX_WEIGHTS = {"elmo-skip": ([0.3, -0.2, 0.9], 1.7)}


def build(name, out_dir):
    options, seed, scale, with_mix = FIXTURES[name]
    rng = np.random.default_rng(seed)
    weights = random_weights(options, rng, scale)
    model = Model(options, weights)
    expected = {}
    stateless = []
    for i, words in enumerate(SENTENCES):
        layers, _ = model.run(words)
        expected["stateless/%d" % i] = layers[:, 1:-1].astype(np.float32)
        stateless.append(words)
    states = {}
    for b, batch in enumerate(STATEFUL):
        for r, words in enumerate(batch):
            layers, states[r] = model.run(words, states.get(r))
            expected["stateful/%d/%d" % (b, r)] = layers[:, 1:-1].astype(np.float32)
    cases = {"stateless": stateless, "stateful": STATEFUL}
    if with_mix:
        w, gamma = MIX_WEIGHTS[name]
        cases["mix"] = {"weights": w, "gamma": gamma, "sentences": [0, 2]}
        for i in cases["mix"]["sentences"]:
            layers = model.run(SENTENCES[i])[0][:, 1:-1]
            expected["mix/%d/plain" % i] = scalar_mix(layers, w, gamma, False).astype(np.float32)
            expected["mix/%d/layer_norm" % i] = scalar_mix(layers, w, gamma, True).astype(
                np.float32)
    # how much each non-linearity is exercised (recorded, so that a fixture
    # that never clips is noticed)
    alone = model.run(STATEFUL[1][0])[0][:, 1:-1]
    zero_state_gap = float(np.abs(expected["stateful/1/0"] - alone).max())
    cases["stats"] = {"max_abs": float(max(np.abs(v).max() for v in expected.values())),
                      "carried_vs_zero_state_max_abs": zero_state_gap,
                      "cell_values": model.clip_hits["values"],
                      "cell_clipped": model.clip_hits["cell"],
                      "proj_clipped": model.clip_hits["proj"]}
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "options.json"), "w") as f:
        json.dump(options, f, indent=1)
        f.write("\n")
    st_write(os.path.join(d, "model.safetensors"), weights, {"source": "test/gen/gen_elmo.py"})
    st_write(os.path.join(d, "expected.safetensors"), expected)
    with open(os.path.join(d, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for fn in os.listdir(d):
        size = os.path.getsize(os.path.join(d, fn))
        assert size < MAX_FILE_BYTES, (fn, size)
    print("%s: %d arrays, max |value| %.3g, carried vs zero state %.3g, clipped %s" % (
        name, len(expected), cases["stats"]["max_abs"], zero_state_gap, model.clip_hits))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--refdata", default=DEFAULT_REFDATA)
    a = ap.parse_args()
    check_refdata(a.refdata)
    for name in FIXTURES:
        build(name, a.out)


if __name__ == "__main__":
    main()
