"""Shared helpers of the binding's tests: where the fixtures are, a small
safetensors reader (struct + json), and comparisons that work on numpy arrays
and FloatArray alike. Standard library only."""
import array
import glob
import json
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..")))  # the package, uninstalled

FIXTURES = os.environ.get("CE_FIXTURES") or os.path.join(ROOT, "test", "fixtures")
REFDATA = os.environ.get("CE_REFDATA") or os.path.join(ROOT, "..", "shared", "refdata")
BERT_FIXTURES = ["bert-tiny-uncased", "bert-tiny-cased", "bert-tiny-sharded"]
UNCASED = os.path.join(FIXTURES, "bert-tiny-uncased")
TOL = 1e-4  # cases.json's suggested_tolerance_abs

import contextembed as ce  # noqa: E402  (after the path set-up above)


def read_safetensors(path):
    """{name: (shape, flat array)} for the F32 and I32 tensors of @path."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        code = {"F32": "f", "I32": "i"}.get(t["dtype"])
        if code is None:
            continue
        begin, end = t["data_offsets"]
        values = array.array(code)
        values.frombytes(data[base + begin:base + end])
        if sys.byteorder != "little":
            values.byteswap()
        out[name] = (tuple(t["shape"]), values)
    return out


def cases(fixture):
    with open(os.path.join(FIXTURES, fixture, "cases.json"), encoding="utf-8") as f:
        return json.load(f)


def flat(x):
    """A result (numpy array, FloatArray, list or float) as a flat list of floats."""
    if hasattr(x, "tolist"):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in flat(item)]
    return [float(x)]


def shape_of(x):
    return tuple(x.shape)


def plane(expected, layer):
    """Layer @layer of an expected [L, T, D] hidden-state tensor: (rows of floats)."""
    shape, values = expected
    _, t, d = shape
    start = layer * t * d
    return [list(values[start + i * d:start + (i + 1) * d]) for i in range(t)]


class TestCase(unittest.TestCase):
    def assertClose(self, got, want, tol=TOL, msg=None):
        got, want = flat(got), flat(want)
        self.assertEqual(len(got), len(want), msg)
        worst = max((abs(a - b) for a, b in zip(got, want)), default=0.0)
        self.assertLessEqual(worst, tol, "%s: max abs difference %g" % (msg or "values", worst))


def first_dir(pattern):
    dirs = sorted(d for d in glob.glob(pattern) if os.path.isdir(d))
    return dirs[0] if dirs else None


def gpt2_dir():
    """A GPT-2 directory with its tokenizer: refdata's tiny-random-gpt2, else a
    fixture; None when there is none."""
    ref = os.path.join(REFDATA, "models", "tiny-random-gpt2")
    return ref if os.path.isdir(ref) else first_dir(os.path.join(FIXTURES, "gpt2-*"))


def open_or_skip(path, what, threads=1):
    """Open @path, or skip the test when it is absent or its family has not
    landed in the library yet (UnsupportedError). One compute thread: meson
    runs test programs in parallel on few cores."""
    if not path or not os.path.isdir(path):
        raise unittest.SkipTest("%s: no model directory" % what)
    try:
        return ce.Model(path, threads=threads)
    except ce.UnsupportedError as e:
        raise unittest.SkipTest("%s: not supported by this build yet: %s" % (what, e))
