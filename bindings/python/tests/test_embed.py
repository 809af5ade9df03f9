"""Embeddings against the PyTorch golden hidden states (expected.safetensors),
and layer selection, mixing, pooling, normalisation, batches, truncation."""
import math
import os
import unittest

from support import (BERT_FIXTURES, FIXTURES, UNCASED, TestCase, cases, ce, plane,
                     read_safetensors, shape_of)


def mean_rows(rows):
    return [sum(col) / len(rows) for col in zip(*rows)]


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


class TestGolden(TestCase):
    def test_every_case_every_layer(self):
        for fixture in BERT_FIXTURES:
            path = os.path.join(FIXTURES, fixture)
            expected = read_safetensors(os.path.join(path, "expected.safetensors"))
            with ce.Model(path, threads=1) as m:
                for case in cases(fixture)["cases"]:
                    with self.subTest(fixture=fixture, case=case["name"]):
                        want = expected[case["name"] + ".hidden_states"]
                        if case["kind"] == "ids":
                            got = m.embed_ids(case["input_ids"], case["token_type_ids"],
                                              layers="all")
                        else:
                            got = m.embed((case["text"], case["text_pair"])
                                          if case["kind"] == "pair" else case["text"],
                                          layers="all")
                        self.assertEqual(shape_of(got), want[0])
                        self.assertClose(got, want[1])

    def test_batch(self):
        seqs = cases("bert-tiny-uncased")["batch"]["sequences"]
        expected = read_safetensors(os.path.join(UNCASED, "expected.safetensors"))
        with ce.Model(UNCASED, threads=1) as m:
            got = m.embed_ids([s["input_ids"] for s in seqs], [s["token_type_ids"] for s in seqs],
                              layers="all")
            self.assertEqual(len(got), len(seqs))
            for s, g in zip(seqs, got):
                self.assertClose(g, expected[s["name"] + ".hidden_states"][1], msg=s["name"])
            texts = ["Where is Munich? In Germany.", "Hello world!", "a"]
            together = m.embed(texts)
            one_by_one = m.embed(texts, batch_size=1)
            for a, b, t in zip(together, one_by_one, texts):
                self.assertClose(a, b, 1e-5, msg=t)
                self.assertClose(a, m.embed(t), 1e-5, msg=t)
            self.assertEqual(m.embed([]), [])


