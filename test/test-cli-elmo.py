#!/usr/bin/env python3
"""contextembed embed on ELMo models (Python 3 standard library only).

Usage: test-cli-elmo.py CONTEXTEMBED_EXE [FIXTURES_DIR]

Texts are split on white space and run with ce_session_run_words; outputs are
compared with test/gen/gen_elmo.py's numpy reference (expected.safetensors of
the elmo-* fixtures): every layer of the stateless sentences, the carried state
with --carry-state (each text continues from the state the previous one left),
pooling, the scalar mix, .npy output, and the refused combinations.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

EXE = sys.argv[1] if len(sys.argv) > 1 else "contextembed"
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "fixtures")
SKIP = os.path.join(FIXTURES, "elmo-skip")
TOL = 1e-4  # JSON output has 9 significant digits; the library is within 1e-5


def run(args, rc=0):
    p = subprocess.run([EXE] + args, capture_output=True, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != rc:
        raise AssertionError("%s: exit %d, expected %d: %s" % (args, p.returncode, rc, err))
    return p.stdout, err


def read_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = (v["shape"], struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e]))
    return out


def close(got, want, what):
    assert len(got) == len(want), "%s: %d values, expected %d" % (what, len(got), len(want))
    worst = max(abs(a - b) for a, b in zip(got, want))
    assert worst <= TOL, "%s: max diff %g" % (what, worst)


def embed(model, texts, extra=()):
    out, _ = run(["embed", "-m", model] + list(extra) + ["--"] + texts)
    return [json.loads(line) for line in out.decode().splitlines()]


def test_layers():
    for name in ("elmo-skip", "elmo-tanh", "elmo-3layer"):
        d = os.path.join(FIXTURES, name)
        cases = json.load(open(os.path.join(d, "cases.json"), encoding="utf-8"))
        expected = read_safetensors(os.path.join(d, "expected.safetensors"))
        texts = [" ".join(words) for words in cases["stateless"]]
        for i, r in enumerate(embed(d, texts, ["--layers", "all"])):
            shape, want = expected["stateless/%d" % i]
            assert r["shape"] == shape, (r["shape"], shape)
            assert r["ids"] == [-1] * shape[1]
            words = cases["stateless"][i]
            text = texts[i].encode()
            assert [text[a:b].decode() for a, b in r["offsets"]] == words
            close(r["data"], want, "%s stateless/%d" % (name, i))


def test_carry_state():
    cases = json.load(open(os.path.join(SKIP, "cases.json"), encoding="utf-8"))
    expected = read_safetensors(os.path.join(SKIP, "expected.safetensors"))
    # row 0 of every batch, in order: each continues from the previous one's state
    texts = [" ".join(batch[0]) for batch in cases["stateful"]]
    for b, r in enumerate(embed(SKIP, texts, ["--layers", "all", "--carry-state"])):
        close(r["data"], expected["stateful/%d/0" % b][1], "stateful/%d/0" % b)
    # without the flag the second text starts from zero state and differs
    r = embed(SKIP, texts[:2], ["--layers", "all"])[1]
    assert max(abs(a - b) for a, b in zip(r["data"], expected["stateful/1/0"][1])) > 1e-2


def test_readout():
    cases = json.load(open(os.path.join(SKIP, "cases.json"), encoding="utf-8"))
    expected = read_safetensors(os.path.join(SKIP, "expected.safetensors"))
    text = " ".join(cases["stateless"][0])
    shape, layers = expected["stateless/0"]
    n, dim = shape[1], shape[2]
    r = embed(SKIP, [text])[0]  # default: the last layer
    assert r["shape"] == [1, n, dim]
    close(r["data"], layers[2 * n * dim:], "last layer")
    r = embed(SKIP, [text], ["--layer", "0", "--pool", "mean"])[0]
    mean = [sum(layers[t * dim + j] for t in range(n)) / n for j in range(dim)]
    assert r["shape"] == [dim]
    close(r["data"], mean, "mean of layer 0")
    r = embed(SKIP, [text], ["--layer", "1", "--pool", "max", "--normalize"])[0]
    assert abs(math.sqrt(sum(v * v for v in r["data"])) - 1) < 1e-5
    mix = cases["mix"]
    arg = ",".join(str(w) for w in mix["weights"]) + ":" + str(mix["gamma"])
    r = embed(SKIP, [text], ["--mix", arg])[0]
    close(r["data"], expected["mix/0/plain"][1], "mix")


def test_npy():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.npy")
        run(["embed", "-m", SKIP, "--format", "npy", "-o", path, "--layers", "all", "--",
             "The cat sat on the mat ."])
        with open(path, "rb") as f:
            data = f.read()
        assert data[:6] == b"\x93NUMPY" and b"(3, 7, 16)" in data, data[:80]


def test_refused():
    _, err = run(["embed", "-m", SKIP, "--ids", "1,2"], rc=2)
    assert "ELMo" in err, err
    _, err = run(["embed", "-m", SKIP, "--pair", "b", "a"], rc=2)
    assert "--pair" in err, err
    _, err = run(["embed", "-m", os.path.join(FIXTURES, "bert-tiny-uncased"), "--carry-state",
                  "hi"], rc=2)
    assert "--carry-state" in err, err
    _, err = run(["embed", "-m", SKIP, "--", "a b", " \t "], rc=1)
    assert "no words" in err and "text 1" in err, err
    _, err = run(["embed", "-m", SKIP, "--layer", "3", "a"], rc=2)
    assert "3 output layers" in err, err


def main():
    if not os.path.isdir(SKIP):
        print("SKIP: %s is absent" % SKIP)
        return 77
    failed = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
                print("ok   %s" % name)
            except AssertionError as e:
                failed += 1
                print("FAIL %s: %s" % (name, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
