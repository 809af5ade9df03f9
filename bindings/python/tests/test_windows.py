"""Model.embed / embed_batch with windows=True: long texts as sliding windows.

The reference runs every window on its own (embed_ids on [CLS] + slice +
[SEP]) and stitches the rows in Python by Hugging Face's max-context rule:
a token takes the window where min(left, right) context is largest, plus
0.01 x the window's length, the first such window on ties; the leading
special token comes from the first window, the trailing one from the last."""
import os
import unittest

import contextembed as ce
from support import FIXTURES, TestCase

TEXT = " ".join("word%d and more text, here" % i for i in range(40))


def open_fixture(name):
    path = os.path.join(FIXTURES, name)
    if not os.path.isdir(path):
        raise unittest.SkipTest("%s is absent" % path)
    return ce.Model(path, threads=1)


def windows_of(n_content, room, stride):
    out, start, step = [], 0, room - stride
    while True:
        n = min(room, n_content - start)
        out.append((start, n))
        if start + n >= n_content:
            return out
        start += step


def stitched(model, ids, stride):
    """Per-token vectors of ids ([CLS] ... [SEP]) by running each window alone."""
    max_len = model.info["max_positions"]
    lead, trail, content = ids[:1], ids[-1:], ids[1:-1]
    wins = windows_of(len(content), max_len - 2, stride)
    rows = [model.embed_ids(lead + content[s:s + n] + trail) for s, n in wins]
    vectors = [rows[0][0]]
    for q in range(len(content)):
        best, best_score = None, -1.0
        for k, (s, n) in enumerate(wins):
            if s <= q < s + n:
                score = min(q - s, s + n - 1 - q) + 0.01 * n
                if score > best_score:
                    best, best_score = k, score
        s, _ = wins[best]
        vectors.append(rows[best][1 + q - s])
    vectors.append(rows[-1][-1])
    return vectors


class TestWindows(TestCase):
    def test_long_text_matches_windows_run_alone(self):
        with open_fixture("bert-tiny-uncased") as m:
            ids = m.tokenizer.encode(TEXT).ids
            self.assertGreater(len(ids), 2 * 64)
            for stride in (None, 8, 30):
                got = m.embed(TEXT, windows=True, stride=stride)
                want = stitched(m, ids, 16 if stride is None else stride)
                self.assertEqual(len(got), len(ids))
                for q, (g, w) in enumerate(zip(got, want)):
                    self.assertClose(g, w, tol=2e-5, msg="stride %s token %d" % (stride, q))

    def test_pooled_and_batch(self):
        with open_fixture("bert-tiny-uncased") as m:
            tokens = m.embed(TEXT, windows=True)
            d = len(tokens[0])
            mean = [sum(t[j] for t in tokens) / len(tokens) for j in range(d)]
            self.assertClose(m.embed(TEXT, pool="mean", windows=True), mean, tol=2e-5)
            texts = ["short one", TEXT, "another short text"]
            batch = m.embed_batch(texts, pool="mean", windows=True)
            self.assertClose(batch[1], mean, tol=2e-5)
            self.assertClose(batch[0], m.embed("short one", pool="mean"), tol=2e-5)
            self.assertClose(m.embed("short one", windows=True), m.embed("short one"), tol=0)

    def test_bad_arguments(self):
        with open_fixture("bert-tiny-uncased") as m:
            with self.assertRaises(ce.TooLongError):
                m.embed(TEXT)
            with self.assertRaises(ValueError):
                m.embed(TEXT, windows=True, truncate=True)
            with self.assertRaises(ValueError):
                m.embed(TEXT, stride=8)
            with self.assertRaises(ValueError):
                m.embed(TEXT, windows=True, stride=0)
            with self.assertRaises(ce.InvalidArgumentError):
                m.embed(TEXT, windows=True, stride=62)  # not below the 62 content tokens

    def test_decoder_refuses(self):
        path = os.path.join(FIXTURES, "gpt2-tiny")
        if not os.path.isdir(path):
            self.skipTest("gpt2-tiny is absent")
        with ce.Model(path, threads=1) as m:
            with self.assertRaises(ce.UnsupportedError):
                m.embed("word " * 400, windows=True)


if __name__ == "__main__":
    unittest.main()
