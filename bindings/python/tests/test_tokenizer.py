"""Tokenizers: golden ids from cases.json, offsets in bytes and characters,
pairs, truncation, special tokens, decoding and bad input."""
import os
import unittest

from support import BERT_FIXTURES, FIXTURES, UNCASED, TestCase, cases, ce


class TestGolden(TestCase):
    def test_cases(self):
        for fixture in BERT_FIXTURES:
            with ce.Model(os.path.join(FIXTURES, fixture), threads=1) as m:
                tok = m.tokenizer
                for case in cases(fixture)["cases"]:
                    if case["kind"] not in ("text", "pair"):
                        continue
                    with self.subTest(fixture=fixture, case=case["name"]):
                        enc = tok.encode(case["text"], pair=case.get("text_pair"))
                        self.assertEqual(enc.ids, case["input_ids"])
                        self.assertEqual(enc.tokens, case["tokens"])
                        self.assertEqual(enc.type_ids, case["token_type_ids"])

    def test_special_ids(self):
        want = cases("bert-tiny-uncased")["tokenizer"]["special_ids"]
        with ce.Model(UNCASED, threads=1) as m:
            got = m.tokenizer.special_ids
        self.assertEqual(got["cls"], want["[CLS]"])
        self.assertEqual(got["sep"], want["[SEP]"])
        self.assertEqual(got["pad"], want["[PAD]"])
        self.assertEqual(got["mask"], want["[MASK]"])
        self.assertEqual(got["unk"], want["[UNK]"])


class TestEncode(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tok = ce.Tokenizer(UNCASED)

    @classmethod
    def tearDownClass(cls):
        cls.tok.close()

    def test_offsets_bytes_and_chars(self):
        text = "Naïve café!"
        enc = self.tok.encode(text)
        self.assertEqual(enc.tokens, ["[CLS]", "naive", "cafe", "!", "[SEP]"])
        self.assertEqual(enc.offsets, [(0, 0), (0, 6), (7, 12), (12, 13), (0, 0)])
        self.assertEqual(enc.char_offsets, [(0, 0), (0, 5), (6, 10), (10, 11), (0, 0)])
        self.assertEqual(enc.sequence_ids, [-1, 0, 0, 0, -1])
        raw = text.encode()
        self.assertEqual(raw[6 + 1:12].decode(), "café")
        self.assertEqual([text[b:e] for b, e in enc.char_offsets[1:4]], ["Naïve", "café", "!"])

    def test_pair_offsets_point_into_their_text(self):
        enc = self.tok.encode("Zürich?", pair="love 中国")
        self.assertEqual(enc.sequence_ids, [-1, 0, 0, -1, 1, 1, 1, -1])
        self.assertEqual(enc.type_ids, [0, 0, 0, 0, 1, 1, 1, 1])
        texts = ["Zürich?", "love 中国"]
        pieces = [texts[s][b:e] for (b, e), s in zip(enc.char_offsets, enc.sequence_ids) if s >= 0]
        self.assertEqual(pieces, ["Zürich", "?", "love", "中", "国"])

    def test_max_length_and_no_specials(self):
        text = "The quick brown fox jumps over the lazy dog"
        enc = self.tok.encode(text, max_length=5)
        self.assertEqual(enc.tokens, ["[CLS]", "the", "quick", "brown", "[SEP]"])
        enc = self.tok.encode(text, add_special=False)
        self.assertEqual(enc.tokens[0], "the")
        self.assertEqual(len(enc), 9)
        self.assertEqual(self.tok.encode("").tokens, ["[CLS]", "[SEP]"])

    def test_special_as_text(self):
        mask = self.tok.special_id("mask")
        self.assertIn(mask, self.tok.encode("a [MASK] b").ids)
        self.assertNotIn(mask, self.tok.encode("a [MASK] b", special_as_text=True).ids)

    def test_decode(self):
        ids = self.tok.encode("Hello world!").ids
        self.assertEqual(self.tok.decode(ids, skip_special=True), "hello world!")
        self.assertEqual(self.tok.decode(ids), "[CLS] hello world! [SEP]")
        self.assertEqual(self.tok.decode([]), "")
        long_ids = self.tok.encode("unbelievably " * 40, add_special=False).ids
        self.assertEqual(self.tok.decode(long_ids).split(), ["unbelievably"] * 40)
        with self.assertRaises(ce.OutOfRangeError):
            self.tok.decode([1 << 20])

    def test_vocabulary(self):
        self.assertEqual(self.tok.kind, "wordpiece")
        self.assertEqual(len(self.tok), 283)
        self.assertEqual(self.tok.id_to_token(12), "[CLS]")
        self.assertEqual(self.tok.token_to_id("[SEP]"), 13)
        self.assertEqual(self.tok.token_to_id("##ly"), 223)
        with self.assertRaisesRegex(ce.NotFoundError, "notaword"):
            self.tok.token_to_id("notaword")
        with self.assertRaises(ce.OutOfRangeError) as cm:
            self.tok.id_to_token(100000)
        self.assertEqual(cm.exception.status, 9)
        self.assertIn("100000", cm.exception.message)
        with self.assertRaises(ValueError):
            self.tok.special_id("nonsense")

    def test_bad_input(self):
        with self.assertRaises(ce.InvalidUTF8Error) as cm:
            self.tok.encode(b"abc\xff")
        self.assertIsInstance(cm.exception, ValueError)
        self.assertEqual(cm.exception.status, 6)
        with self.assertRaises(TypeError):
            self.tok.encode(123)
        self.assertEqual(self.tok.encode(b"hello").tokens, ["[CLS]", "hello", "[SEP]"])


class TestStandalone(TestCase):
    def test_open_file_and_dir(self):
        cased = os.path.join(FIXTURES, "tokenizers", "cased")
        if not os.path.isdir(cased):
            self.skipTest("no tokenizers/cased fixture")
        with ce.Tokenizer(cased) as tok:
            by_dir = tok.encode("Hello World").tokens
        with ce.Tokenizer(os.path.join(UNCASED, "vocab.txt")) as tok:
            self.assertEqual(tok.encode("Hello World").tokens, ["[CLS]", "hello", "world", "[SEP]"])
        self.assertEqual(by_dir[0], "[CLS]")

    def test_path_like(self):
        import pathlib
        with ce.Tokenizer(pathlib.Path(UNCASED)) as tok:
            self.assertEqual(tok.kind, "wordpiece")
        with ce.Model(pathlib.Path(UNCASED), threads=1) as m:
            self.assertEqual(m.architecture, "bert")

    def test_closed(self):
        tok = ce.Tokenizer(UNCASED)
        tok.close()
        tok.close()  # twice is fine
        with self.assertRaisesRegex(ce.StateError, "closed"):
            tok.encode("x")

    def test_missing(self):
        with self.assertRaises(ce.ContextEmbedError) as cm:
            ce.Tokenizer("/nonexistent/tokenizer-dir")
        self.assertIn("/nonexistent/tokenizer-dir", str(cm.exception))

    def test_model_tokenizer_closes_with_model(self):
        m = ce.Model(UNCASED, threads=1)
        tok = m.tokenizer
        m.close()
        with self.assertRaisesRegex(ce.StateError, "closed"):
            tok.encode("x")


if __name__ == "__main__":
    unittest.main()
