"""Task heads through the binding: Model.heads, Session.head_output, and
fill_mask / classify / tag / answer on the checkpoints of
test/fixtures/heads-<family>-<head>/ (written by test/gen/gen_heads.py with
the head logits PyTorch computes). The derived fields are checked against
contextembed.pipelines applied to the logits the binding returns (the rules
themselves are checked on hand-made logits by test_pipelines.py)."""
import json
import os
import unittest

from support import FIXTURES, TestCase, ce, open_or_skip, read_safetensors

from contextembed import pipelines as P

SHORT = {"mlm": "masked_lm", "nsp": "next_sentence", "seqcls": "sequence_classification",
         "tokcls": "token_classification", "qa": "question_answering"}
PTOL = 1e-9  # probabilities recomputed in double from the same float32 logits


def fixtures(head=None):
    """(directory, cases.json) of the heads-* fixtures (with @head)."""
    out = []
    if os.path.isdir(FIXTURES):
        for name in sorted(os.listdir(FIXTURES)):
            path = os.path.join(FIXTURES, name, "cases.json")
            if name.startswith("heads-") and os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    cases = json.load(f)
                if head is None or head in cases["heads"]:
                    out.append((os.path.join(FIXTURES, name), cases))
    if not out:
        raise unittest.SkipTest("no heads-* fixture%s" % (" with " + head if head else ""))
    return out


def golden(directory, name):
    shape, values = read_safetensors(os.path.join(directory, "expected.safetensors"))[name]
    flat = list(values)
    for d in reversed(shape[1:]):
        flat = [flat[i:i + d] for i in range(0, len(flat), d)]
    return flat


class HeadsBase(TestCase):
    def model(self, directory):
        m = open_or_skip(directory, os.path.basename(directory))
        self.addCleanup(m.close)
        try:
            m.heads
        except ce.InvalidArgumentError as e:  # a library without task heads
            self.skipTest("the library has no task heads: %s" % e)
        return m

    def closeList(self, got, want, tol, msg):
        self.assertEqual(len(got), len(want), msg)
        for g, w in zip(got, want):
            self.assertLessEqual(abs(g - w), tol, msg)


class HeadOutput(HeadsBase):
    def test_heads_and_info(self):
        for d, cases in fixtures():
            with self.subTest(os.path.basename(d)):
                m = self.model(d)
                self.assertEqual(m.heads, [SHORT[h] for h in SHORT if h in cases["heads"]])
                self.assertEqual(m.info["heads"], m.heads)
                self.assertEqual(m.multi_label, bool(cases["multi_label"]))
                for short, labels in cases["labels"].items():
                    self.assertEqual(m.head_labels(SHORT[short]), labels)

    def test_bare_encoder_has_no_heads(self):
        m = self.model(os.path.join(FIXTURES, "bert-tiny-uncased"))
        self.assertEqual(m.heads, [])
        with self.assertRaisesRegex(ce.NotFoundError, "no task heads|fill_mask"):
            m.fill_mask("a [MASK]")

    def test_head_output_matches_golden(self):
        for d, cases in fixtures():
            m = self.model(d)
            with m.session() as s:
                for c in cases["cases"]:
                    s.run([c["input_ids"]], [c["token_type_ids"]])
                    for short in cases["heads"]:
                        with self.subTest(os.path.basename(d), case=c["name"], head=short):
                            got = s.head_output(0, SHORT[short])
                            want = golden(d, "%s.%s_logits" % (c["name"], short))
                            self.assertClose(got, want, msg="%s %s" % (d, c["name"]))
                            rows = len(c["input_ids"]) if short in ("mlm", "tokcls", "qa") else None
                            self.assertEqual(tuple(got.shape)[0], rows or len(want))

    def test_head_output_errors(self):
        d, _ = fixtures("seqcls")[0]
        m = self.model(d)
        with m.session() as s:
            with self.assertRaises(ce.StateError):
                s.head_output(0, "sequence_classification")
            s.run([[12, 13]])
            with self.assertRaisesRegex(ce.NotFoundError, "sequence_classification"):
                s.head_output(0, "question_answering")
            with self.assertRaises(ValueError):
                s.head_output(0, "summarize")
            with self.assertRaises(ce.OutOfRangeError):
                s.head_output(3, "sequence_classification")


