"""Model.embed_batch and Tokenizer.encode_batch give what the per-text calls give."""
import os
import unittest

import contextembed as ce
from support import FIXTURES, TestCase, flat

TEXTS = ["The tide went out.", "Hello, world!", "x", "caf\u00e9 na\u00efve",
         "A longer sentence with several words, some punctuation; and more."]


def open_fixture(name):
    path = os.path.join(FIXTURES, name)
    if not os.path.isdir(path):
        raise unittest.SkipTest("%s is absent" % path)
    return ce.Model(path, threads=1)


class TestBatch(TestCase):
    def test_encode_batch(self):
        for name in ("bert-tiny-uncased", "roberta-tiny"):
            with open_fixture(name) as m:
                tok = m.tokenizer
                pairs = list(reversed(TEXTS))
                for kw in ({}, {"pairs": pairs, "max_length": 12}, {"add_special": False}):
                    got = tok.encode_batch(TEXTS, **kw)
                    self.assertEqual(len(got), len(TEXTS))
                    for i, e in enumerate(got):
                        one = tok.encode(TEXTS[i], kw.get("pairs", [None] * 9)[i],
                                         add_special=kw.get("add_special", True),
                                         max_length=kw.get("max_length"))
                        for field in ("ids", "type_ids", "sequence_ids", "offsets",
                                      "char_offsets", "tokens"):
                            self.assertEqual(getattr(e, field), getattr(one, field),
                                             (name, i, field))
                self.assertEqual(tok.encode_batch([]), [])
                with self.assertRaises(ce.InvalidUTF8Error):
                    tok.encode_batch(["ok", b"bad \xff"])

    def test_embed_batch_equals_embed(self):
        for name, pool in (("bert-tiny-uncased", "mean"), ("roberta-tiny", "cls"),
                           ("st-multi", None), ("elmo-skip", "max")):
            with open_fixture(name) as m:
                want = m.embed(TEXTS, pool=pool or "default")
                for budget in (1, 16, 4096):
                    got = m.embed_batch(TEXTS, pool=pool, batch_tokens=budget)
                    self.assertEqual(len(got), len(TEXTS))
                    for g, w in zip(got, want):
                        self.assertClose(g, w, tol=2e-5, msg="%s %s" % (name, budget))
                layered = m.embed_batch(TEXTS[:2], pool=pool or "mean", layers=[0, -1])
                self.assertEqual(len(flat(layered)), 2 * 2 * len(flat(want[0])) //
                                 (3 if name == "st-multi" else 1))

    def test_embed_batch_needs_a_pool(self):
        with open_fixture("bert-tiny-uncased") as m:
            with self.assertRaises(ValueError):
                m.embed_batch(TEXTS)
            with self.assertRaises(ce.TooLongError):
                m.embed_batch(["word " * 200], pool="mean")
            self.assertEqual(len(m.embed_batch(["word " * 200], pool="mean", truncate=True)), 1)


if __name__ == "__main__":
    unittest.main()