class TestReadout(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = ce.Model(UNCASED, threads=1)
        case = cases("bert-tiny-uncased")["cases"][2]
        cls.text = case["text"]
        cls.want = read_safetensors(os.path.join(UNCASED, "expected.safetensors"))[
            case["name"] + ".hidden_states"]
        cls.T = case["length"]

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_layers(self):
        m, T = self.model, self.T
        self.assertEqual(shape_of(m.embed(self.text)), (T, 64))
        self.assertClose(m.embed(self.text), plane(self.want, 2))
        self.assertClose(m.embed(self.text, layers=0), plane(self.want, 0))
        self.assertClose(m.embed(self.text, layers=-2), plane(self.want, 1))
        both = m.embed(self.text, layers=[2, 0])
        self.assertEqual(shape_of(both), (2, T, 64))
        self.assertClose(both, [plane(self.want, 2), plane(self.want, 0)])
        self.assertEqual(shape_of(m.embed(self.text, layers=[1])), (1, T, 64))
        with self.assertRaises(ce.OutOfRangeError) as cm:
            m.embed(self.text, layers=3)
        self.assertIn("layer 3", cm.exception.message)

    def test_pooling_and_normalize(self):
        m, last = self.model, plane(self.want, 2)
        self.assertClose(m.embed(self.text, pool="cls"), last[0])
        self.assertClose(m.embed(self.text, pool="mean"), mean_rows(last))
        self.assertClose(m.embed(self.text, pool="max"), [max(c) for c in zip(*last)])
        self.assertClose(m.embed(self.text, pool="mean", normalize=True), unit(mean_rows(last)))
        per_token = m.embed(self.text, normalize=True)
        self.assertClose(per_token[3], unit(last[3]))
        pooled = m.embed(self.text, layers=[0, 2], pool="mean")
        self.assertEqual(shape_of(pooled), (2, 64))
        self.assertClose(pooled[0], mean_rows(plane(self.want, 0)))
        with self.assertRaises(ValueError):
            m.embed(self.text, pool="median")

    def test_mix(self):
        m = self.model
        w, gamma = [0.1, 0.5, -1.0], 0.7
        soft = [math.exp(x) for x in w]
        soft = [gamma * x / sum(soft) for x in soft]
        planes = [plane(self.want, i) for i in range(3)]
        want = [[sum(soft[l] * planes[l][t][j] for l in range(3)) for j in range(64)]
                for t in range(self.T)]
        got = m.embed(self.text, mix=(w, gamma))
        self.assertEqual(shape_of(got), (self.T, 64))
        self.assertClose(got, want)
        self.assertClose(m.embed(self.text, mix=(w, gamma), pool="mean"), mean_rows(want))
        self.assertClose(m.embed(self.text, mix=(1.0, 1.0, 1.0)), m.embed(self.text, mix=[0, 0, 0]),
                         1e-6)  # a tuple of three weights, not (weights, gamma)
        self.assertClose(m.embed(self.text, mix=[0, 0, 0]),
                         [[sum(planes[l][t][j] for l in range(3)) / 3 for j in range(64)]
                          for t in range(self.T)])
        with self.assertRaises(ce.ContextEmbedError):
            m.embed(self.text, mix=([1.0, 2.0], 1.0))
        with self.assertRaises(ValueError):
            m.embed(self.text, mix=w, layers=0)

    def test_mix_layer_norm(self):
        planes = [plane(self.want, i) for i in range(3)]
        normed = []
        for p in planes:
            values = [v for row in p for v in row]
            mean = sum(values) / len(values)
            inv = 1 / math.sqrt(sum((v - mean) ** 2 for v in values) / len(values) + 1e-12)
            normed.append([[(v - mean) * inv for v in row] for row in p])
        want = [[sum(normed[l][t][j] for l in range(3)) / 3 for j in range(64)]
                for t in range(self.T)]
        self.assertClose(self.model.embed(self.text, mix=[0, 0, 0], mix_layer_norm=True), want)


class TestLimits(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = ce.Model(UNCASED, threads=1)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_truncate_text(self):
        m, text = self.model, "hello world " * 40
        with self.assertRaises(ce.TooLongError) as cm:
            m.embed(text)
        self.assertIsInstance(cm.exception, ValueError)
        got = m.embed(text, truncate=True)
        self.assertEqual(shape_of(got), (64, 64))
        enc = m.tokenizer.encode(text, max_length=64)
        self.assertEqual(enc.tokens[-1], "[SEP]")
        self.assertClose(got, m.embed_ids(enc.ids), 1e-5)

    def test_truncate_ids(self):
        m, ids = self.model, [12] + [180] * 69
        with self.assertRaisesRegex(ce.TooLongError, "70 tokens"):
            m.embed_ids(ids)
        got = m.embed_ids(ids, truncate=True)
        self.assertEqual(shape_of(got), (64, 64))
        self.assertClose(got, m.embed_ids(ids[:64]), 1e-5)

    def test_bad_ids(self):
        with self.assertRaisesRegex(ce.OutOfRangeError, "283"):
            self.model.embed_ids([12, 283])
        with self.assertRaisesRegex(ce.OutOfRangeError, "token type 2"):
            self.model.embed_ids([12, 13], [0, 2])
        with self.assertRaises(ce.InvalidArgumentError):
            self.model.embed_ids([])
        with self.assertRaisesRegex(ce.InvalidArgumentError, "one value per token"):
            self.model.embed_ids([12, 13, 14], [0, 0])

    def test_numpy_inputs(self):
        if not ce.HAVE_NUMPY:
            self.skipTest("numpy not in use")
        import numpy
        ids = numpy.array([12, 180, 181, 13], dtype=numpy.int64)
        self.assertClose(self.model.embed_ids(ids), self.model.embed_ids([12, 180, 181, 13]), 0.0)
        self.assertEqual(shape_of(self.model.embed("hello", layers=numpy.int64(0))), (3, 64))
        mixed = self.model.embed("hello", mix=numpy.array([0.0, 0.0, 0.0]))
        self.assertEqual(shape_of(mixed), (3, 64))


class TestSessions(TestCase):
    def test_session_api(self):
        with ce.Model(UNCASED, backend="ref", threads=1) as m:
            s = m.session()
            self.assertEqual(s.backend, "ref")
            self.assertEqual(s.threads, 1)
            self.assertEqual(s.num_sequences, 0)
            with self.assertRaisesRegex(ce.StateError, "no results"):
                s.output(0)
            s.run([[12, 180, 13], [12, 181, 182, 13]], [[0, 0, 0], [0, 0, 1, 1]])
            self.assertEqual(s.num_sequences, 2)
            self.assertEqual(s.sequence_length(1), 4)
            self.assertEqual(shape_of(s.output(1, layers=0)), (4, 64))
            with self.assertRaises(ce.OutOfRangeError):
                s.output(2)
            with self.assertRaises(ce.UnsupportedError):
                s.append([12])
            with self.assertRaises(ce.UnsupportedError):
                s.copy()
            s.close()
            with self.assertRaisesRegex(ce.StateError, "session is closed"):
                s.run([[12]])
            self.assertEqual(m.info["backend"], "ref")

    def test_backends_agree(self):
        text = "The quick brown fox jumps over the lazy dog"
        results = []
        for backend in ce.backends():
            with ce.Model(UNCASED, backend=backend, threads=1) as m:
                results.append(m.embed(text, layers="all"))
        for r in results[1:]:
            self.assertClose(r, results[0], 1e-4)

    def test_bad_options(self):
        with self.assertRaises(ce.NotFoundError):
            ce.Model(UNCASED, backend="no-such-backend").embed("x")
        with self.assertRaises(ce.OutOfRangeError):
            ce.Model(UNCASED, threads=-1)


if __name__ == "__main__":
    unittest.main()
