#!/usr/bin/env python3
"""Convert ELMo weights from AllenNLP / bilm-tf HDF5 to a contextembed model directory.

Usage:
    python3 tools/convert_elmo.py --weights WEIGHTS.hdf5 --options OPTIONS.json --out MODEL_DIR

MODEL_DIR receives:
  options.json       the options file, byte for byte
  model.safetensors  every dataset of the HDF5 file under its HDF5 path
                     ("char_embed", "CNN/W_cnn_0", "RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0",
                     ...), same shape, float32 (other float types are converted), tensors in
                     name order, each 4-byte aligned so that the library maps them in place;
                     "__metadata__" records the source file name and the options text.

ce_model_open(MODEL_DIR) then opens it as an ELMo model. Needs numpy and h5py
(Debian: python3-numpy python3-h5py). The safetensors file is written here
directly (8-byte little-endian header length, JSON header padded with spaces
to a multiple of 8 bytes, then the data), so the `safetensors` package is not
needed. Exit status: 0 on success, 1 on a bad input file, 2 on a usage error.
"""
import argparse
import json
import os
import struct
import sys

WEIGHTS_NAME = "model.safetensors"


class ConvertError(Exception):
    pass


def read_options(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
        options = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConvertError("%s: cannot read the options: %s" % (path, e))
    if not isinstance(options, dict) or not isinstance(options.get("lstm"), dict):
        raise ConvertError("%s: not ELMo options (no \"lstm\" object)" % path)
    if not isinstance(options.get("char_cnn"), dict):
        raise ConvertError("%s: no \"char_cnn\" object: only character-based ELMo models are "
                           "supported" % path)
    return raw


def read_tensors(path):
    """Every dataset of the file as {name: float32 C-contiguous array}."""
    import numpy as np
    import h5py
    tensors = {}

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        data = obj[()]
        if not np.issubdtype(np.asarray(data).dtype, np.floating):
            raise ConvertError("%s: dataset %s has dtype %s; only float tensors are expected"
                               % (path, name, obj.dtype))
        tensors[name] = np.ascontiguousarray(np.asarray(data, dtype="<f4"))

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except OSError as e:
        raise ConvertError("%s: cannot read the HDF5 file: %s" % (path, e))
    if not tensors:
        raise ConvertError("%s: the HDF5 file holds no datasets" % path)
    return tensors


def safetensors_bytes(tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    parts = [struct.pack("<Q", len(text)), text]
    parts += [tensors[name].tobytes() for name in sorted(tensors)]
    return b"".join(parts)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def convert(weights, options, out):
    options_raw = read_options(options)
    tensors = read_tensors(weights)
    metadata = {"source": os.path.basename(weights),
                "options": options_raw.decode("utf-8")}
    blob = safetensors_bytes(tensors, metadata)
    try:
        os.makedirs(out, exist_ok=True)
        write_atomic(os.path.join(out, WEIGHTS_NAME), blob)
        write_atomic(os.path.join(out, "options.json"), options_raw)
    except OSError as e:
        raise ConvertError("%s: cannot write the model directory: %s" % (out, e))
    return len(tensors)


def main(argv):
    p = argparse.ArgumentParser(description="Convert ELMo HDF5 weights to a contextembed "
                                "model directory (options.json + model.safetensors).")
    p.add_argument("--weights", required=True, help="the HDF5 weights (lm_weights.hdf5)")
    p.add_argument("--options", required=True, help="the options.json that goes with them")
    p.add_argument("--out", required=True, help="model directory to write")
    a = p.parse_args(argv)
    try:
        n = convert(a.weights, a.options, a.out)
    except ImportError as e:
        print("convert_elmo: needs numpy and h5py: %s" % e, file=sys.stderr)
        return 1
    except ConvertError as e:
        print("convert_elmo: %s" % e, file=sys.stderr)
        return 1
    print("convert_elmo: wrote %d tensors to %s" % (n, os.path.join(a.out, WEIGHTS_NAME)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
