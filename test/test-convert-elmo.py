#!/usr/bin/python3
"""tools/convert_elmo.py against the reference data.

Usage: test-convert-elmo.py CONVERT_ELMO_PY [REFDATA_DIR]

Converting refdata/elmo/bilm-tf/raw/lm_weights.hdf5 must give exactly the
tensors of refdata/elmo/bilm-tf/lm_weights.safetensors (names, shapes, dtypes,
values bit for bit), options.json byte for byte, a header padded to 8 bytes and
4-byte aligned data. Synthetic HDF5 files check float64 input and refusals.
Exit 77 (skip) when numpy/h5py cannot be imported or the refdata is absent.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError as e:
    print("SKIP: %s" % e)
    sys.exit(77)

CONVERTER = sys.argv[1]
REFDATA = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("CE_REFDATA", "")


def convert(weights, options, out, rc=0):
    p = subprocess.run([sys.executable, CONVERTER, "--weights", weights, "--options", options,
                        "--out", out], capture_output=True, text=True, timeout=120)
    assert p.returncode == rc, "exit %d, expected %d: %s" % (p.returncode, rc, p.stderr)
    return p.stderr


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    header = json.loads(b[8:8 + n])
    tensors, end = {}, 0
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        assert s % 4 == 0 and e <= len(b) - 8 - n, (name, s, e)
        end = max(end, e)
        tensors[name] = (v["dtype"], v["shape"], b[8 + n + s:8 + n + e])
    assert end == len(b) - 8 - n, "trailing bytes"
    return tensors


def check_refdata(tmp):
    base = os.path.join(REFDATA, "elmo", "bilm-tf")
    out = os.path.join(tmp, "bilm")
    convert(os.path.join(base, "raw", "lm_weights.hdf5"), os.path.join(base, "raw", "options.json"),
            out)
    got = read(os.path.join(out, "model.safetensors"))
    want = read(os.path.join(base, "lm_weights.safetensors"))
    assert sorted(got) == sorted(want), set(got) ^ set(want)
    for name in want:
        assert got[name] == want[name], "tensor %s differs" % name
    with open(os.path.join(out, "options.json"), "rb") as f, \
            open(os.path.join(base, "raw", "options.json"), "rb") as g:
        assert f.read() == g.read(), "options.json is not copied byte for byte"
    print("ok   %d tensors equal lm_weights.safetensors" % len(want))


def check_synthetic(tmp):
    opts = os.path.join(tmp, "options.json")
    with open(opts, "w") as f:
        json.dump({"lstm": {"dim": 4, "projection_dim": 2}, "char_cnn": {"filters": [[1, 2]]}}, f)
    h5 = os.path.join(tmp, "w.hdf5")
    with h5py.File(h5, "w") as f:
        f["char_embed"] = np.arange(6, dtype=np.float64).reshape(3, 2) / 3
        f["CNN/W_cnn_0"] = np.ones((1, 1, 2, 2), dtype=np.float16)
    convert(h5, opts, os.path.join(tmp, "synthetic"))
    got = read(os.path.join(tmp, "synthetic", "model.safetensors"))
    dtype, shape, raw = got["char_embed"]
    assert dtype == "F32" and shape == [3, 2]
    assert raw == (np.arange(6, dtype=np.float64).reshape(3, 2) / 3).astype("<f4").tobytes()
    assert got["CNN/W_cnn_0"][0] == "F32"
    # refusals: an integer dataset, a missing file, options that are not ELMo's, usage
    with h5py.File(h5, "w") as f:
        f["char_embed"] = np.arange(6, dtype=np.int32)
    assert "dtype" in convert(h5, opts, os.path.join(tmp, "bad"), rc=1)
    assert "cannot read" in convert(os.path.join(tmp, "missing.hdf5"), opts,
                                    os.path.join(tmp, "bad"), rc=1)
    with open(opts, "w") as f:
        f.write('{"lstm": {}}')
    assert "char_cnn" in convert(h5, opts, os.path.join(tmp, "bad"), rc=1)
    with open(opts, "w") as f:
        f.write('{"lstm": ')
    assert "options" in convert(h5, opts, os.path.join(tmp, "bad"), rc=1)
    p = subprocess.run([sys.executable, CONVERTER, "--weights", h5], capture_output=True)
    assert p.returncode == 2
    print("ok   synthetic files and refusals")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_synthetic(tmp)
        if not os.path.isdir(os.path.join(REFDATA, "elmo", "bilm-tf")):
            print("SKIP: refdata/elmo/bilm-tf is absent")
            return 77
        check_refdata(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
