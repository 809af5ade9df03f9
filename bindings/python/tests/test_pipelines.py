"""contextembed.pipelines on the hand-made logits of test/fixtures/pipelines/
(written by test/gen/gen_pipelines.py; test/test-pipelines.c checks the C
program's rules on the same files). No model and no library: the module is
loaded from its file alone."""
import importlib.util
import json
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.environ.get("CE_FIXTURES") or os.path.join(ROOT, "test", "fixtures")
PIPELINES = os.path.join(FIXTURES, "pipelines")
TOL = 1e-12  # double on both sides, from the same float32 logits


def _load_module():
    path = os.path.join(HERE, "..", "contextembed", "pipelines.py")
    spec = importlib.util.spec_from_file_location("ce_pipelines_alone", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _load_module()


def cases(name):
    path = os.path.join(PIPELINES, name)
    if not os.path.exists(path):
        raise unittest.SkipTest("%s is absent" % path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)["cases"]


class PipelineRules(unittest.TestCase):
    def close(self, got, want, what):
        self.assertLessEqual(abs(got - want), TOL * (1 + abs(want)), "%s: %r vs %r"
                             % (what, got, want))

    def test_scores(self):
        for c in cases("scores.json"):
            with self.subTest(c["name"]):
                fn = P.sigmoid if c["function"] == "sigmoid" else P.softmax
                probs = fn(c["logits"])
                for got, want in zip(probs, c["expected"]["probs"]):
                    self.close(got, want, "prob")
                self.assertEqual(P.top_k(probs, c["k"]), c["expected"]["top"])
                self.assertEqual(P.argmax(probs), c["expected"]["argmax"])

    def test_top_k_nan_last(self):
        self.assertEqual(P.top_k([1.0, float("nan"), 2.0], 3), [2, 0, 1])
        self.assertEqual(P.top_k([1.0, 2.0], 0), [])

    def test_entities(self):
        for c in cases("entities.json"):
            with self.subTest(c["name"]):
                probs = [P.softmax(row) for row in c["logits"]]
                labels = c["labels"]
                self.assertEqual([labels[P.argmax(p)] for p in probs],
                                 c["expected"]["token_labels"])
                got = P.group_entities(probs, labels, c["special"], c["offsets"])
                want = c["expected"]["entities"]
                self.assertEqual(len(got), len(want))
                data = c["text"].encode("utf-8")
                for g, w in zip(got, want):
                    for key in ("label", "start", "end", "first", "last"):
                        self.assertEqual(g[key], w[key], key)
                    self.assertEqual(data[g["start"]:g["end"]].decode("utf-8"), w["text"])
                    self.close(g["score"], w["score"], "entity score")

    def test_windows(self):
        for c in cases("windows.json"):
            with self.subTest(c["name"]):
                want = c["expected"]
                if "error" in want:
                    with self.assertRaises(P.WindowError) as e:
                        P.qa_windows(c["sequence_ids"], c["max_len"], c["stride"])
                    self.assertEqual(e.exception.reason, want["error"])
                    self.assertEqual(e.exception.room, want["room"])
                    continue
                windows = P.qa_windows(c["sequence_ids"], c["max_len"], c["stride"])
                self.assertEqual([list(w) for w in windows], want["windows"])
                self.assertEqual([P.qa_window_tokens(c["sequence_ids"], w) for w in windows],
                                 want["tokens"])

    def scored(self, windows, cls_id):
        out = []
        for w in windows:
            keep, ctx = P.qa_masks(w["ids"], w["sequence_ids"], cls_id)
            out.append((P.qa_probs(w["start_logits"], keep), P.qa_probs(w["end_logits"], keep),
                        ctx))
        return out

    def check_spans(self, got, want):
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertEqual((g["window"], g["start"], g["end"]),
                             (w["window"], w["start"], w["end"]))
            self.close(g["score"], w["score"], "span score")

    def test_spans(self):
        for c in cases("spans.json"):
            with self.subTest(c["name"]):
                got = P.qa_spans(self.scored(c["windows"], c["cls_id"]), c["max_answer"], c["top"])
                self.check_spans(got, c["expected"])

    def test_answer_chain(self):
        for c in cases("answer.json"):
            with self.subTest(c["name"]):
                enc = c["encoding"]
                windows = P.qa_windows(enc["sequence_ids"], c["max_seq_len"], c["stride"])
                self.assertEqual([list(w) for w in windows], c["expected"]["windows"])
                index = [P.qa_window_tokens(enc["sequence_ids"], w) for w in windows]
                wins = [{"ids": [enc["ids"][i] for i in ix],
                         "sequence_ids": [enc["sequence_ids"][i] for i in ix],
                         "start_logits": lg["start"], "end_logits": lg["end"]}
                        for ix, lg in zip(index, c["window_logits"])]
                spans = P.qa_spans(self.scored(wins, c["cls_id"]), c["max_answer"], c["top"])
                data = c["context"].encode("utf-8")
                got = []
                for s in spans:
                    ix = index[s["window"]]
                    first, last = P.qa_word_span(enc["word_ids"], enc["sequence_ids"], ix,
                                                 s["start"], s["end"])
                    b, e = enc["offsets"][ix[first]][0], enc["offsets"][ix[last]][1]
                    got.append({"answer": data[b:e].decode("utf-8"), "start": b, "end": e,
                                "window": s["window"], "score": s["score"]})
                want = c["expected"]["answers"]
                self.assertEqual([(g["answer"], g["start"], g["end"], g["window"]) for g in got],
                                 [(w["answer"], w["start"], w["end"], w["window"]) for w in want])
                for g, w in zip(got, want):
                    self.close(g["score"], w["score"], "answer score")

    def test_spans_edges(self):
        p = [0.0, 0.5, 0.5]
        self.assertEqual(P.qa_spans([(p, p, [False] * 3)], 15, 2), [])
        single = P.qa_spans([(p, p, [False, True, True])], 1, 5)
        self.assertEqual([(s["start"], s["end"]) for s in single], [(1, 1), (2, 2)])


if __name__ == "__main__":
    unittest.main()
