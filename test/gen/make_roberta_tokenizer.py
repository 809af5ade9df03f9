#!/usr/bin/env python3
"""Write RoBERTa-style tokenizer directories built from GPT-2's vocabulary.

Usage: make_roberta_tokenizer.py --refdata DIR --out DIR [--variant NAME ...]

--refdata is the shared reference data (the directory holding tokenizers/gpt2/,
or tokenizers/gpt2/ itself). Standard library only; any python3.

The vocabulary is laid out as RoBERTa's: <s> 0, <pad> 1, </s> 2, <unk> 3, then
GPT-2's tokens in GPT-2 id order shifted by 4 (<|endoftext|> left out), then
<mask> as the last id (50260). GPT-2's merges are kept unchanged. One
subdirectory per variant:

  json    tokenizer.json as roberta-base ships it (BPE; ByteLevel pre-tokenizer
          without prefix space; RobertaProcessing post-processor with
          trim_offsets; ByteLevel decoder; the five specials in added_tokens,
          <mask> with lstrip), tokenizer_config.json as roberta-base's
          ({"model_max_length": 512}: the template must come from the
          post-processor), special_tokens_map.json as transformers writes it.
  files   vocab.json + merges.txt + tokenizer_config.json (tokenizer_class
          "RobertaTokenizer", add_prefix_space false, the special token
          strings, mask_token as the AddedToken with lstrip that
          RobertaTokenizer declares) + special_tokens_map.json; no
          tokenizer.json.
  prefix  like json with add_prefix_space true in the pre-tokenizer and the
          post-processor (RoBERTa for token classification); written as a
          newer tokenizers saves it (use_regex, merges as pairs) with a
          tokenizer_config.json as transformers >= 4.34 saves it
          (added_tokens_decoder).

The GPT-2 files themselves must not be copied into the repository: the
directories are made at test time in a temporary directory.
"""
import argparse
import json
import os
import sys

VARIANTS = ("json", "files", "prefix")
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
SHIFT = len(SPECIALS)
MAX_LENGTH = 512


def find_gpt2(refdata):
    for d in (os.path.join(refdata, "tokenizers", "gpt2"), os.path.join(refdata, "gpt2"), refdata):
        if os.path.isfile(os.path.join(d, "vocab.json")) and \
                os.path.isfile(os.path.join(d, "merges.txt")):
            return d
    raise FileNotFoundError("%s: no tokenizers/gpt2/vocab.json + merges.txt" % refdata)


def load_gpt2(gpt2_dir):
    with open(os.path.join(gpt2_dir, "vocab.json"), encoding="utf-8") as f:
        gpt2 = json.load(f)
    with open(os.path.join(gpt2_dir, "merges.txt"), encoding="utf-8", newline="") as f:
        merges_text = f.read()
    by_id = sorted(gpt2.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("GPT-2 ids are not 0..n-1")
    tokens = [t for t, _ in by_id if t != "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(SPECIALS + tokens + ["<mask>"])}
    if len(vocab) != SHIFT + len(tokens) + 1:
        raise ValueError("a GPT-2 token collides with a RoBERTa special token")
    merges = [l for l in merges_text.split("\n") if l and not l.startswith("#version")]
    return vocab, merges_text, merges


def added_token(id_, content, lstrip=False, normalized=True):
    # field order as tokenizers 0.x wrote roberta-base's file
    return {"id": id_, "special": True, "content": content, "single_word": False,
            "lstrip": lstrip, "rstrip": False, "normalized": normalized}


def tokenizer_json(vocab, merges, prefix):
    mask_id = vocab["<mask>"]
    added = [added_token(vocab[t], t) for t in SPECIALS]
    added.append(added_token(mask_id, "<mask>", lstrip=True, normalized=False))
    pre = {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": True}
    if prefix:
        pre["use_regex"] = True
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
             "end_of_word_suffix": "", "fuse_unk": False}
    if prefix:
        model.update({"byte_fallback": False, "ignore_merges": False})
    model["vocab"] = vocab
    model["merges"] = [m.split(" ") for m in merges] if prefix else merges
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre,
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]],
                           "cls": ["<s>", vocab["<s>"]], "trim_offsets": True,
                           "add_prefix_space": prefix},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True},
        "model": model,
    }


