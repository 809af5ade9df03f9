#!/usr/bin/env python3
"""RoBERTa tokenization against Hugging Face's (Python 3 standard library only).

Usage: test-tokenizer-roberta.py [GOLDEN_DIR [REFDATA_DIR]]

GOLDEN_DIR defaults to test/fixtures/tokenizers/roberta (golden-<variant>.jsonl,
made by test/gen/gen_roberta_golden.mjs with Hugging Face tokenizers), REFDATA_DIR
to $CE_REFDATA, else ../shared/refdata. The binding is imported from PYTHONPATH
(else bindings/python of this checkout) and loads $CONTEXTEMBED_LIBRARY.

The tokenizer directories are built from GPT-2's vocabulary in refdata by
test/gen/make_roberta_tokenizer.py into a temporary directory: "json"
(tokenizer.json with RobertaProcessing), "files" (vocab.json + merges.txt +
tokenizer_config.json naming RobertaTokenizer) and "prefix" (tokenizer.json
with add_prefix_space). Every golden line is encoded with the special tokens
added and its ids, type ids, sequence ids and offsets (UTF-8 bytes, from the
golden code points) are compared; lines without max_length are also compared
without special tokens. Exit code 0 when everything matched, 1 otherwise, 77
when refdata is absent.
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOLDEN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "fixtures", "tokenizers", "roberta")
REFDATA = sys.argv[2] if len(sys.argv) > 2 else (
    os.environ.get("CE_REFDATA") or os.path.join(ROOT, "..", "shared", "refdata"))
VARIANTS = ("json", "files", "prefix")
SHOW = 8  # mismatches printed per check
SKIP = 77

sys.path.insert(0, os.path.join(HERE, "gen"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(SKIP)


REF_GOLDEN = os.path.join(REFDATA, "tokenizers", "golden", "gpt2.jsonl")
for need in (os.path.join(REFDATA, "tokenizers", "gpt2", "vocab.json"),
             os.path.join(REFDATA, "tokenizers", "gpt2", "merges.txt"), REF_GOLDEN):
    if not os.path.isfile(need):
        skip("%s is absent (shared reference data)" % need)

try:
    import contextembed as ce
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import contextembed as ce  # noqa: E402

import make_roberta_tokenizer  # noqa: E402  (test/gen, on the path above)


# ---- golden data -------------------------------------------------------------

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


REF_TEXTS = {o["id"]: o["text"] for o in read_jsonl(REF_GOLDEN)}


def texts_of(g):
    """(text, pair or None) of a golden line: refdata ids or the strings."""
    text = g["text"] if "text" in g else REF_TEXTS[g["id"]]
    pair = g["pair"] if "pair" in g else REF_TEXTS[g["pair_id"]] if "pair_id" in g else None
    return text, pair


def label(g):
    keys = [k for k in ("id", "text", "pair_id", "pair", "max_length") if k in g]
    return ", ".join("%s=%s" % (k, json.dumps(g[k], ensure_ascii=False)) for k in keys)


def byte_offsets(g, text, pair):
    """Golden code-point offsets as UTF-8 byte offsets of the text each token
    came from (sequence id 0 or 1); (0, 0) for added special tokens."""
    texts = (text, pair or "")
    out = []
    for (b, e), s in zip(g["offsets"], g["sequence_ids"]):
        if s < 0:
            out.append((b, e))
        else:
            t = texts[s]
            out.append((len(t[:b].encode("utf-8", "surrogatepass")),
                        len(t[:e].encode("utf-8", "surrogatepass"))))
    return out


def expected(g, text, pair, add_special=True):
    want = {"ids": g["ids"], "type_ids": g["type_ids"], "sequence_ids": g["sequence_ids"],
            "offsets": byte_offsets(g, text, pair)}
    if not add_special:  # the same tokens without the template's (type ids stay 0)
        keep = [s >= 0 for s in g["sequence_ids"]]
        want = {k: [x for x, k2 in zip(v, keep) if k2] for k, v in want.items()}
    return want


# ---- comparing ---------------------------------------------------------------

class Check:
    """One named check: counts lines, keeps the first mismatches."""

    def __init__(self, name):
        self.name, self.lines, self.failures = name, 0, []

    def fail(self, what):
        self.failures.append(what)

    def report(self):
        if not self.failures:
            print("ok   %s (%d lines)" % (self.name, self.lines))
            return True
        print("FAIL %s: %d of %d lines differ" % (self.name, len(self.failures), self.lines))
        for f in self.failures[:SHOW]:
            print("     " + f.replace("\n", "\n     "))
        if len(self.failures) > SHOW:
            print("     ... %d more" % (len(self.failures) - SHOW))
        return False


def tokens_of(tok, ids):
    out = []
    for i in ids:
        try:
            out.append(tok.id_to_token(i))
        except ce.ContextEmbedError:
            out.append("?%d" % i)
    return out


def first_difference(got, want):
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return i
    return min(len(got), len(want))


def compare_line(check, tok, g, add_special=True):
    text, pair = texts_of(g)
    check.lines += 1
    want = expected(g, text, pair, add_special)
    try:
        enc = tok.encode(text, pair=pair, add_special=add_special, max_length=g.get("max_length"))
    except ce.ContextEmbedError as e:
        check.fail("%s: encode failed: %s" % (label(g), e))
        return
    got = {"ids": list(enc.ids), "type_ids": list(enc.type_ids),
           "sequence_ids": list(enc.sequence_ids), "offsets": [tuple(o) for o in enc.offsets]}
    for field in ("ids", "type_ids", "sequence_ids", "offsets"):
        if got[field] == want[field]:
            continue
        i = first_difference(got[field], want[field])
        lo = max(0, i - 2)
        msg = ["%s: %s differ at token %d (%d tokens, %d expected)"
               % (label(g), field, i, len(got[field]), len(want[field]))]
        if field != "ids" or got["ids"] != want["ids"]:
            msg.append("  got      %s: %s" % (field, got[field][lo:i + 3]))
            msg.append("  expected %s: %s" % (field, want[field][lo:i + 3]))
        msg.append("  got tokens      %s" % json.dumps(tokens_of(tok, got["ids"][lo:i + 3]),
                                                       ensure_ascii=False))
        msg.append("  expected tokens %s" % json.dumps(tokens_of(tok, want["ids"][lo:i + 3]),
                                                       ensure_ascii=False))
        if field == "offsets":
            msg.append("  (UTF-8 byte offsets; golden code points %s)" % g["offsets"][lo:i + 3])
        check.fail("\n".join(msg))
        return


def run_golden(name, path, golden, checks, without_specials=True):
    """Every golden line through the tokenizer opened from @path."""
    c = Check("%s: golden, special tokens added" % name)
    c2 = Check("%s: golden, no special tokens" % name)
    checks += [c, c2] if without_specials else [c]
    try:
        tok = ce.Tokenizer(path)
    except ce.ContextEmbedError as e:
        c.lines = 1
        c.fail("%s: cannot open: %s" % (path, e))
        if without_specials:
            checks.remove(c2)
        return
    with tok:
        for g in golden:
            compare_line(c, tok, g)
            if without_specials and "max_length" not in g:
                compare_line(c2, tok, g, add_special=False)


def check_specials(name, path, checks):
    """RoBERTa's special token roles and vocabulary size."""
    c = Check("%s: special token ids" % name)
    checks.append(c)
    c.lines = 1
    want = {"cls": 0, "pad": 1, "sep": 2, "unk": 3, "mask": 50260}
    try:
        with ce.Tokenizer(path) as tok:
            got = {role: tok.special_id(role) for role in want}
            size = tok.vocab_size
    except ce.ContextEmbedError as e:
        c.fail("%s: cannot open: %s" % (path, e))
        return
    if got != want:
        c.fail("special_id: got %s, expected %s" % (got, want))
    if size != 50261:
        c.fail("vocab_size %d, expected 50261" % size)


