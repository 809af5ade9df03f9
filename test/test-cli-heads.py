#!/usr/bin/env python3
"""End-to-end tests of the task-head commands: fill-mask, classify, tag, answer
(Python 3 standard library only).

Usage: test-cli-heads.py CONTEXTEMBED_EXE [FIXTURES_DIR [MODELS_DIR]]

Runs the commands on the task checkpoints of test/fixtures/heads-<family>-<head>/
(written by test/gen/gen_heads.py with the head logits PyTorch computes) and
checks: the printed logits against those golden logits; every derived field
(probabilities, top-k, labels, entities, answer spans) against the pipeline
rules applied to the printed logits by bindings/python/contextembed/pipelines.py
(loaded from its file; its rules are checked on hand-made logits by
test_pipelines.py and, for the C side, test/test-pipelines.c); text input,
exit codes and messages. Also fill-mask on the MLM checkpoints without golden
head logits (roberta-tiny, distilbert-tiny-mlm) and on models/bert-mini-en,
whose trained head must rank "heaven" high. Cases needing a fixture are
skipped when it is absent; exit code 0 when nothing failed, 1 otherwise, 77
when everything was skipped.
"""
import array
import importlib.util
import json
import math
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXE = sys.argv[1] if len(sys.argv) > 1 else "contextembed"
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
    "CE_FIXTURES", os.path.join(HERE, "fixtures"))
MODELS = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "..", "models")
TOL = 1e-4   # the heads fixtures' suggested_tolerance_abs (logits)
PTOL = 1e-6  # probabilities recomputed from the printed logits (9 digits)


