"""Decoders (GPT-2): logits against the PyTorch golden values, the KV cache
(append, rewind, copy), greedy continuations, score and generate."""
import math
import os
import unittest

from support import (FIXTURES, REFDATA, UNCASED, TestCase, ce, open_or_skip, read_safetensors,
                     shape_of)
from contextembed.generation import _split_stop

GPT2 = os.path.join(FIXTURES, "gpt2-tiny")
TINY_RANDOM = os.path.join(REFDATA, "models", "tiny-random-gpt2")
LOGITS_TOL = 2e-4  # cases.json's suggested_tolerance_abs for logits


def rows_of(expected):
    shape, values = expected
    n, v = shape
    return [list(values[i * v:(i + 1) * v]) for i in range(n)]


def greedy_ids(session, prompt, steps):
    sampler = ce.Sampler(temperature=0)
    session.rewind(0)
    session.append(prompt)
    out = []
    for i in range(steps):
        out.append(sampler.sample(session))
        if i + 1 < steps:
            session.append(out[-1])
    return out


class TestKVCache(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = open_or_skip(GPT2, "gpt2-tiny")
        import json
        with open(os.path.join(GPT2, "cases.json"), encoding="utf-8") as f:
            cls.cases = json.load(f)["cases"]
        cls.expected = read_safetensors(os.path.join(GPT2, "expected.safetensors"))

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def want_logits(self, case):
        return rows_of(self.expected[case["name"] + ".logits"])

    def test_facts(self):
        self.assertTrue(self.model.is_decoder)
        self.assertEqual(self.model.architecture, "gpt2")
        self.assertEqual(self.model.info["vocab_size"], 577)

    def test_tokenizer_and_all_logits(self):
        tok = self.model.tokenizer
        with self.model.session() as s:
            for case in self.cases:
                with self.subTest(case=case["name"]):
                    enc = tok.encode(case["text"], add_special=False)
                    self.assertEqual(enc.ids, case["input_ids"])
                    s.rewind(0)
                    s.append(enc.ids, all_logits=True)
                    got = s.logits()
                    self.assertEqual(shape_of(got), (len(enc.ids), 577))
                    self.assertClose(got, self.want_logits(case), LOGITS_TOL)
                    self.assertEqual(s.context_length, len(enc.ids))

    def test_one_token_at_a_time(self):
        case = self.cases[2]
        ids, want = case["input_ids"], self.want_logits(case)
        with self.model.session() as s:
            s.append(ids[:10])
            self.assertEqual(shape_of(s.logits()), (577,))
            self.assertClose(s.logits(), want[9], LOGITS_TOL)
            for i in range(10, len(ids)):
                s.append([ids[i]])
                self.assertClose(s.logits(), want[i], LOGITS_TOL, msg="position %d" % i)

    def test_rewind_and_copy(self):
        case = self.cases[2]
        ids, want = case["input_ids"], self.want_logits(case)
        with self.model.session() as s:
            s.append(ids[:5] + [1, 2, 3])
            s.rewind(5)
            self.assertEqual(s.context_length, 5)
            with self.assertRaisesRegex(ce.StateError, "no logits"):
                s.logits()
            fork = s.copy()
            s.append(ids[5:], all_logits=True)
            self.assertClose(s.logits(), want[5:], LOGITS_TOL)
            self.assertEqual(fork.context_length, 5)
            fork.append(ids[5:8])
            self.assertClose(fork.logits(), want[7], LOGITS_TOL)
            fork.close()
            with self.assertRaises(ce.OutOfRangeError):
                s.rewind(s.context_length + 1)

    def test_sampler_after_all_logits(self):
        case = self.cases[2]
        want = self.want_logits(case)[-1]
        with self.model.session() as s:
            s.append(case["input_ids"], all_logits=True)
            greedy = ce.Sampler(temperature=0).sample(s)
        self.assertEqual(greedy, max(range(len(want)), key=want.__getitem__))

    def test_greedy(self):
        with self.model.session() as s:
            for case in self.cases:
                if not case.get("greedy_ids"):
                    continue
                with self.subTest(case=case["name"]):
                    self.assertEqual(greedy_ids(s, case["input_ids"], 12), case["greedy_ids"])

    def test_errors(self):
        with self.model.session() as s:
            with self.assertRaisesRegex(ce.StateError, "append"):
                s.logits()
            with self.assertRaisesRegex(ce.OutOfRangeError, "577"):
                s.append([577])
            with self.assertRaises(ce.InvalidArgumentError):
                s.append([])
            with self.assertRaises(ce.TooLongError):
                s.append([1] * 65)
            self.assertEqual(s.context_length, 0)  # failures leave the context as it was
        with ce.Model(UNCASED, threads=1) as bert:
            self.assertFalse(bert.is_decoder)
            with bert.session() as s:
                with self.assertRaises(ce.UnsupportedError):
                    s.append([12])
            with self.assertRaises(ce.UnsupportedError):
                bert.score("hello world")
            with self.assertRaises(ce.UnsupportedError):
                next(bert.generate("hello"))

    def test_score(self):
        case = self.cases[2]
        want = self.want_logits(case)
        result = self.model.score(case["text"])
        ids = case["input_ids"]
        self.assertEqual(result["ids"], ids)
        self.assertEqual(len(result["logprobs"]), len(ids) - 1)
        self.assertEqual("".join(result["tokens"]), case["text"])
        for i in range(1, len(ids)):
            row = want[i - 1]
            peak = max(row)
            lse = peak + math.log(sum(math.exp(v - peak) for v in row))
            self.assertAlmostEqual(result["logprobs"][i - 1], row[ids[i]] - lse, delta=1e-3)
        mean = sum(result["logprobs"]) / len(result["logprobs"])
        self.assertAlmostEqual(result["perplexity"], math.exp(-mean), places=6)
        by_ids = self.model.score([576] + ids)
        self.assertEqual(len(by_ids["logprobs"]), len(ids))
        self.assertEqual(by_ids["tokens"][0], "<|endoftext|>")
        with self.assertRaises(ce.InvalidArgumentError):
            self.model.score("The")


class TestGenerate(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = open_or_skip(TINY_RANDOM, "refdata tiny-random-gpt2")

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def gen(self, prompt="Hello I believe in", **kw):
        kw.setdefault("temperature", 0)
        kw.setdefault("max_tokens", 12)
        return list(self.model.generate(prompt, **kw))

    def test_hugging_face_golden(self):
        # transformers' own test: greedy from this prompt gives " fe" twelve times
        self.assertEqual("".join(self.gen()), " fe" * 12)
        self.assertEqual("".join(self.gen(top_k=1, temperature=1.0)), " fe" * 12)
        self.assertEqual(len(self.gen(max_tokens=3)), 3)

    def test_stop_strings(self):
        self.assertEqual(self.gen(stop=" fe"), [])
        self.assertEqual("".join(self.gen(stop=["never", "fe fe"])), " ")
        self.assertEqual("".join(self.gen(stop="zzz")), " fe" * 12)

    def test_sampling_is_seeded(self):
        a = self.gen(temperature=1.0, seed=7, max_tokens=8)
        b = self.gen(temperature=1.0, seed=7, max_tokens=8)
        self.assertEqual(a, b)
        with self.assertRaises(ce.OutOfRangeError):
            self.gen(temperature=-1)
        with self.assertRaises(ce.OutOfRangeError):
            self.gen(top_p=0.0)

    def test_prompts(self):
        ids = self.model.tokenizer.encode("Hello I believe in", add_special=False).ids
        self.assertEqual("".join(self.gen(ids, max_tokens=2)), " fe fe")
        self.assertIsInstance("".join(self.gen("", max_tokens=2)), str)
        it = self.model.generate("Hello", max_tokens=100)
        next(it)
        it.close()  # stopping early frees the generator's session


class TestStopFilter(TestCase):
    def test_split(self):
        self.assertEqual(_split_stop("abc", []), ("abc", "", False))
        self.assertEqual(_split_stop("hello wo", ["world"]), ("hello ", "wo", False))
        self.assertEqual(_split_stop("hello world!", ["world"]), ("hello ", "", True))
        self.assertEqual(_split_stop("xab", ["abc", "b"]), ("xa", "", True))
        self.assertEqual(_split_stop("xaa", ["aab"]), ("x", "aa", False))


if __name__ == "__main__":
    unittest.main()
