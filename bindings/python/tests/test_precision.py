"""Model(path, precision=...): int8 on the trained models of models/, what is
refused, and what info reports (test/test-precision.c holds the accuracy
contract; this checks the binding passes the setting through)."""
import json
import math
import os
import shutil
import struct
import tempfile
import unittest

from support import FIXTURES, ROOT, TestCase, ce, flat, read_safetensors

MODELS = os.path.join(ROOT, "models")
BERT = os.path.join(MODELS, "bert-mini-en")
GPT2 = os.path.join(MODELS, "gpt2-mini-en")


def cosine(a, b):
    ab = sum(x * y for x, y in zip(a, b))
    return ab / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


@unittest.skipUnless(os.path.isdir(BERT) and os.path.isdir(GPT2), "models/ not present")
class TestPrecision(TestCase):
    def test_int8_close_to_f32(self):
        text = "And the LORD spake unto Moses, saying"
        with ce.Model(BERT) as f, ce.Model(BERT, precision="int8") as q:
            self.assertEqual(f.precision, "f32")
            self.assertEqual(q.precision, "int8")
            self.assertEqual(q.info["precision"], "int8")
            a, b = flat(f.embed(text, layers="all")), flat(q.embed(text, layers="all"))
            self.assertEqual(len(a), len(b))
            self.assertNotEqual(a, b)  # really quantised
            d = f.info["hidden_size"]
            for i in range(0, len(a), d):
                self.assertGreater(cosine(a[i:i + d], b[i:i + d]), 0.99)

    def test_int8_decoder(self):
        with ce.Model(GPT2, precision="int8") as q, ce.Model(GPT2) as f:
            ppl_q = q.score("In the beginning God created the heaven and the earth.")
            ppl_f = f.score("In the beginning God created the heaven and the earth.")
            self.assertAlmostEqual(ppl_q["perplexity"] / ppl_f["perplexity"], 1.0, delta=0.05)

    def test_bad_precision(self):
        with self.assertRaisesRegex(ce.InvalidArgumentError, "f32, bf16, int8"):
            ce.Model(BERT, precision="fp16")

    def test_bf16_needs_the_cpu(self):
        cpu = ce.cpu_features()
        self.assertEqual(set(cpu), {"avx2", "avx512", "avx512_bf16", "amx_bf16", "vnni",
                                    "amx_int8"})
        cpu_bf16 = cpu["avx512_bf16"] or cpu["amx_bf16"]
        # a fast backend runs it where the CPU multiplies in bf16 (onednn when built, or
        # blis's own kernel with AVX512-BF16)
        fast = "onednn" in ce.backends() or (cpu["avx512_bf16"] and "blis" in ce.backends())
        if cpu_bf16 and fast:
            with ce.Model(BERT, precision="bf16") as m, ce.Model(BERT) as f:
                self.assertEqual(m.precision, "bf16")
                self.assertNotEqual(m.info["backend"], "ref")
                self.assertClose(m, f)
        else:
            with self.assertRaises(ce.UnsupportedError) as cm:
                ce.Model(BERT, precision="bf16")
            if not cpu_bf16:
                self.assertIn("AVX512-BF16", cm.exception.message)
                self.assertIn("AMX-BF16", cm.exception.message)
        # the reference backend, named, runs bf16 on any CPU: close to f32, not equal
        with ce.Model(BERT, precision="bf16", backend="ref") as r, ce.Model(BERT) as f:
            self.assertEqual(r.precision, "bf16")
            self.assertClose(r, f)

    def assertClose(self, q, f):
        a = list(q.embed("The tide went out.", pool="mean"))
        b = list(f.embed("The tide went out.", pool="mean"))
        dot = sum(x * y for x, y in zip(a, b))
        cos = dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)
        self.assertGreater(cos, 0.999)
        self.assertNotEqual(a, b)

    def test_session_keeps_the_models_backend(self):
        with ce.Model(BERT, precision="int8") as q:
            other = "ref" if q.info["backend"] != "ref" else "blis"
            if other in ce.backends():
                with self.assertRaisesRegex(ce.UnsupportedError, "int8"):
                    q.session(backend=other)


if __name__ == "__main__":
    unittest.main()


def write_f16(path, tensors):
    """Write {name: (shape, values)} as an F16 safetensors file (struct's 'e': IEEE half)."""
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack("<%de" % len(values), *values)
        header[name] = {"dtype": "F16", "shape": list(shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


MLM = os.path.join(FIXTURES, "heads-bert-mlm")


@unittest.skipUnless(os.path.isdir(MLM), "no heads-bert-mlm fixture")
class TestHalfCheckpoints(TestCase):
    """An F16 checkpoint below f32: the linear weights are converted to float32
    only as each is prepared. An untied MLM decoder (twice the word embeddings:
    exact in F16, and an exact doubling of every product, quantised or not)
    must give the tied model's logits doubled, bias aside, at f32 and at int8:
    its conversion waits too, and it must be neither taken for absent (and
    tied to the embeddings) nor left unconverted."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        tensors = read_safetensors(os.path.join(MLM, "model.safetensors"))
        shape, word = next(v for k, v in tensors.items() if k.endswith("word_embeddings.weight"))
        bias = tensors["cls.predictions.bias"][1]  # as the F16 file holds it:
        self.bias = struct.unpack("<%de" % len(bias), struct.pack("<%de" % len(bias), *bias))
        self.tied, self.untied = os.path.join(self.tmp, "tied"), os.path.join(self.tmp, "untied")
        doubled = {"cls.predictions.decoder.weight": (shape, [2 * x for x in word])}
        for d, extra in ((self.tied, {}), (self.untied, doubled)):
            shutil.copytree(MLM, d)
            write_f16(os.path.join(d, "model.safetensors"), dict(tensors, **extra))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def logits(self, path, precision):
        with ce.Model(path, precision=precision) as m:
            out = m.fill_mask("the capital of france is [MASK] .", logits=True)
            return list(out["masks"][0]["logits"])

    def test_untied_decoder_converted_when_prepared(self):
        f32 = self.logits(self.tied, "f32")
        int8 = self.logits(self.tied, "int8")
        self.assertNotEqual(int8, f32)  # really quantised
        for precision, tied in (("f32", f32), ("int8", int8)):
            untied = self.logits(self.untied, precision)
            self.assertEqual(len(untied), len(tied))
            scale = max(abs(x) for x in tied)
            for u, t, b in zip(untied, tied, self.bias):
                self.assertAlmostEqual(u - b, 2 * (t - b), delta=1e-5 * scale, msg=precision)
