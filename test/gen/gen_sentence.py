#!/usr/bin/python3
"""Reference generator for libcontextembed's sentence-transformers fixtures.

Writes small random-weight BERT models as sentence-transformers saves them
(modules.json, sentence_bert_config.json, 1_Pooling/config.json, ...) under
test/fixtures/st-*/, together with the sentence embeddings sentence-transformers'
pipeline gives for a few texts: Transformer module (lower-casing, truncation to
max_seq_length), Pooling (every mode, written out below from
sentence_transformers/models/Pooling.py), Normalize, and Dense for the one
fixture a library is expected to refuse.  Nothing here imports `transformers`
or `sentence_transformers`: the BERT forward pass, the safetensors writer and
the WordPiece tokenizer are gen_bert.py's (imported, unchanged).

Run from anywhere:  /usr/bin/python3 test/gen/gen_sentence.py
See test/gen/README.md for what each fixture is for.
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_bert as gb  # noqa: E402

DEFAULT_OUT = gb.DEFAULT_OUT
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 1536 * 1024          # all st-* fixtures together
MAX_SEQ_LENGTH = 16
TOL = 1e-4

# sentence-transformers' order of the pooling modes in the concatenated output
# (Pooling.forward appends them in this order), with their config.json keys and
# the library's ce_pool values (include/contextembed/session.h).
MODES = ["cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"]
MODE_KEY = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens",
            "mean": "pooling_mode_mean_tokens", "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
            "weightedmean": "pooling_mode_weightedmean_tokens", "lasttoken": "pooling_mode_lasttoken"}
CE_POOL = {"cls": 1, "mean": 2, "max": 3, "mean_sqrt_len": 4, "weightedmean": 5, "lasttoken": 6}

ST_VERSIONS = {"sentence_transformers": "3.0.1", "transformers": gb.TRANSFORMERS_VERSION,
               "pytorch": "2.1.2+cu121"}
OLD_ST_VERSION = "0.4.1"
DENSE_OUT = 16

CFG = gb.Cfg(layers=2, hidden=32, heads=4, intermediate=64, max_pos=64, type_vocab=2, eps=1e-12)

UNCASED_TEXTS = [
    "Hello world!",
    # 20 word pieces: cut to [CLS] + 14 + [SEP], in the middle of "unbelievably"
    "The quick brown fox jumps over the lazy dog, unbelievably happily.",
    # 14 word pieces: exactly max_seq_length with [CLS] and [SEP], not cut
    "Where do you play? I love to play with the old dog.",
    "tea",
    "Where is Munich? In Germany.",
]
LOWER_TEXTS = [
    "Hello World! The café in Zürich.",
    "ÜBER BERT Models in NEW YORK",
    "Élodie wrote a Résumé",
    # 37 word pieces once lower-cased: cut to 16
    "Where is München? It is in Germany, I love the city of München and its tea.",
    "tea",
]


# ---------------------------------------------------------------------------
# sentence-transformers' modules, from their published definitions
# ---------------------------------------------------------------------------

def st_transformer_tokenize(tok, text, do_lower_case, max_seq_length):
    """models.Transformer.tokenize for one text: str(s).strip(), .lower() when
    do_lower_case, then the HF tokenizer with truncation="longest_first" and
    max_length=max_seq_length: content tokens are cut, [CLS]/[SEP] kept."""
    text = str(text).strip()
    if do_lower_case:
        text = text.lower()
    pieces = tok.tokenize(text)
    full = len(pieces) + 2
    pieces = pieces[:max_seq_length - 2]
    toks = ["[CLS]"] + pieces + ["[SEP]"]
    return text, toks, tok.ids(toks), full


def st_pooling(token_embeddings, attention_mask, modes):
    """models.Pooling.forward (sentence-transformers 3.0) on a padded batch:
    token_embeddings [B, T, D], attention_mask [B, T] (1 = token, 0 = padding).
    Returns [B, len(modes) * D], the modes concatenated in MODES order."""
    token_embeddings = token_embeddings.clone()
    output_vectors = []
    if "cls" in modes:
        output_vectors.append(token_embeddings[:, 0])
    if "max" in modes:
        input_mask_expanded = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).to(
            token_embeddings.dtype)
        token_embeddings[input_mask_expanded == 0] = -1e9  # in place, as Pooling does
        output_vectors.append(torch.max(token_embeddings, 1)[0])
    if "mean" in modes or "mean_sqrt_len" in modes:
        input_mask_expanded = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).to(
            token_embeddings.dtype)
        sum_embeddings = torch.sum(token_embeddings * input_mask_expanded, 1)
        sum_mask = torch.clamp(input_mask_expanded.sum(1), min=1e-9)
        if "mean" in modes:
            output_vectors.append(sum_embeddings / sum_mask)
        if "mean_sqrt_len" in modes:
            output_vectors.append(sum_embeddings / torch.sqrt(sum_mask))
    if "weightedmean" in modes:
        input_mask_expanded = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).to(
            token_embeddings.dtype)
        weights = (torch.arange(start=1, end=token_embeddings.shape[1] + 1)
                   .unsqueeze(0).unsqueeze(-1).expand(token_embeddings.size())
                   .to(token_embeddings.dtype))
        input_mask_expanded = input_mask_expanded * weights
        sum_embeddings = torch.sum(token_embeddings * input_mask_expanded, 1)
        sum_mask = torch.clamp(input_mask_expanded.sum(1), min=1e-9)
        output_vectors.append(sum_embeddings / sum_mask)
    if "lasttoken" in modes:
        bs, seq_len, hidden_dim = token_embeddings.shape
        values, indices = attention_mask.flip(1).max(1)
        indices = torch.where(values == 0, seq_len - 1, indices)
        gather_indices = seq_len - indices - 1
        gather_indices = gather_indices.unsqueeze(-1).repeat(1, hidden_dim).unsqueeze(1)
        input_mask_expanded = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).to(
            token_embeddings.dtype)
        embedding = torch.gather(token_embeddings * input_mask_expanded, 1, gather_indices).squeeze(dim=1)
        output_vectors.append(embedding)
    return torch.cat(output_vectors, 1)


def st_normalize(x):
    """models.Normalize: F.normalize(x, p=2, dim=1) = x / max(||x||, 1e-12)."""
    return torch.nn.functional.normalize(x, p=2, dim=1)


def st_dense(x, weight, bias):
    """models.Dense with activation_function torch.nn.modules.activation.Tanh."""
    return torch.tanh(x @ weight.t() + bias)


def pool_one_f64(h, mode):
    """An independent, plain numpy definition of each mode on one unpadded
    sequence h [T, D] (float64), to cross-check st_pooling."""
    h = np.asarray(h, dtype=np.float64)
    T = h.shape[0]
    if mode == "cls":
        return h[0]
    if mode == "max":
        return h.max(0)
    if mode == "mean":
        return h.sum(0) / T
    if mode == "mean_sqrt_len":
        return h.sum(0) / math.sqrt(T)
    if mode == "weightedmean":
        w = np.arange(1, T + 1, dtype=np.float64)
        return (w[:, None] * h).sum(0) / w.sum()
    if mode == "lasttoken":
        return h[-1]
    raise ValueError(mode)


# ---------------------------------------------------------------------------
# Files as sentence-transformers writes them (json.dump(..., indent=2), no
# final newline, keys in the order of each module's get_config_dict)
# ---------------------------------------------------------------------------

def st_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


def pooling_config(modes, dim, old=False):
    cfg = {"word_embedding_dimension": dim,
           "pooling_mode_cls_token": "cls" in modes,
           "pooling_mode_mean_tokens": "mean" in modes,
           "pooling_mode_max_tokens": "max" in modes,
           "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len" in modes}
    if old:
        # sentence-transformers < 2.0 knew only these four modes and no include_prompt
        assert not {"weightedmean", "lasttoken"} & set(modes)
        return cfg
    cfg["pooling_mode_weightedmean_tokens"] = "weightedmean" in modes
    cfg["pooling_mode_lasttoken"] = "lasttoken" in modes
    cfg["include_prompt"] = True
    return cfg


def copy_tokenizer(src, dst):
    """vocab.txt, tokenizer_config.json (model_max_length set to the model's
    positions), special_tokens_map.json of a gen_bert fixture."""
    for f in ("vocab.txt", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    with open(os.path.join(src, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)
    tc["model_max_length"] = CFG.max_pos
    gb.write_json(os.path.join(dst, "tokenizer_config.json"), tc)
    with open(os.path.join(src, "vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    return vocab, tc["do_lower_case"]


# ---------------------------------------------------------------------------
# The fixtures
# ---------------------------------------------------------------------------

SPECS = [
    {"name": "st-cls", "modes": ["cls"], "normalize": False, "seed": 3101,
     "purpose": "Pooling: pooling_mode_cls_token alone, no Normalize"},
    {"name": "st-mean", "modes": ["mean"], "normalize": True, "seed": 3102,
     "purpose": "Pooling: mean over the attention mask ([CLS]/[SEP] included) + Normalize "
                "(the all-MiniLM-L6-v2 shape)"},
    {"name": "st-max", "modes": ["max"], "normalize": False, "seed": 3103,
     "purpose": "Pooling: element-wise max over the tokens, no Normalize"},
    {"name": "st-mean-sqrt", "modes": ["mean_sqrt_len"], "normalize": False, "seed": 3104,
     "purpose": "Pooling: sum / sqrt(number of tokens), no Normalize"},
    {"name": "st-weightedmean", "modes": ["weightedmean"], "normalize": False, "seed": 3105,
     "purpose": "Pooling: position-weighted mean, weights 1..T, no Normalize"},
    {"name": "st-lasttoken", "modes": ["lasttoken"], "normalize": False, "seed": 3106,
     "purpose": "Pooling: last token of the attention mask ([SEP] for BERT), no Normalize"},
    {"name": "st-multi", "modes": ["cls", "max", "mean"], "normalize": True, "seed": 3107,
     "purpose": "Pooling: cls + max + mean concatenated (in sentence-transformers' order, "
                "3 * hidden wide), Normalize over the whole concatenation"},
    {"name": "st-lower", "modes": ["mean"], "normalize": True, "seed": 3108, "lower": True,
     "purpose": "sentence_bert_config do_lower_case true over a cased WordPiece vocabulary "
                "(tokenizer_config do_lower_case false): the text is lower-cased, accents kept; "
                "mean + Normalize"},
    {"name": "st-old", "modes": ["mean"], "normalize": False, "seed": 3109, "old": True,
     "purpose": "sentence-transformers < 2.0 layout: Transformer module in 0_Transformer/ (its "
                "config.json, weights, tokenizer and sentence_bert_config.json inside), modules.json, "
                "1_Pooling/ with the 4-mode config and a top-level config.json that is only "
                "{\"__version__\": ...}; mean, no Normalize"},
    {"name": "st-dense", "modes": ["cls"], "normalize": True, "seed": 3110, "dense": True,
     "purpose": "modules.json lists a sentence_transformers.models.Dense module (2_Dense: 32 -> 16, "
                "tanh) between Pooling and Normalize, as LaBSE does: a library without Dense must "
                "refuse it (or open the Transformer alone when asked); expected values are the full "
                "pipeline's"},
]


def build_fixture(out_dir, spec):
    name = spec["name"]
    d = os.path.join(out_dir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    old, dense, lower = spec.get("old", False), spec.get("dense", False), spec.get("lower", False)
    src = os.path.join(out_dir, "bert-tiny-cased" if lower else "bert-tiny-uncased")
    tdir = os.path.join(d, "0_Transformer") if old else d
    os.makedirs(tdir, exist_ok=True)

    # --- Transformer module: a BertModel checkpoint + tokenizer + sentence_bert_config.json
    vocab, tok_lower = copy_tokenizer(src, tdir)
    tok = gb.FullTokenizer(vocab, tok_lower)
    w = gb.make_weights(CFG, len(vocab), spec["seed"], with_pooler=True)
    gb.st_write(os.path.join(tdir, "model.safetensors"),
                {k: gb.st_from_torch(v, "F32") for k, v in w.items()}, {"format": "pt"})
    gb.write_json(os.path.join(tdir, "config.json"), gb.hf_config(CFG, len(vocab), "BertModel", "float32"))
    st_json(os.path.join(tdir, "sentence_bert_config.json"),
            {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": lower})

    # --- the other modules
    modules = [{"idx": 0, "name": "0", "path": "0_Transformer" if old else "",
                "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    os.makedirs(os.path.join(d, "1_Pooling"))
    st_json(os.path.join(d, "1_Pooling", "config.json"), pooling_config(spec["modes"], CFG.hidden, old))
    dense_w = None
    if dense:
        g = torch.Generator().manual_seed(spec["seed"] + 1)
        in_dim = CFG.hidden * len(spec["modes"])
        dense_w = {"linear.weight": torch.randn(DENSE_OUT, in_dim, generator=g) * 0.3,
                   "linear.bias": torch.randn(DENSE_OUT, generator=g) * 0.1}
        os.makedirs(os.path.join(d, "2_Dense"))
        st_json(os.path.join(d, "2_Dense", "config.json"),
                {"in_features": in_dim, "out_features": DENSE_OUT, "bias": True,
                 "activation_function": "torch.nn.modules.activation.Tanh"})
        gb.st_write(os.path.join(d, "2_Dense", "model.safetensors"),
                    {k: gb.st_from_torch(v, "F32") for k, v in dense_w.items()}, {"format": "pt"})
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    if spec["normalize"]:
        # sentence-transformers creates this directory and writes nothing in it;
        # git cannot hold an empty directory, so the fixture has no 2_Normalize/.
        idx = len(modules)
        modules.append({"idx": idx, "name": str(idx), "path": f"{idx}_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    st_json(os.path.join(d, "modules.json"), modules)
    if old:
        st_json(os.path.join(d, "config.json"), {"__version__": OLD_ST_VERSION})
    else:
        st_json(os.path.join(d, "config_sentence_transformers.json"),
                {"__version__": ST_VERSIONS, "prompts": {}, "default_prompt_name": None,
                 "similarity_fn_name": None})

    # --- cases
    texts = LOWER_TEXTS if lower else UNCASED_TEXTS
    cases = []
    for i, text in enumerate(texts):
        seen, toks, ids, full = st_transformer_tokenize(tok, text, lower, MAX_SEQ_LENGTH)
        case = {"name": f"case{i}", "text": text}
        if seen != text:
            case["text_as_tokenized"] = seen
        case.update(tokens=toks, input_ids=ids, length=len(ids), length_untruncated=full,
                    truncated=full > MAX_SEQ_LENGTH)
        if lower:
            # what the plain checkpoint's tokenizer gives (no lower-casing, no cut):
            # the ids of a library that opens the directory with CE_OPT_SENTENCE_MODULES 0
            ptoks, pids, _ = tok.encode(text)
            case["tokens_plain_checkpoint"], case["input_ids_plain_checkpoint"] = ptoks, pids
        cases.append(case)
    lengths = [c["length"] for c in cases]
    assert any(c["truncated"] for c in cases) and MAX_SEQ_LENGTH in lengths
    assert len(set(lengths)) >= 3, f"{name}: the batch needs different lengths: {lengths}"
    if lower:
        assert any(c["input_ids_plain_checkpoint"] != c["input_ids"] for c in cases)

    def pipeline(seqs, dtype=torch.float32):
        """Transformer -> Pooling -> (Dense) -> (Normalize) on one padded batch."""
        outs = gb.run(w, CFG, [(ids, [0] * len(ids)) for ids in seqs], dtype)
        T = max(len(s) for s in seqs)
        tokemb = torch.zeros(len(seqs), T, CFG.hidden, dtype=dtype)
        mask = torch.zeros(len(seqs), T, dtype=torch.long)
        for b, ((hs, _), ids) in enumerate(zip(outs, seqs)):
            tokemb[b, :len(ids)] = hs[-1]
            mask[b, :len(ids)] = 1
        # padding rows hold garbage in a real padded run; make them loud
        tokemb[mask == 0] = 1e4
        with torch.no_grad():
            pooled = st_pooling(tokemb, mask, spec["modes"])
            x = pooled
            if dense_w is not None:
                x = st_dense(x, dense_w["linear.weight"].to(dtype), dense_w["linear.bias"].to(dtype))
            if spec["normalize"]:
                x = st_normalize(x)
        return [hs[-1] for hs, _ in outs], pooled, x

    expected, f64_tok, f64_sent, vs_alone, vs_numpy, min_sep = {}, 0.0, 0.0, 0.0, 0.0, math.inf
    alone = []
    for case in cases:
        (tokemb,), pooled, sent = pipeline([case["input_ids"]])
        (tok64,), _, sent64 = pipeline([case["input_ids"]], torch.float64)
        f64_tok = max(f64_tok, (tokemb.double() - tok64).abs().max().item())
        f64_sent = max(f64_sent, (sent[0].double() - sent64[0]).abs().max().item())
        # the independent numpy definition of each mode, in float64
        ref = np.concatenate([pool_one_f64(tok64.numpy(), m) for m in spec["modes"]])
        vs_numpy = max(vs_numpy, float(np.abs(pooled[0].double().numpy() - ref).max()))
        # every other mode (and the other normalisation) must give a clearly different vector
        for m in MODES:
            other = pool_one_f64(tokemb.double().numpy(), m)
            if [m] != spec["modes"] and len(spec["modes"]) == 1:
                min_sep = min(min_sep, float(np.abs(other - pooled[0].double().numpy()).max()))
        if spec["normalize"] and dense_w is None:
            min_sep = min(min_sep, float((pooled[0] - sent[0]).abs().max()))
        alone.append((tokemb, pooled[0], sent[0]))
        n = case["name"]
        expected[f"{n}.input_ids"] = gb.st_from_torch(torch.tensor(case["input_ids"]), "I32")
        expected[f"{n}.token_embeddings"] = gb.st_from_torch(tokemb, "F32")
        expected[f"{n}.sentence_embedding"] = gb.st_from_torch(sent[0], "F32")
        case["pooled_norm"] = gb._r(pooled[0].norm())
        case["sentence_embedding_norm"] = gb._r(sent[0].norm())
    if vs_numpy > 1e-5 or f64_tok > TOL or f64_sent > TOL:
        raise SystemExit(f"{name}: pooling vs numpy {vs_numpy}, f32 vs f64 {f64_tok} / {f64_sent}")
    if min_sep < 1e-2:
        raise SystemExit(f"{name}: another pooling mode or normalisation is within {min_sep}")
    toks_b, pooled_b, sent_b = pipeline([c["input_ids"] for c in cases])
    for (t, p, s), tb, pb, sb in zip(alone, toks_b, pooled_b, sent_b):
        vs_alone = max(vs_alone, (t - tb).abs().max().item(), (p - pb).abs().max().item(),
                       (s - sb).abs().max().item())
    if vs_alone > 1e-5:
        raise SystemExit(f"{name}: the padded batch differs from the runs alone by {vs_alone}")
    gb.st_write(os.path.join(d, "expected.safetensors"), expected, {"format": "pt"})

    dim = (DENSE_OUT if dense_w is not None else CFG.hidden * len(spec["modes"]))
    gb.write_readable_json(os.path.join(d, "cases.json"), {
        "fixture": name,
        "purpose": spec["purpose"],
        "generator": "test/gen/gen_sentence.py (gen_bert.py's BertModel reference, float32, then "
                     "sentence-transformers' Pooling / Dense / Normalize written out in PyTorch)",
        "transformer_path": "0_Transformer" if old else "",
        "modules": [m["type"].rsplit(".", 1)[1] for m in modules],
        "pooling_modes": spec["modes"],
        "pooling_mode_order": MODES,
        "ce_info_pooling": sum(1 << CE_POOL[m] for m in spec["modes"]),
        "normalize": spec["normalize"],
        "dense": ({"in_features": CFG.hidden * len(spec["modes"]), "out_features": DENSE_OUT,
                   "activation": "tanh"} if dense_w is not None else None),
        "max_seq_length": MAX_SEQ_LENGTH,
        "do_lower_case": lower,
        "tokenizer_do_lower_case": tok_lower,
        "hidden_size": CFG.hidden,
        "max_position_embeddings": CFG.max_pos,
        "sentence_embedding_dim": dim,
        "special_ids": {t: tok.vocab[t] for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]},
        "expected": "expected.safetensors: <name>.input_ids I32 [T] (after truncation), "
                    "<name>.token_embeddings F32 [T, hidden] (last layer = the Transformer module's "
                    "output), <name>.sentence_embedding F32 [sentence_embedding_dim] (the whole "
                    "pipeline: pooled, concatenated" + (", Dense" if dense_w is not None else "")
                    + (", normalised" if spec["normalize"] else "") + ")",
        "noise": {"f32_vs_f64_token_embeddings_max_abs": gb._r(f64_tok),
                  "f32_vs_f64_sentence_embedding_max_abs": gb._r(f64_sent),
                  "pooling_vs_numpy_f64_max_abs": gb._r(vs_numpy),
                  "batched_vs_alone_max_abs": gb._r(vs_alone),
                  "min_abs_separation_from_other_modes": gb._r(min_sep),
                  "suggested_tolerance_abs": TOL},
        "batch": "every case was also run as one batch, right-padded with [PAD], attention mask 0 "
                 "on padding; it equals the runs alone (batched_vs_alone_max_abs)",
        "cases": cases,
    })
    return d, w, dense_w, tdir


def verify_fixture(d, spec, w, dense_w, tdir):
    """Read back what was written: weights bit for bit, JSON files, expected values."""
    meta, ts, order = gb.st_read(os.path.join(tdir, "model.safetensors"))
    assert meta == {"format": "pt"} and sorted(ts) == sorted(w)
    assert order == sorted(ts, key=lambda n: n.encode())
    for k, v in w.items():
        assert ts[k].dtype == "F32" and np.array_equal(gb.st_to_float(ts[k]), v.numpy()), k
    if dense_w is not None:
        _, dts, _ = gb.st_read(os.path.join(d, "2_Dense", "model.safetensors"))
        for k, v in dense_w.items():
            assert np.array_equal(gb.st_to_float(dts[k]), v.numpy()), k
    with open(os.path.join(d, "modules.json")) as f:
        modules = json.load(f)
    assert [m["idx"] for m in modules] == list(range(len(modules)))
    with open(os.path.join(d, "1_Pooling", "config.json")) as f:
        pc = json.load(f)
    assert [m for m in MODES if pc.get(MODE_KEY[m], False)] == spec["modes"]
    assert pc["word_embedding_dimension"] == CFG.hidden
    with open(os.path.join(tdir, "sentence_bert_config.json")) as f:
        sb = json.load(f)
    assert sb == {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": spec.get("lower", False)}
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cj = json.load(f)
    _, exp, _ = gb.st_read(os.path.join(d, "expected.safetensors"))
    for case in cj["cases"]:
        n, T = case["name"], case["length"]
        assert gb.st_to_float(exp[n + ".input_ids"]).tolist() == case["input_ids"]
        assert exp[n + ".token_embeddings"].shape == [T, CFG.hidden]
        s = gb.st_to_float(exp[n + ".sentence_embedding"])
        assert s.shape == (cj["sentence_embedding_dim"],) and np.isfinite(s).all()
        if spec["normalize"]:
            assert abs(float(np.linalg.norm(s.astype(np.float64))) - 1) < 1e-6
        if dense_w is None:     # re-pool the stored token embeddings
            h = gb.st_to_float(exp[n + ".token_embeddings"])
            p = np.concatenate([pool_one_f64(h, m) for m in spec["modes"]])
            if spec["normalize"]:
                p = p / max(np.linalg.norm(p), 1e-12)
            assert np.abs(p - s).max() < 1e-5, (n, np.abs(p - s).max())


def self_test_pooling():
    """st_pooling against the numpy definitions on random padded data, every
    mode and a concatenation of all six."""
    g = torch.Generator().manual_seed(7)
    lens = [5, 1, 3]
    x = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    mask = torch.tensor([[1 if t < n else 0 for t in range(5)] for n in lens])
    got = st_pooling(x, mask, MODES)
    for b, n in enumerate(lens):
        want = np.concatenate([pool_one_f64(x[b, :n].numpy(), m) for m in MODES])
        assert np.abs(got[b].numpy() - want).max() < 1e-12, b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: test/fixtures)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    self_test_pooling()

    total = 0
    for spec in SPECS:
        d, w, dense_w, tdir = build_fixture(args.out, spec)
        verify_fixture(d, spec, w, dense_w, tdir)
        size = 0
        for root, _, files in os.walk(d):
            for f in files:
                n = os.path.getsize(os.path.join(root, f))
                if n >= MAX_FILE_BYTES:
                    raise SystemExit(f"{os.path.join(root, f)} is over 1 MB")
                size += n
        total += size
        print(f"{spec['name']:16s} {size:8d} bytes  ok")
    print(f"total {total} bytes")
    if total >= MAX_TOTAL_BYTES:
        raise SystemExit("the st-* fixtures are over 1.5 MB in total")


if __name__ == "__main__":
    sys.exit(main())
