"""sentence-transformers directories (test/gen/gen_sentence.py): the model's own
sentence embedding (pool="default"), explicit pools, truncation to
max_seq_length, lower-casing, the refused Dense module; the new pooling modes
on a plain BERT checkpoint."""
import math
import os
import unittest

from support import FIXTURES, UNCASED, TestCase, cases, ce, flat, plane, read_safetensors, shape_of

ST_MEAN = os.path.join(FIXTURES, "st-mean")


def rows(expected, name):
    """<name>.token_embeddings [T, D] as a list of rows."""
    (t, d), values = expected[name + ".token_embeddings"]
    return [list(values[i * d:(i + 1) * d]) for i in range(t)]


def mean_rows(r):
    return [sum(col) / len(r) for col in zip(*r)]


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def norm(v):
    return math.sqrt(sum(x * x for x in flat(v)))


def pool_rows(r, mode):
    """sentence-transformers' Pooling modes on one sequence's rows."""
    t = len(r)
    if mode in ("cls",):
        return list(r[0])
    if mode in ("last", "lasttoken"):
        return list(r[-1])
    if mode == "max":
        return [max(col) for col in zip(*r)]
    if mode == "mean":
        return mean_rows(r)
    if mode == "mean_sqrt_len":
        return [sum(col) / math.sqrt(t) for col in zip(*r)]
    if mode in ("weighted_mean", "weightedmean"):
        total = t * (t + 1) / 2
        return [sum((i + 1) * x for i, x in enumerate(col)) / total for col in zip(*r)]
    raise ValueError(mode)