def _pipelines():
    path = os.path.join(HERE, "..", "bindings", "python", "contextembed", "pipelines.py")
    spec = importlib.util.spec_from_file_location("ce_pipelines", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _pipelines()


class Skip(Exception):
    pass


# ---- running the program -----------------------------------------------------

HEAD_COMMANDS = ("fill-mask", "classify", "tag", "answer")


def run(args, stdin=b"", rc=0):
    """Run the program (head commands on one compute thread); check its exit
    code; return (stdout bytes, stderr text)."""
    threads = ["--threads", "1"] if args[0] in HEAD_COMMANDS else []
    p = subprocess.run([EXE] + list(args[:1]) + threads + list(args[1:]),
                       input=stdin, capture_output=True, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != rc:
        raise AssertionError("%s: exit %d, expected %d; stderr: %s"
                             % (" ".join(args)[:200], p.returncode, rc, err.strip()[:500]))
    if rc == 0 and err:
        raise AssertionError("%s: success but stderr: %s" % (" ".join(args)[:200], err[:500]))
    return p.stdout, err


def lines(out):
    def refuse(name):
        raise AssertionError("non-JSON constant %s in output" % name)
    text = out.decode("utf-8")
    assert text.endswith("\n") or not text, "output does not end with a newline"
    return [json.loads(l, parse_constant=refuse) for l in text.splitlines()]


def one(args, stdin=b""):
    (obj,) = lines(run(args, stdin)[0])
    return obj


def failure(args, want, rc=1, stdin=b""):
    """The program must fail with @rc and a "contextembed: ..." message holding @want."""
    _, err = run(args, stdin, rc)
    assert err.startswith("contextembed: "), "message: %r" % err
    assert "Traceback" not in err and "Sanitizer" not in err, err
    for w in [want] if isinstance(want, str) else want:
        assert w in err, "%r not in %r" % (w, err)
    return err


# ---- fixtures -------------------------------------------------------------------

def need(path):
    if not os.path.exists(path):
        raise Skip("%s is absent" % path)
    return path


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] not in ("F32", "I32"):
            continue
        b, e = t["data_offsets"]
        a = array.array("f" if t["dtype"] == "F32" else "i")
        a.frombytes(blob[8 + n + b:8 + n + e])
        if sys.byteorder == "big":
            a.byteswap()
        out[name] = (t["shape"], a)
    return out


def heads_fixtures(head):
    """(directory, cases.json, expected tensors) of every heads-* fixture with @head."""
    found = []
    if os.path.isdir(FIXTURES):
        for name in sorted(os.listdir(FIXTURES)):
            d = os.path.join(FIXTURES, name)
            if not name.startswith("heads-") or not os.path.exists(os.path.join(d, "cases.json")):
                continue
            with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
                cases = json.load(f)
            if head in cases["heads"]:
                found.append((d, cases, load_safetensors(os.path.join(d, "expected.safetensors"))))
    if not found:
        raise Skip("no heads-* fixture with a %s head in %s" % (head, FIXTURES))
    return found


def golden(tensors, name):
    """A golden tensor as nested lists."""
    shape, a = tensors[name]
    flat = list(a)
    for d in reversed(shape[1:]):
        flat = [flat[i:i + d] for i in range(0, len(flat), d)]
    return flat


def flatten(x):
    return [v for item in x for v in flatten(item)] if isinstance(x, list) else [x]


def assert_close(got, want, tol, what):
    got, want = flatten(got), flatten(want)
    assert len(got) == len(want), "%s: %d values, expected %d" % (what, len(got), len(want))
    worst = max((abs(a - b) for a, b in zip(got, want)), default=0.0)
    assert worst <= tol, "%s: max abs difference %g" % (what, worst)


def ids_args(c):
    """--ids/--type-ids for a case (pairs, or a command without --pair)."""
    return ["--ids", ",".join(map(str, c["input_ids"])),
            "--type-ids", ",".join(map(str, c["token_type_ids"]))]


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---- fill-mask ---------------------------------------------------------------------

def check_fill_mask(obj, top, mask_id, what):
    """Masks where the mask id is; each top list as the rules rank the printed logits."""
    ids = obj["ids"]
    assert [m["index"] for m in obj["masks"]] == [t for t, i in enumerate(ids) if i == mask_id], \
        what
    for m in obj["masks"]:
        probs = P.softmax(m["logits"])
        want = P.top_k(probs, top)
        assert [e["id"] for e in m["top"]] == want, "%s: top %r, rules %r" % (
            what, [e["id"] for e in m["top"]], want)
        assert_close([e["prob"] for e in m["top"]], [probs[i] for i in want], PTOL, what)
        assert all(isinstance(e["token"], str) for e in m["top"]), what


@test
def fill_mask_matches_golden():
    for d, cases, tensors in heads_fixtures("mlm"):
        mask_id = cases["tokenizer"]["mask_token_id"]
        for c in cases["cases"]:
            what = "%s %s" % (os.path.basename(d), c["name"])
            args = ids_args(c) if c["kind"] == "pair" else ["--", c["text"]]
            obj = one(["fill-mask", "-m", d, "--logits", "--top", "5"] + args)
            assert obj["ids"] == c["input_ids"], what
            assert [m["index"] for m in obj["masks"]] == c["mlm"]["mask_positions"], what
            rows = golden(tensors, c["name"] + ".mlm_logits")
            for m, want_top in zip(obj["masks"], c["mlm"]["top5_ids"]):
                assert_close(m["logits"], rows[m["index"]], TOL, what)
                assert [e["id"] for e in m["top"]] == want_top, "%s: top5 %r, expected %r" % (
                    what, [e["id"] for e in m["top"]], want_top)
            check_fill_mask(obj, 5, mask_id, what)


@test
def fill_mask_without_logits_and_top():
    d, cases, _ = heads_fixtures("mlm")[0]
    c = [c for c in cases["cases"] if c["kind"] == "text"][0]
    obj = one(["fill-mask", "-m", d, "--top", "2", "--", c["text"]])
    assert all("logits" not in m and len(m["top"]) == 2 for m in obj["masks"]), obj
    big = one(["fill-mask", "-m", d, "--top", "100000", "--", c["text"]])
    assert len(big["masks"][0]["top"]) == cases["model"]["vocab_size"], "top is not capped"


@test
def fill_mask_other_mlm_checkpoints():
    texts = {"roberta-tiny": "Hello <mask> world, the quick<mask> fox.",
             "distilbert-tiny-mlm": "The quick brown [MASK] jumps over the lazy dog."}
    ran = 0
    for name, text in texts.items():
        d = os.path.join(FIXTURES, name)
        if not os.path.isdir(d):
            continue
        tok = one(["tokenize", "-m", d, "--add-special", "--", text])
        obj = one(["fill-mask", "-m", d, "--logits", "--top", "3", "--", text])
        assert obj["ids"] == tok["ids"], name
        mask_id = [i for i, t in zip(tok["ids"], tok["tokens"]) if t in ("<mask>", "[MASK]")][0]
        assert obj["masks"], name
        check_fill_mask(obj, 3, mask_id, name)
        ran += 1
    if not ran:
        raise Skip("roberta-tiny and distilbert-tiny-mlm are absent")


@test
def fill_mask_trained_model():
    d = need(os.path.join(MODELS, "bert-mini-en", "model.safetensors"))
    d = os.path.dirname(d)
    obj = one(["fill-mask", "-m", d, "--",
               "in the beginning god created the [MASK] and the earth ."])
    (m,) = obj["masks"]
    words = [e["token"] for e in m["top"]]
    assert "heaven" in words or "heavens" in words, words


@test
def fill_mask_errors():
    d, cases, _ = heads_fixtures("mlm")[0]
    failure(["fill-mask", "-m", d, "--", "no mask here"], ["text 0", "no mask token"])
    failure(["fill-mask", "-m", d, "--", "a [MASK]", "none"], ["text 1", "no mask token"])
    failure(["fill-mask", "-m", d, "--top", "0", "x [MASK]"], "--top", rc=2)
    failure(["fill-mask", "-m", d, "--format", "npy", "x [MASK]"], "json", rc=2)
    failure(["fill-mask", "-m", d, "--ids", "1,2", "text"], "--ids", rc=2)
    failure(["fill-mask", "x [MASK]"], "missing -m", rc=2)
    out, _ = run(["fill-mask", "-m", d, "--", "a"], rc=1)
    assert out == b"", "output before the error"
    other = heads_fixtures("seqcls")[0][0]
    failure(["fill-mask", "-m", other, "x [MASK]"],
            ["masked_lm", "this one has: sequence_classification"])
    bare = os.path.join(FIXTURES, "bert-tiny-uncased")
    if os.path.isdir(bare):
        failure(["fill-mask", "-m", bare, "x [MASK]"], "no task heads")


# ---- classify ----------------------------------------------------------------------

def check_classify(obj, labels, multi, what):
    assert obj["labels"] == labels, "%s: labels %r, expected %r" % (what, obj["labels"], labels)
    probs = (P.sigmoid if multi else P.softmax)(obj["logits"])
    assert_close(obj["probs"], probs, PTOL, what)
    assert obj["label"] == labels[P.argmax(probs)], what


@test
def classify_matches_golden():
    for head in ("seqcls", "nsp"):
        for d, cases, tensors in heads_fixtures(head):
            if head == "nsp" and "seqcls" in cases["heads"]:
                continue
            labels = cases["labels"][head]
            multi = head == "seqcls" and (cases["multi_label"] or len(labels) == 1)
            for c in cases["cases"]:
                what = "%s %s" % (os.path.basename(d), c["name"])
                pair = ["--pair", c["text_pair"]] if c["kind"] == "pair" else []
                obj = one(["classify", "-m", d] + pair + ["--", c["text"]])
                assert obj["ids"] == c["input_ids"], what
                assert_close(obj["logits"], golden(tensors, c["name"] + "." + head + "_logits"),
                             TOL, what)
                check_classify(obj, labels, multi, what)
                by_ids = one(["classify", "-m", d] + ids_args(c))
                assert_close(by_ids["logits"], obj["logits"], 1e-5, what + " --ids")


@test
def classify_many_texts_and_inputs():
    d, cases, _ = heads_fixtures("seqcls")[0]
    texts = [c["text"] for c in cases["cases"] if c["kind"] == "text"]
    objs = lines(run(["classify", "-m", d, "--"] + texts)[0])
    assert len(objs) == len(texts)
    alone = [one(["classify", "-m", d, "--", t]) for t in texts]
    for a, b in zip(objs, alone):
        assert a["ids"] == b["ids"] and a["label"] == b["label"]
        assert_close(a["logits"], b["logits"], 1e-5, "batched vs alone")
    stdin = "".join(t + "\n" for t in texts).encode()
    assert [o["ids"] for o in lines(run(["classify", "-m", d], stdin)[0])] == \
        [o["ids"] for o in objs]
    jsonl = "".join(json.dumps(t) + "\n" for t in texts).encode()
    assert [o["ids"] for o in lines(run(["classify", "-m", d, "--jsonl"], jsonl)[0])] == \
        [o["ids"] for o in objs]


@test
def classify_prefers_sequence_classification_then_nsp():
    for d, cases, _ in heads_fixtures("nsp"):
        obj = one(["classify", "-m", d, "--pair", "b", "--", "a"])
        assert obj["labels"] == cases["labels"]["nsp"] == ["is_next", "not_next"], obj["labels"]
    qa = heads_fixtures("qa")[0][0]
    failure(["classify", "-m", qa, "x"],
            ["sequence_classification or next_sentence", "question_answering"])
    failure(["classify", "-m", qa, "--ids", "1,2", "--pair", "b"], "--pair", rc=2)


# ---- tag ---------------------------------------------------------------------------

def check_tag(obj, text, labels, what):
    T, C = obj["logits"]["shape"]
    assert T == len(obj["ids"]) == len(obj["offsets"]) == len(obj["token_labels"]), what
    assert C == len(labels) and obj["labels"] == labels, what
    data = obj["logits"]["data"]
    rows = [data[t * C:(t + 1) * C] for t in range(T)]
    probs = [P.softmax(r) for r in rows]
    assert obj["token_labels"] == [labels[P.argmax(p)] for p in probs], what
    skip = [o == [0, 0] and i in special_ids for o, i in zip(obj["offsets"], obj["ids"])]
    want = P.group_entities(probs, labels, skip, obj["offsets"])
    got = obj["entities"]
    assert [(e["label"], e["start"], e["end"]) for e in got] == \
        [(e["label"], e["start"], e["end"]) for e in want], "%s: %r vs %r" % (what, got, want)
    raw = text.encode("utf-8")
    for g, w in zip(got, want):
        assert g["text"] == raw[g["start"]:g["end"]].decode("utf-8"), what
        assert abs(g["score"] - w["score"]) <= PTOL, what
    return rows


special_ids = set()


@test
def tag_matches_golden():
    for d, cases, tensors in heads_fixtures("tokcls"):
        special_ids.clear()
        special_ids.update(cases["tokenizer"]["special_ids"].values())
        labels = cases["labels"]["tokcls"]
        for c in cases["cases"]:
            if c["kind"] != "text":
                continue
            what = "%s %s" % (os.path.basename(d), c["name"])
            obj = one(["tag", "-m", d, "--", c["text"]])
            assert obj["ids"] == c["input_ids"], what
            tok = one(["tokenize", "-m", d, "--add-special", "--", c["text"]])
            assert obj["offsets"] == tok["offsets"], what
            rows = check_tag(obj, c["text"], labels, what)
            assert_close(rows, golden(tensors, c["name"] + ".tokcls_logits"), TOL, what)


@test
def tag_errors():
    d = heads_fixtures("tokcls")[0][0]
    failure(["tag", "-m", d, "--ids", "1,2"], "unknown option", rc=2)
    mlm = heads_fixtures("mlm")[0][0]
    failure(["tag", "-m", mlm, "x"], ["token_classification", "masked_lm"])


# ---- answer ------------------------------------------------------------------------

def sequence_ids(d, question, context, n):
    """The pair encoding's sequence ids, from the lengths of its two texts alone."""
    q = len(one(["tokenize", "-m", d, "--", question])["ids"])
    c = len(one(["tokenize", "-m", d, "--", context])["ids"])
    middle = n - q - c - 2  # BERT: [SEP]; RoBERTa: </s></s>
    return [-1] + [0] * q + [-1] * middle + [1] * c + [-1]


def check_answer(obj, d, question, context, top, what):
    """One window: the answers the rules choose from the printed logits."""
    enc = one(["tokenize", "-m", d, "--add-special", "--pair", context, "--", question])
    seq = sequence_ids(d, question, context, len(enc["ids"]))
    assert len(obj["start_logits"]) == len(enc["ids"]), what
    cls = enc["ids"][0]
    keep, ctx = P.qa_masks(enc["ids"], seq, cls)
    spans = P.qa_spans([(P.qa_probs(obj["start_logits"], keep),
                         P.qa_probs(obj["end_logits"], keep), ctx)], 15, top)
    raw = context.encode("utf-8")
    words = [-1 if w is None else w for w in enc["word_ids"]]
    index = list(range(len(enc["ids"])))
    want = []
    for s in spans:  # whole words (align_to_words)
        first, last = P.qa_word_span(words, seq, index, s["start"], s["end"])
        want.append({"start": enc["offsets"][first][0], "end": enc["offsets"][last][1],
                     "score": s["score"]})
    got = obj.get("answers", [obj])
    assert [(g["start"], g["end"]) for g in got] == [(w["start"], w["end"]) for w in want], \
        "%s: %r vs %r" % (what, got, want)
    for g, w in zip(got, want):
        assert abs(g["score"] - w["score"]) <= PTOL, what
        assert g["answer"] == raw[g["start"]:g["end"]].decode("utf-8"), what
    assert (obj["answer"], obj["start"], obj["end"]) == (got[0]["answer"], got[0]["start"],
                                                         got[0]["end"]), what
    return enc


@test
def answer_matches_golden():
    for d, cases, tensors in heads_fixtures("qa"):
        for c in cases["cases"]:
            if c["kind"] != "pair":
                continue
            what = "%s %s" % (os.path.basename(d), c["name"])
            q, ctx = c["text"], c["text_pair"]
            obj = one(["answer", "-m", d, "--question", q, "--top", "3", "--", ctx])
            rows = golden(tensors, c["name"] + ".qa_logits")
            assert_close(obj["start_logits"], [r[0] for r in rows], TOL, what)
            assert_close(obj["end_logits"], [r[1] for r in rows], TOL, what)
            check_answer(obj, d, q, ctx, 3, what)
            best = one(["answer", "-m", d, "--question", q, "--", ctx])
            assert "answers" not in best and best["answer"] == obj["answer"], what


@test
def answer_windows():
    d, cases, _ = heads_fixtures("qa")[0]
    c = [c for c in cases["cases"] if c["kind"] == "pair"][0]
    q, ctx = c["text"], " ".join([c["text_pair"]] * 4)
    raw = ctx.encode("utf-8")
    positions = cases["model"]["max_tokens"]
    whole = one(["answer", "-m", d, "--question", q, "--max-seq-len", str(positions),
                 "--doc-stride", "4", "--top", "4", "--", ctx])
    for L, S in ((16, 4), (20, 8), (18, 0)):
        obj = one(["answer", "-m", d, "--question", q, "--max-seq-len", str(L),
                   "--doc-stride", str(S), "--top", "4", "--", ctx])
        assert len(obj["start_logits"]) <= L and len(obj["end_logits"]) == len(obj["start_logits"])
        scores = [a["score"] for a in obj["answers"]]
        assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1, scores
        for a in obj["answers"]:
            assert 0 <= a["start"] <= a["end"] <= len(raw), a
            assert a["answer"] == raw[a["start"]:a["end"]].decode("utf-8"), a
    assert whole["answers"], whole
    failure(["answer", "-m", d, "--question", q * 8, "--max-seq-len", "16", "--", ctx],
            "no room for the context")
    failure(["answer", "-m", d, "--question", q, "--max-seq-len", "16", "--doc-stride", "12",
             "--", ctx], "--doc-stride 12 must be below")


def binding_answers(d, question, context, settings):
    """model.answer() of the Python binding on the library built with EXE, in a
    child process (a sanitized library cannot be loaded into a plain python):
    one list of answers per (max_seq_len, doc_stride); Skip when it cannot load."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(EXE)))
    env = dict(os.environ)
    lib = os.path.join(build, "libcontextembed.so")
    if "CONTEXTEMBED_LIBRARY" not in env and os.path.exists(lib):
        env["CONTEXTEMBED_LIBRARY"] = lib
    env["PYTHONPATH"] = os.path.join(HERE, "..", "bindings", "python")
    code = ("import json, sys, contextembed as ce\n"
            "d, q, c, settings = json.loads(sys.stdin.read())\n"
            "m = ce.Model(d, threads=1)\n"
            "print(json.dumps([m.answer(q, c, top=4, max_seq_len=L, doc_stride=S)['answers']\n"
            "                  for L, S in settings]))\n")
    p = subprocess.run([sys.executable, "-c", code], input=json.dumps(
        [d, question, context, settings]).encode(), capture_output=True, env=env, timeout=300)
    if p.returncode < 0 or b"LibraryNotFoundError" in p.stderr or b"ASan" in p.stderr:
        raise Skip("the Python binding cannot load the library: %s"
                   % p.stderr.decode("utf-8", "replace").strip()[-200:])
    if p.returncode != 0:
        raise AssertionError("model.answer failed: %s" % p.stderr.decode("utf-8", "replace"))
    return json.loads(p.stdout)


@test
def answer_windows_match_binding():
    """The C windows and span choice against the Python binding's, which share
    no code but the library: same answers over several windowings."""
    for d, cases, _ in heads_fixtures("qa"):
        c = [c for c in cases["cases"] if c["kind"] == "pair"][0]
        q, ctx = c["text"], " ".join([c["text_pair"]] * 3)
        pair = one(["tokenize", "-m", d, "--add-special", "--pair", ctx, "--", q])["ids"]
        others = len(pair) - len(one(["tokenize", "-m", d, "--", ctx])["ids"])
        settings = [(others + 5, 2), (others + 8, 3), (others + 6, 0), (others + 9, 1)]
        expected = binding_answers(d, q, ctx, settings)
        for (L, S), want in zip(settings, expected):
            obj = one(["answer", "-m", d, "--question", q, "--max-seq-len", str(L),
                       "--doc-stride", str(S), "--top", "4", "--", ctx])
            what = "%s L=%d S=%d" % (os.path.basename(d), L, S)
            got = obj["answers"]
            assert [(a["start"], a["end"], a["answer"]) for a in got] == \
                [(a["start"], a["end"], a["answer"]) for a in want], "%s: %r vs %r" % (
                    what, got, want)
            assert_close([a["score"] for a in got], [a["score"] for a in want], PTOL, what)


@test
def answer_errors():
    d, cases, _ = heads_fixtures("qa")[0]
    positions = cases["model"]["max_tokens"]
    failure(["answer", "-m", d, "--question", "", "ctx"], "question is empty")
    failure(["answer", "-m", d, "--question", "   ", "ctx"], "question is empty")
    failure(["answer", "-m", d, "--question", "q", "--", ""], "context 0 is empty")
    failure(["answer", "-m", d, "ctx"], "missing --question", rc=2)
    failure(["answer", "-m", d, "--question", "q", "--top", "0", "ctx"], "--top", rc=2)
    failure(["answer", "-m", d, "--question", "q", "--max-answer-tokens", "0", "ctx"],
            "--max-answer-tokens", rc=2)
    failure(["answer", "-m", d, "--question", "q", "--max-seq-len", str(positions + 1), "c"],
            "positions", rc=2)
    failure(["answer", "-m", d, "--question", "q", "--max-seq-len", "8", "--doc-stride", "9",
             "c"], "larger than --max-seq-len", rc=2)
    cls = heads_fixtures("seqcls")[0][0]
    failure(["answer", "-m", cls, "--question", "q", "c"],
            ["question_answering", "this one has: sequence_classification"])


@test
def help_and_usage():
    for cmd in ("fill-mask", "classify", "tag", "answer"):
        out, _ = run([cmd, "--help"])
        assert out.startswith(b"Usage: contextembed " + cmd.encode()), cmd
        failure([cmd, "--bogus"], "unknown option", rc=2)
    out, _ = run(["--help"])
    for cmd in (b"fill-mask", b"classify", b"tag", b"answer"):
        assert cmd in out, cmd
    out, _ = run(["answer", "--help"])
    assert b"window holding the best answer" in out


def main():
    failed = skipped = 0
    for fn in TESTS:
        try:
            fn()
            print("ok   %s" % fn.__name__)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (fn.__name__, e))
        except Exception as e:  # report every case, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e))
    print("%d passed, %d failed, %d skipped" % (len(TESTS) - failed - skipped, failed, skipped))
    if failed:
        return 1
    return 77 if skipped == len(TESTS) else 0


if __name__ == "__main__":
    sys.exit(main())
