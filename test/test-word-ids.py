#!/usr/bin/env python3
"""Word ids (ce_encoding_word_ids, Encoding.word_ids) against Hugging Face's.

Usage: test-word-ids.py GOLDEN_DIR FIXTURES_DIR REFDATA_DIR

The golden files come from test/gen/gen_word_ids.mjs (Hugging Face tokenizers'
Rust core): the real BERT and GPT-2 tokenizers of the shared reference data
(skipped with a message when it is absent) and the RoBERTa fixture. Reference
texts are stored by id and read from the reference golden files. Also checks
batch encoding gives the same word ids."""
import json
import os
import sys

from contextembed import Tokenizer

golden_dir, fixtures, refdata = sys.argv[1:4]
SETS = [
    ("bert-base-uncased", os.path.join(refdata, "tokenizers", "bert-base-uncased", "tokenizer.json"),
     "bert-base-uncased"),
    ("gpt2", os.path.join(refdata, "tokenizers", "gpt2", "tokenizer.json"), "gpt2"),
    ("roberta-tiny", os.path.join(fixtures, "roberta-tiny"), "gpt2"),
]


def ref_texts(name):
    path = os.path.join(refdata, "tokenizers", "golden", name + ".jsonl")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return {r["id"]: r["text"] for r in map(json.loads, filter(str.strip, f))}


def main():
    checked, skipped, failures = 0, [], []
    for name, tok_path, golden in SETS:
        if not os.path.exists(tok_path):
            skipped.append("%s (no %s)" % (name, tok_path))
            continue
        refs = ref_texts(golden)
        tok = Tokenizer(tok_path)
        cases = []
        with open(os.path.join(golden_dir, name + ".jsonl"), encoding="utf-8") as f:
            for rec in map(json.loads, filter(str.strip, f)):
                if "ref" in rec and refs is None:
                    continue
                text = refs[rec["ref"]] if "ref" in rec else rec["text"]
                pair = refs[rec["pair_ref"]] if "pair_ref" in rec else rec.get("pair")
                cases.append((text, pair, rec))
        if refs is None:
            skipped.append("%s reference texts (no refdata golden files)" % name)
        singles = [(t, r) for t, p, r in cases if p is None]
        batch = tok.encode_batch([t for t, _ in singles])
        batch_words = {id(r): e.word_ids for (_, r), e in zip(singles, batch)}
        for text, pair, rec in cases:
            enc = tok.encode(text, pair)
            want = [None if w < 0 else w for w in rec["word_ids"]]
            if enc.ids != rec["ids"]:
                failures.append("%s: ids differ for %r / %r" % (name, text[:60], pair))
            elif enc.word_ids != want:
                failures.append("%s: word ids for %r / %r\n  got  %s\n  want %s"
                                % (name, text[:60], pair, enc.word_ids, want))
            elif pair is None and batch_words[id(rec)] != want:
                failures.append("%s: batch word ids differ for %r" % (name, text[:60]))
            checked += 1
        tok.close()
    for s in skipped:
        print("skipped:", s)
    for f in failures[:20]:
        print("FAIL", f)
    print("%d encodings checked, %d failures" % (checked, len(failures)))
    if failures:
        return 1
    return 0 if checked else 77


if __name__ == "__main__":
    sys.exit(main())