class TestSentenceTransformers(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = ce.Model(ST_MEAN, threads=1)
        cls.cases = cases("st-mean")["cases"]
        cls.expected = read_safetensors(os.path.join(ST_MEAN, "expected.safetensors"))

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def sentence(self, case):
        return self.expected[case["name"] + ".sentence_embedding"][1]

    def test_default_pool(self):
        m = self.model
        for case in self.cases:
            with self.subTest(case=case["name"]):
                got = m.embed(case["text"], pool="default")
                self.assertEqual(shape_of(got), (32,))
                self.assertClose(got, self.sentence(case))
                self.assertAlmostEqual(norm(got), 1.0, places=5)

    def test_default_pool_batch(self):
        texts = [c["text"] for c in self.cases]
        got = self.model.embed(texts, pool="default")
        self.assertEqual(len(got), len(texts))
        for g, case in zip(got, self.cases):
            self.assertClose(g, self.sentence(case), msg=case["name"])

    def test_explicit_pools_are_not_normalised(self):
        m = self.model
        for case in self.cases:
            with self.subTest(case=case["name"]):
                r = rows(self.expected, case["name"])
                mean = m.embed(case["text"], pool="mean")
                self.assertClose(mean, mean_rows(r))
                self.assertGreater(abs(norm(mean) - 1.0), 0.1)
                self.assertClose(m.embed(case["text"], pool="cls"), r[0])
                self.assertClose(m.embed(case["text"], pool="default", normalize=False), mean_rows(r))
                self.assertClose(m.embed(case["text"], pool="mean", normalize=True),
                                 unit(mean_rows(r)))

    def test_truncation_to_max_seq_length(self):
        m = self.model
        self.assertEqual(m.info["max_seq_length"], 16)
        long = [c for c in self.cases if c["truncated"]]
        self.assertTrue(long)
        for case in long:
            self.assertGreater(case["length_untruncated"], 16)
            enc = m.tokenizer.encode(case["text"], max_length=m.info["max_seq_length"])
            self.assertEqual(list(enc.ids), case["input_ids"])
            self.assertEqual(enc.tokens[0], "[CLS]")
            self.assertEqual(enc.tokens[-1], "[SEP]")
            # sentence-transformers cuts every text to max_seq_length
            tokens = m.embed(case["text"])
            self.assertEqual(shape_of(tokens), (16, 32))
            self.assertClose(tokens, rows(self.expected, case["name"]))
            self.assertClose(m.embed(case["text"], pool="default"), self.sentence(case))
            # explicitly not cut: the whole text (it fits in the 64 positions)
            whole = m.embed(case["text"], truncate=False)
            self.assertEqual(shape_of(whole), (case["length_untruncated"], 32))

    def test_info(self):
        info = self.model.info
        self.assertIn("sentence_pooling", info["capabilities"])
        self.assertTrue(info["normalize"])
        self.assertEqual(info["max_seq_length"], 16)


class TestOtherFixtures(TestCase):
    def check_fixture(self, fixture, modes, normalized):
        path = os.path.join(FIXTURES, fixture)
        expected = read_safetensors(os.path.join(path, "expected.safetensors"))
        with ce.Model(path, threads=1) as m:
            for case in cases(fixture)["cases"]:
                with self.subTest(fixture=fixture, case=case["name"]):
                    want = expected[case["name"] + ".sentence_embedding"]
                    got = m.embed(case["text"], pool="default")
                    self.assertEqual(shape_of(got), want[0])
                    self.assertClose(got, want[1])
                    r = rows(expected, case["name"])
                    raw = [x for mode in modes for x in pool_rows(r, mode)]
                    self.assertClose(m.embed(case["text"], pool="default", normalize=False), raw)
                    self.assertClose(got, unit(raw) if normalized else raw)

    def test_multi(self):
        self.check_fixture("st-multi", ["cls", "max", "mean"], True)

    def test_each_mode(self):
        for fixture, mode in (("st-cls", "cls"), ("st-max", "max"), ("st-mean-sqrt", "mean_sqrt_len"),
                              ("st-weightedmean", "weighted_mean"), ("st-lasttoken", "last")):
            self.check_fixture(fixture, [mode], False)

    def test_lower_case(self):
        self.check_fixture("st-lower", ["mean"], True)
        path = os.path.join(FIXTURES, "st-lower")
        with ce.Model(path, threads=1) as m:
            for case in cases("st-lower")["cases"]:
                enc = m.tokenizer.encode(case["text"], max_length=16)
                self.assertEqual(list(enc.ids), case["input_ids"], case["text"])

    def test_old_layout(self):
        self.check_fixture("st-old", ["mean"], False)

    def test_dense_refused(self):
        path = os.path.join(FIXTURES, "st-dense")
        with self.assertRaises(ce.UnsupportedError) as cm:
            ce.Model(path, threads=1)
        self.assertIn("Dense", str(cm.exception))
        expected = read_safetensors(os.path.join(path, "expected.safetensors"))
        case = cases("st-dense")["cases"][0]
        with ce.Model(path, threads=1, sentence_modules=False) as m:
            self.assertNotIn("sentence_pooling", m.info["capabilities"])
            r = rows(expected, case["name"])
            self.assertClose(m.embed(case["text"]), r)
            self.assertClose(m.embed(case["text"], pool="cls"), r[0])
            with self.assertRaises(ce.UnsupportedError):
                m.embed(case["text"], pool="default")


class TestPlainBert(TestCase):
    def test_new_pools(self):
        case = cases("bert-tiny-uncased")["cases"][2]
        want = read_safetensors(os.path.join(UNCASED, "expected.safetensors"))[
            case["name"] + ".hidden_states"]
        last = plane(want, 2)
        with ce.Model(UNCASED, threads=1) as m:
            self.assertNotIn("sentence_pooling", m.info["capabilities"])
            for pool in ("mean_sqrt_len", "weighted_mean", "last"):
                with self.subTest(pool=pool):
                    got = m.embed(case["text"], pool=pool)
                    self.assertEqual(shape_of(got), (64,))
                    self.assertClose(got, pool_rows(last, pool))
                    self.assertClose(m.embed(case["text"], pool=pool, normalize=True),
                                     unit(pool_rows(last, pool)))
            with self.assertRaises(ce.UnsupportedError):
                m.embed(case["text"], pool="default")


if __name__ == "__main__":
    unittest.main()