def check_missing_merges(files_dir, tmp, checks):
    """vocab.json without merges.txt: opening fails and says what is missing."""
    c = Check("files without merges.txt: error names merges.txt")
    checks.append(c)
    d = os.path.join(tmp, "no-merges")
    shutil.copytree(files_dir, d)
    os.remove(os.path.join(d, "merges.txt"))
    for path in (d, os.path.join(d, "vocab.json")):
        c.lines += 1
        try:
            ce.Tokenizer(path).close()
        except ce.ContextEmbedError as e:
            if "merges.txt" not in str(e):
                c.fail("%s: the error does not name merges.txt: %s" % (path, e))
        else:
            c.fail("%s: opened without merges.txt" % path)


def main():
    checks = []
    golden = {}
    for v in VARIANTS:
        path = os.path.join(GOLDEN, "golden-%s.jsonl" % v)
        if not os.path.isfile(path):
            print("FAIL %s is missing (test/gen/gen_roberta_golden.mjs makes it)" % path)
            return 1
        golden[v] = read_jsonl(path)
    # the same tokenizer twice: the golden ids must agree (offsets too)
    if [(g["ids"], g["offsets"]) for g in golden["json"]] != \
            [(g["ids"], g["offsets"]) for g in golden["files"]]:
        print("FAIL golden-json.jsonl and golden-files.jsonl disagree: regenerate them")
        return 1

    tmp = tempfile.mkdtemp(prefix="ce-roberta-")
    try:
        dirs = make_roberta_tokenizer.make(REFDATA, tmp)
        for v in VARIANTS:
            run_golden(v, dirs[v], golden[v], checks)
        # the other ways in to the same tokenizers
        run_golden("json via tokenizer.json", os.path.join(dirs["json"], "tokenizer.json"),
                   golden["json"], checks, without_specials=False)
        run_golden("files via vocab.json", os.path.join(dirs["files"], "vocab.json"),
                   golden["files"], checks, without_specials=False)
        # vocab.json + merges.txt named RoBERTa only by config.json's model_type
        mt = os.path.join(tmp, "model-type")
        shutil.copytree(dirs["files"], mt)
        os.remove(os.path.join(mt, "tokenizer_config.json"))
        with open(os.path.join(mt, "config.json"), "w", encoding="utf-8") as f:
            json.dump({"architectures": ["RobertaForMaskedLM"], "model_type": "roberta",
                       "vocab_size": 50261, "bos_token_id": 0, "pad_token_id": 1,
                       "eos_token_id": 2}, f, indent=2)
        run_golden("files named by config.json model_type", mt, golden["files"], checks,
                   without_specials=False)
        for v in VARIANTS:
            check_specials(v, dirs[v], checks)
        check_missing_merges(dirs["files"], tmp, checks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ok = [c.report() for c in checks]
    print("%d of %d checks passed" % (sum(ok), len(ok)))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
