#!/usr/bin/python3
"""The library's tokenizers against the training encoders, on the held-out text.

    /usr/bin/python3 tools/train/check_tokenizers.py --exe build/tools/contextembed \
        --work build-train/work --models models

- gpt2-mini-en: every held-out text of heldout.txt through `contextembed
  tokenize` must give the ids of gen_gpt2's byte-level BPE encoder; the ids of
  the first --test-texts texts are recorded in eval.json ("test_ids") for
  test/test-models.py, which scores exactly those texts.
- bert-mini-en: every held-out verse, `contextembed tokenize --add-special`
  against gen_bert's port of BERT's tokenizer (with [CLS] ... [SEP]).
"""

import argparse
import json
import os
import subprocess

import common
import corpus
import gen_bert as gb
import gen_gpt2 as g2


def lib_ids(exe, model, texts, special):
    lines = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts)
    args = [exe, "tokenize", "-m", model, "--jsonl"] + (["--add-special"] if special else [])
    out = subprocess.run(args, input=lines.encode(), capture_output=True, check=True).stdout.decode()
    return [json.loads(x)["ids"] for x in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--test-texts", type=int, default=6)
    a = ap.parse_args()
    bad = 0

    d = os.path.join(a.models, "gpt2-mini-en")
    vocab, merges, _ = g2.read_tokenizer_json(os.path.join(d, "tokenizer.json"))
    enc = g2.ByteBpe(vocab, merges)
    with open(os.path.join(d, "heldout.txt"), encoding="utf-8") as f:
        texts = f.read()[:-1].split("\n\f\n")
    want = [enc.encode(t, specials=False)[1] for t in texts]
    got = lib_ids(a.exe, d, texts, False)
    diff = sum(w != g for w, g in zip(want, got)) + abs(len(want) - len(got))
    print(f"gpt2-mini-en: {len(texts)} held-out texts, {sum(map(len, want))} tokens, {diff} differ")
    bad += diff
    ev_path = os.path.join(d, "eval.json")
    with open(ev_path, encoding="utf-8") as f:
        ev = json.load(f)
    assert all(len(w) - 1 == p["scored"] for w, p in zip(want, ev["per_text"]))
    ev["test_ids"] = want[:a.test_texts]
    common.write_json(ev_path, ev)

    d = os.path.join(a.models, "bert-mini-en")
    if os.path.isdir(d):
        with open(os.path.join(d, "vocab.txt"), encoding="utf-8") as f:
            bvocab = f.read().split("\n")[:-1]
        tok = gb.FullTokenizer(bvocab, True)
        _, held = corpus.load(a.work)
        want = [tok.encode(t)[1] for t in held]
        got = lib_ids(a.exe, d, held, True)
        diff = sum(w != g for w, g in zip(want, got)) + abs(len(want) - len(got))
        print(f"bert-mini-en: {len(held)} held-out verses, {sum(map(len, want))} tokens, {diff} differ")
        bad += diff
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
