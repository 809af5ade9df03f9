"""Model families through the binding: what each fixture says it can do, and
RoBERTa / DistilBERT vectors against the PyTorch reference (test/gen/gen_encoders.py)."""
import os
import unittest

import contextembed as ce
from support import FIXTURES, TestCase, cases, read_safetensors

EXPECTED_CAPS = {
    "bert-tiny-uncased": ["token_ids", "bidirectional", "token_types"],
    "roberta-tiny": ["token_ids", "bidirectional"],
    "distilbert-tiny": ["token_ids", "bidirectional"],
    "gpt2-tiny": ["token_ids", "decoder"],
    "elmo-skip": ["words", "bidirectional", "carry_state"],
}


def open_fixture(name):
    path = os.path.join(FIXTURES, name)
    if not os.path.isdir(path):
        raise unittest.SkipTest("%s is absent" % path)
    return ce.Model(path, threads=1)


class TestFamilies(TestCase):
    def test_architectures(self):
        names = ce.architectures()
        for family in ("bert", "roberta", "distilbert", "gpt2", "elmo"):
            self.assertIn(family, names)

    def test_capabilities(self):
        for name, caps in EXPECTED_CAPS.items():
            with open_fixture(name) as m:
                self.assertEqual(m.capabilities, caps, name)
                self.assertEqual(m.reads_words, "words" in caps)
                self.assertEqual(m.is_decoder, "decoder" in caps)
                self.assertEqual(m.pooling, [])
                self.assertEqual(m.info["capabilities"], caps)

    def test_roberta_and_distilbert_text(self):
        for name in ("roberta-tiny", "roberta-tiny-plain", "distilbert-tiny", "distilbert-tiny-mlm"):
            with open_fixture(name) as m:
                tensors = read_safetensors(os.path.join(FIXTURES, name, "expected.safetensors"))
                texts = [c for c in cases(name)["cases"] if c["kind"] in ("text", "pair")]
                self.assertTrue(texts, name)
                for c in texts:
                    text = c["text"] if c["kind"] == "text" else (c["text"], c["text_pair"])
                    got = m.embed(text, layers="all")
                    want_shape, want = tensors[c["name"] + ".hidden_states"]
                    self.assertEqual(tuple(got.shape), want_shape, name)
                    self.assertClose(got, want, msg="%s %s" % (name, c["name"]))


if __name__ == "__main__":
    unittest.main()
