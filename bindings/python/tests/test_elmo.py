"""ELMo: words in, per-word vectors of every layer; scalar mix; carried LSTM
state. Golden values from test/gen (fixtures) and from the original
TensorFlow bilm-tf (refdata). Skipped when no ELMo model opens."""
import json
import os
import shutil
import tempfile
import unittest

from support import FIXTURES, REFDATA, TestCase, ce, open_or_skip, read_safetensors, shape_of

TOL = 1e-4


def elmo_fixtures():
    names = sorted(d for d in os.listdir(FIXTURES) if d.startswith("elmo-"))
    return [os.path.join(FIXTURES, d) for d in names]


class TestFixtures(TestCase):
    def setUp(self):
        self.dirs = elmo_fixtures()
        if not self.dirs:
            self.skipTest("no test/fixtures/elmo-* yet")

    def load(self, path):
        with open(os.path.join(path, "cases.json"), encoding="utf-8") as f:
            spec = json.load(f)
        return spec, read_safetensors(os.path.join(path, "expected.safetensors"))

    def test_stateless(self):
        for path in self.dirs:
            spec, want = self.load(path)
            with open_or_skip(path, os.path.basename(path)) as m:
                self.assertTrue(m.reads_words)
                self.assertFalse(m.is_decoder)
                got = m.embed_words(spec["stateless"], layers="all")
                for i, words in enumerate(spec["stateless"]):
                    with self.subTest(fixture=os.path.basename(path), sentence=i):
                        self.assertEqual(shape_of(got[i])[1], len(words))
                        self.assertClose(got[i], want["stateless/%d" % i][1], TOL)
                        # one sentence alone gives the same as in the batch
                        self.assertClose(m.embed_words(words, layers="all"), got[i], 1e-5)

    def test_text_is_split_at_whitespace(self):
        path = self.dirs[0]
        spec, want = self.load(path)
        words = spec["stateless"][0]
        with open_or_skip(path, os.path.basename(path)) as m:
            got = m.embed("  ".join(words) + "\n", layers="all")
            self.assertClose(got, want["stateless/0"][1], TOL)
            enc = m.tokenizer.encode(" ".join(words), add_special=False)
            self.assertEqual(enc.tokens, words)

    def test_stateful_rows_carry_state(self):
        for path in self.dirs:
            spec, want = self.load(path)
            with open_or_skip(path, os.path.basename(path)) as m:
                s = m.session(carry_state=True)
                for step, batch in enumerate(spec["stateful"]):
                    got = s.embed_words(batch, layers="all")
                    for row in range(len(batch)):
                        with self.subTest(fixture=os.path.basename(path), step=step, row=row):
                            self.assertClose(got[row], want["stateful/%d/%d" % (step, row)][1],
                                             TOL)
                s.reset_state()
                first = spec["stateful"][0]
                self.assertClose(s.embed_words(first, layers="all")[0],
                                 want["stateful/0/0"][1], TOL)
                s.close()

    def test_without_carry_state_runs_are_independent(self):
        path = self.dirs[0]
        spec, _ = self.load(path)
        batch = spec["stateful"][0]
        with open_or_skip(path, os.path.basename(path)) as m:
            with m.session() as s:
                a = s.embed_words(batch)
                b = s.embed_words(batch)
            for x, y in zip(a, b):
                self.assertClose(x, y, 0.0)

    def test_mix(self):
        for path in self.dirs:
            spec, want = self.load(path)
            if "mix" not in spec:
                continue
            mix = spec["mix"]
            with open_or_skip(path, os.path.basename(path)) as m:
                for i in mix["sentences"]:
                    words = spec["stateless"][i]
                    with self.subTest(fixture=os.path.basename(path), sentence=i):
                        plain = m.embed_words(words, mix=(mix["weights"], mix["gamma"]))
                        self.assertClose(plain, want["mix/%d/plain" % i][1], TOL)
                        normed = m.embed_words(words, mix=(mix["weights"], mix["gamma"]),
                                               mix_layer_norm=True)
                        self.assertClose(normed, want["mix/%d/layer_norm" % i][1], TOL)

    def test_bad_input(self):
        with open_or_skip(self.dirs[0], "elmo") as m:
            with self.assertRaises(ce.ContextEmbedError):
                m.embed_words([[]])
            with self.assertRaises(ce.ContextEmbedError):
                m.embed_ids([1, 2, 3])


class TestBilmTF(TestCase):
    """The original ELMo implementation's outputs, three streams of ten
    sentences run as batches with state carried per row."""

    def test_streams(self):
        src = os.path.join(REFDATA, "elmo", "bilm-tf")
        if not os.path.isdir(src):
            self.skipTest("no refdata/elmo/bilm-tf")
        tmp = tempfile.mkdtemp(prefix="ce-py-bilm-")
        try:
            shutil.copy(os.path.join(src, "options.json"), tmp)
            os.symlink(os.path.join(src, "lm_weights.safetensors"),
                       os.path.join(tmp, "model.safetensors"))
            with open(os.path.join(src, "inputs.json"), encoding="utf-8") as f:
                tokens = json.load(f)["tokens"]
            want = read_safetensors(os.path.join(src, "expected.safetensors"))
            with open_or_skip(tmp, "bilm-tf") as m, m.session(carry_state=True) as s:
                for i in range(len(tokens[0])):
                    got = s.embed_words([tokens[k][i] for k in range(len(tokens))], layers=-1)
                    for k in range(len(tokens)):
                        self.assertClose(got[k], want["s%d_%d/top_layer_concat" % (k, i)][1],
                                         1e-5, msg="stream %d sentence %d" % (k, i))
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()