class FillMask(HeadsBase):
    def test_matches_golden(self):
        for d, cases in fixtures("mlm"):
            m = self.model(d)
            for c in cases["cases"]:
                if c["kind"] != "text":
                    continue
                with self.subTest(os.path.basename(d), case=c["name"]):
                    r = m.fill_mask(c["text"], top=5, logits=True)
                    self.assertEqual(r["ids"], c["input_ids"])
                    self.assertEqual([x["index"] for x in r["masks"]], c["mlm"]["mask_positions"])
                    rows = golden(d, c["name"] + ".mlm_logits")
                    for mask, top5 in zip(r["masks"], c["mlm"]["top5_ids"]):
                        self.assertEqual([x["id"] for x in mask["top"]], top5)
                        self.assertClose(mask["logits"], rows[mask["index"]])
                        probs = P.softmax(mask["logits"])
                        self.closeList([x["prob"] for x in mask["top"]],
                                       [probs[i] for i in top5], PTOL, c["name"])
                        self.assertTrue(all(isinstance(x["token"], str) for x in mask["top"]))

    def test_errors(self):
        d, _ = fixtures("mlm")[0]
        m = self.model(d)
        with self.assertRaisesRegex(ce.InvalidArgumentError, "no mask token"):
            m.fill_mask("nothing to fill")
        with self.assertRaises(ValueError):
            m.fill_mask("a [MASK]", top=0)
        r = m.fill_mask("a [MASK]", top=2)
        self.assertTrue(all("logits" not in x and len(x["top"]) == 2 for x in r["masks"]))
        other = self.model(fixtures("qa")[0][0])
        with self.assertRaisesRegex(ce.NotFoundError, "question_answering"):
            other.fill_mask("a [MASK]")


class Classify(HeadsBase):
    def test_matches_golden(self):
        for head in ("seqcls", "nsp"):
            for d, cases in fixtures(head):
                if head == "nsp" and "seqcls" in cases["heads"]:
                    continue
                m = self.model(d)
                labels = cases["labels"][head]
                multi = head == "seqcls" and (cases["multi_label"] or len(labels) == 1)
                for c in cases["cases"]:
                    with self.subTest(os.path.basename(d), case=c["name"]):
                        r = m.classify(c["text"], c.get("text_pair"))
                        self.assertEqual(r["ids"], c["input_ids"])
                        self.assertEqual(r["labels"], labels)
                        self.assertClose(r["logits"], golden(d, "%s.%s_logits" % (c["name"], head)))
                        probs = (P.sigmoid if multi else P.softmax)(r["logits"])
                        self.closeList(r["probs"], probs, PTOL, c["name"])
                        self.assertEqual(r["label"], labels[P.argmax(probs)])


class Tag(HeadsBase):
    def test_matches_rules(self):
        for d, cases in fixtures("tokcls"):
            m = self.model(d)
            labels = cases["labels"]["tokcls"]
            for c in cases["cases"]:
                with self.subTest(os.path.basename(d), case=c["name"]):
                    r = m.tag(c["text"])
                    self.assertEqual(r["ids"], c["input_ids"])
                    T, C = r["logits"]["shape"]
                    self.assertEqual((T, C), (len(c["input_ids"]), len(labels)))
                    rows = [r["logits"]["data"][t * C:(t + 1) * C] for t in range(T)]
                    self.assertClose(rows, golden(d, c["name"] + ".tokcls_logits"))
                    probs = [P.softmax(row) for row in rows]
                    self.assertEqual(r["token_labels"], [labels[P.argmax(p)] for p in probs])
                    enc = m.tokenizer.encode(c["text"])
                    want = P.group_entities(probs, labels, [s < 0 for s in enc.sequence_ids],
                                            enc.offsets)
                    self.assertEqual([(e["label"], e["start"], e["end"]) for e in r["entities"]],
                                     [(e["label"], e["start"], e["end"]) for e in want])
                    for e in r["entities"]:  # char offsets slice the str, bytes the UTF-8
                        self.assertEqual(c["text"][e["char_start"]:e["char_end"]], e["text"])
                        self.assertEqual(c["text"].encode()[e["start"]:e["end"]].decode(),
                                         e["text"])
                    self.assertEqual(r["offsets"], [list(o) for o in enc.offsets])
                    self.assertEqual(r["char_offsets"], [list(o) for o in enc.char_offsets])