def special_tokens_map():
    # as transformers (>= 4.34) saves RobertaTokenizer(Fast)
    return {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>",
            "mask_token": {"content": "<mask>", "lstrip": True, "normalized": False,
                           "rstrip": False, "single_word": False},
            "pad_token": "<pad>", "sep_token": "</s>", "unk_token": "<unk>"}


def config_files_variant():
    # as transformers 4.x (< 4.34) saves RobertaTokenizer: the mask token is
    # the AddedToken(lstrip=True) that RobertaTokenizer.__init__ makes
    return {"add_prefix_space": False, "bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>",
            "errors": "replace",
            "mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": True,
                           "normalized": True, "rstrip": False, "single_word": False},
            "model_max_length": MAX_LENGTH, "pad_token": "<pad>", "sep_token": "</s>",
            "special_tokens_map_file": None, "tokenizer_class": "RobertaTokenizer",
            "trim_offsets": True, "unk_token": "<unk>"}


def config_prefix_variant(vocab):
    # as transformers >= 4.34 saves RobertaTokenizerFast(add_prefix_space=True)
    decoder = {}
    for t in SPECIALS + ["<mask>"]:
        decoder[str(vocab[t])] = {"content": t, "lstrip": t == "<mask>",
                                  "normalized": t != "<mask>", "rstrip": False,
                                  "single_word": False, "special": True}
    return {"add_prefix_space": True, "added_tokens_decoder": decoder, "bos_token": "<s>",
            "clean_up_tokenization_spaces": True, "cls_token": "<s>", "eos_token": "</s>",
            "errors": "replace", "mask_token": "<mask>", "model_max_length": MAX_LENGTH,
            "pad_token": "<pad>", "sep_token": "</s>", "tokenizer_class": "RobertaTokenizer",
            "trim_offsets": True, "unk_token": "<unk>"}


def write_json(path, obj, **kw):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, **kw)
        f.write("\n")


def make(refdata, out, variants=VARIANTS):
    """Write the @variants under @out; returns {variant: directory}."""
    vocab, merges_text, merges = load_gpt2(find_gpt2(refdata))
    made = {}
    for v in variants:
        if v not in VARIANTS:
            raise ValueError("unknown variant %r (one of %s)" % (v, ", ".join(VARIANTS)))
        d = os.path.join(out, v)
        os.makedirs(d, exist_ok=True)
        for name in ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                     "special_tokens_map.json"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                os.remove(p)
        if v == "files":
            write_json(os.path.join(d, "vocab.json"), vocab)
            with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8", newline="") as f:
                f.write(merges_text)
            write_json(os.path.join(d, "tokenizer_config.json"), config_files_variant(), indent=2)
        else:
            prefix = v == "prefix"
            write_json(os.path.join(d, "tokenizer.json"), tokenizer_json(vocab, merges, prefix),
                       **({"indent": 2} if prefix else {"separators": (",", ":")}))
            write_json(os.path.join(d, "tokenizer_config.json"),
                       config_prefix_variant(vocab) if prefix else {"model_max_length": MAX_LENGTH},
                       indent=2)
        write_json(os.path.join(d, "special_tokens_map.json"), special_tokens_map(), indent=2)
        made[v] = d
    return made


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refdata", required=True, help="shared reference data directory")
    ap.add_argument("--out", required=True, help="where the variant directories go")
    ap.add_argument("--variant", action="append", choices=VARIANTS,
                    help="only this variant (repeatable; default all)")
    args = ap.parse_args(argv)
    try:
        made = make(args.refdata, args.out, args.variant or VARIANTS)
    except (OSError, ValueError) as e:
        print("make_roberta_tokenizer.py: %s" % e, file=sys.stderr)
        return 1
    for v, d in made.items():
        print("%s\t%s" % (v, d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