class Answer(HeadsBase):
    def test_one_window_matches_rules(self):
        for d, cases in fixtures("qa"):
            m = self.model(d)
            for c in cases["cases"]:
                if c["kind"] != "pair":
                    continue
                with self.subTest(os.path.basename(d), case=c["name"]):
                    q, ctx = c["text"], c["text_pair"]
                    r = m.answer(q, ctx, top=3)
                    rows = golden(d, c["name"] + ".qa_logits")
                    self.assertClose(r["start_logits"], [x[0] for x in rows])
                    self.assertClose(r["end_logits"], [x[1] for x in rows])
                    enc = m.tokenizer.encode(q, ctx)
                    keep, context = P.qa_masks(enc.ids, enc.sequence_ids,
                                               m.tokenizer.special_id("cls"))
                    spans = P.qa_spans([(P.qa_probs(r["start_logits"], keep),
                                         P.qa_probs(r["end_logits"], keep), context)], 15, 3)
                    ix = list(range(len(enc)))
                    words = [P.qa_word_span(enc.word_ids, enc.sequence_ids, ix, s["start"],
                                            s["end"]) for s in spans]
                    self.assertEqual([(a["start"], a["end"]) for a in r["answers"]],
                                     [(enc.offsets[b][0], enc.offsets[e][1]) for b, e in words])
                    for a in r["answers"]:
                        self.assertEqual(ctx[a["char_start"]:a["char_end"]], a["answer"])
                    self.assertEqual(r["answer"], r["answers"][0]["answer"])

    def test_windows(self):
        d, cases = fixtures("qa")[0]
        m = self.model(d)
        c = [c for c in cases["cases"] if c["kind"] == "pair"][0]
        ctx = "Zürich, " + " ".join([c["text_pair"]] * 4)
        one = m.answer(c["text"], ctx, top=5, max_seq_len=cases["model"]["max_tokens"],
                       doc_stride=4)
        many = m.answer(c["text"], ctx, top=5, max_seq_len=16, doc_stride=4)
        for r in (one, many):
            self.assertNotIn("answers", m.answer(c["text"], ctx, max_seq_len=16, doc_stride=4))
            scores = [a["score"] for a in r["answers"]]
            self.assertEqual(scores, sorted(scores, reverse=True))
            for a in r["answers"]:
                self.assertEqual(ctx[a["char_start"]:a["char_end"]], a["answer"])
                self.assertEqual(ctx.encode()[a["start"]:a["end"]].decode(), a["answer"])
        self.assertLessEqual(len(many["start_logits"]), 16)

    def test_errors(self):
        d, cases = fixtures("qa")[0]
        m = self.model(d)
        for kwargs, pattern in (({"question": ""}, "question is empty"),
                                ({"context": ""}, "context has no tokens"),
                                ({"top": 0}, "top"), ({"max_answer_tokens": 0}, "max_answer"),
                                ({"max_seq_len": 10 ** 6}, "positions"),
                                ({"max_seq_len": 16, "doc_stride": 17}, "larger"),
                                ({"max_seq_len": 16, "doc_stride": 12,
                                  "context": "word " * 40}, "doc_stride 12")):
            args = {"question": "Where is it?", "context": "It is here."}
            args.update(kwargs)
            with self.subTest(pattern):
                with self.assertRaisesRegex(ce.InvalidArgumentError, pattern):
                    m.answer(**args)
        other = self.model(fixtures("mlm")[0][0])
        with self.assertRaisesRegex(ce.NotFoundError, "masked_lm"):
            other.answer("q", "c")


if __name__ == "__main__":
    unittest.main()
