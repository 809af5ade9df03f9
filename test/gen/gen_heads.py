#!/usr/bin/python3
"""Reference generator for libcontextembed's task-head fixtures.

Writes small random-weight task checkpoints (BertFor*, RobertaFor*,
DistilBertFor*) in Hugging Face layout under test/fixtures/heads-<family>-<head>/
together with the last hidden state and the head logits that from-scratch
PyTorch implementations of Hugging Face's task heads (transformers 4.36, eval
mode, float32) compute for them.  Nothing here imports `transformers`,
`tokenizers` or `safetensors`.  The encoders are those of gen_bert.py (BERT,
re-written here only to take hidden_act) and gen_encoders.py (RoBERTa,
DistilBERT); every head is written out twice, by hand and from torch.nn
modules, and the two are compared in float64.  Deliberately broken heads
(no activation, the other activation, no pooler, swapped QA columns, ...)
are shown to move the logits.

Run from anywhere:  /usr/bin/python3 test/gen/gen_heads.py
See test/gen/README.md for what each fixture is for.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True    # keep __pycache__ out of the source tree
import gen_bert as gb       # noqa: E402  (safetensors, WordPiece, BERT weights and config)
import gen_encoders as ge   # noqa: E402  (RoBERTa / DistilBERT weights, forward passes, tokenizers)
import gen_gpt2 as gg       # noqa: E402  (split_special, load_gpt2_vocab)

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
TOL = 1e-4                       # what the C test allows
MIN_SENSITIVITY = 10 * TOL       # every broken head must move some logit by more than this
MIN_MARGIN = 1e-3                # argmax / top-5 gaps the C test relies on (10x its tolerance)
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 5 << 19        # 2.5 MB for all heads-* fixtures
DISTILBERT_LN_EPS = ge.DISTILBERT_LN_EPS

# short key -> (ce_head value, C enum name, what it is)
HEADS = {
    "mlm": (0, "CE_HEAD_MASKED_LM", "masked LM: [T, vocab]"),
    "nsp": (1, "CE_HEAD_NEXT_SENTENCE", "next sentence: [2], 0 = is_next"),
    "seqcls": (2, "CE_HEAD_SEQUENCE_CLASSIFICATION", "sequence classification: [labels]"),
    "tokcls": (3, "CE_HEAD_TOKEN_CLASSIFICATION", "token classification: [T, labels]"),
    "qa": (4, "CE_HEAD_QUESTION_ANSWERING", "question answering: [T, 2], 0 = start, 1 = end"),
}
PER_TOKEN = {"mlm", "tokcls", "qa"}

WP_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---------------------------------------------------------------------------
# Tokenizers: the ports of gen_bert.py / gen_encoders.py, plus special-token
# strings in the text (Hugging Face splits added tokens out first)
# ---------------------------------------------------------------------------

class WordPieceSpecials:
    """BertTokenizer(Fast) / DistilBertTokenizer(Fast), uncased: "[MASK]" and
    the other special strings in the text are added tokens (no lstrip/rstrip,
    not normalized), split out before the BasicTokenizer; the rest goes through
    gen_bert's WordPiece port.  [CLS] A [SEP] (B [SEP]); BERT's types are 0 / 1,
    DistilBERT takes none (recorded as 0)."""

    def __init__(self, vocab_list, with_types):
        self.full = gb.FullTokenizer(vocab_list, do_lower_case=True)
        self.vocab = self.full.vocab
        self.inv = {i: t for t, i in self.vocab.items()}
        self.with_types = with_types

    def tokenize(self, text):
        out = []
        for special, piece in gg.split_special(text, WP_SPECIALS):
            out.extend([piece] if special else self.full.tokenize(piece))
        return out

    def encode(self, text, pair=None):
        toks = ["[CLS]"] + self.tokenize(text) + ["[SEP]"]
        types = [0] * len(toks)
        if pair is not None:
            b = self.tokenize(pair) + ["[SEP]"]
            toks += b
            types += [1] * len(b)
        if not self.with_types:
            types = [0] * len(toks)
        return toks, [self.vocab[t] for t in toks], types


def self_test_tokenizer():
    vocab = gb.vocab_uncased()
    tok = WordPieceSpecials(vocab, True)
    toks, _, types = tok.encode("Hello[MASK] world", "[MASK]!")
    assert toks == ["[CLS]", "hello", "[MASK]", "world", "[SEP]", "[MASK]", "!", "[SEP]"], toks
    assert types == [0, 0, 0, 0, 0, 1, 1, 1]
    # lower-case "[mask]" is text, not the token (added tokens are matched un-normalized)
    assert "[MASK]" not in tok.tokenize("[mask]")


# ---------------------------------------------------------------------------
# Activations (transformers.activations.ACT2FN) and the BERT encoder with hidden_act
# ---------------------------------------------------------------------------

def _gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _gelu_tanh(x):     # NewGELUActivation ("gelu_new", also gelu_pytorch_tanh up to rounding)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTS = {"gelu": _gelu_erf, "gelu_new": _gelu_tanh, "relu": torch.relu}
NN_ACTS = {"gelu": lambda x: torch.nn.functional.gelu(x),
           "gelu_new": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
           "relu": torch.nn.functional.relu}
# gen_encoders' torch.nn check knows gelu and relu; the RoBERTa fixture with
# hidden_act gelu_new needs torch's own tanh GELU there too (runtime only).
ge.NN_ACTS.setdefault("gelu_new", NN_ACTS["gelu_new"])


def bert_forward(W, cfg, act, ids, types, mask, dtype=torch.float32):
    """gen_bert.bert_forward with the FFN activation taken from hidden_act.
    Returns hidden states [L+1, B, T, D] and the pooler output [B, D] (or None)."""
    W = {k: v.to(dtype) for k, v in W.items()}
    B, T = ids.shape
    x = (W["embeddings.word_embeddings.weight"][ids] + W["embeddings.token_type_embeddings.weight"][types]
         + W["embeddings.position_embeddings.weight"][torch.arange(T)][None])
    x = ge._ln(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], cfg.eps)
    add_mask = (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min
    states, H, hd, f = [x], cfg.heads, cfg.head_dim, ACTS[act]
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."

        def heads(t):
            return t.view(B, T, H, hd).permute(0, 2, 1, 3)
        q = heads(ge._linear(x, W[p + "attention.self.query.weight"], W[p + "attention.self.query.bias"]))
        k = heads(ge._linear(x, W[p + "attention.self.key.weight"], W[p + "attention.self.key.bias"]))
        v = heads(ge._linear(x, W[p + "attention.self.value.weight"], W[p + "attention.self.value.bias"]))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + add_mask
        ctx = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(B, T, H * hd)
        a = ge._linear(ctx, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
        a = ge._ln(a + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"],
                   cfg.eps)
        h = f(ge._linear(a, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]))
        h = ge._linear(h, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = ge._ln(h + a, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], cfg.eps)
        states.append(x)
    pooled = None
    if "pooler.dense.weight" in W:
        pooled = torch.tanh(ge._linear(x[:, 0], W["pooler.dense.weight"], W["pooler.dense.bias"]))
    return torch.stack(states), pooled


def bert_nn_forward(W, cfg, act, ids, types, mask):
    """The same BERT from torch.nn modules in float64 (post-norm
    TransformerEncoderLayer, torch's own GELU), as gen_bert.torch_nn_forward
    but with the activation of hidden_act."""
    dt = torch.float64
    W = {k: v.to(dt) for k, v in W.items()}
    emb = torch.nn.functional.embedding
    x = (emb(ids, W["embeddings.word_embeddings.weight"]) + emb(types, W["embeddings.token_type_embeddings.weight"])
         + emb(torch.arange(ids.shape[1])[None], W["embeddings.position_embeddings.weight"]))
    ln = torch.nn.LayerNorm(cfg.hidden, eps=cfg.eps).to(dt)
    ln.weight.data, ln.bias.data = W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"]
    x = ln(x)
    states = [x]
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."
        layer = torch.nn.TransformerEncoderLayer(
            cfg.hidden, cfg.heads, dim_feedforward=cfg.intermediate, dropout=0.0, activation=NN_ACTS[act],
            layer_norm_eps=cfg.eps, batch_first=True, norm_first=False).to(dt).eval()
        sa = layer.self_attn
        sa.in_proj_weight.data = torch.cat([W[p + f"attention.self.{m}.weight"] for m in ("query", "key", "value")])
        sa.in_proj_bias.data = torch.cat([W[p + f"attention.self.{m}.bias"] for m in ("query", "key", "value")])
        sa.out_proj.weight.data = W[p + "attention.output.dense.weight"]
        sa.out_proj.bias.data = W[p + "attention.output.dense.bias"]
        layer.norm1.weight.data = W[p + "attention.output.LayerNorm.weight"]
        layer.norm1.bias.data = W[p + "attention.output.LayerNorm.bias"]
        layer.linear1.weight.data = W[p + "intermediate.dense.weight"]
        layer.linear1.bias.data = W[p + "intermediate.dense.bias"]
        layer.linear2.weight.data = W[p + "output.dense.weight"]
        layer.linear2.bias.data = W[p + "output.dense.bias"]
        layer.norm2.weight.data = W[p + "output.LayerNorm.weight"]
        layer.norm2.bias.data = W[p + "output.LayerNorm.bias"]
        x = layer(x, src_key_padding_mask=(mask == 0))
        states.append(x)
    return torch.stack(states)


def self_test_bert_forward():
    """With hidden_act gelu, bert_forward must be gen_bert's own forward, bit for bit."""
    cfg = gb.Cfg(layers=2, hidden=32, heads=4, intermediate=64, max_pos=16, type_vocab=2, eps=1e-12)
    w = gb.make_weights(cfg, 50, 99, True)
    ids = torch.tensor([[12, 20, 30, 13, 0], [12, 21, 13, 22, 13]])
    types = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    with torch.no_grad():
        a, pa = bert_forward(w, cfg, "gelu", ids, types, mask)
        b, pb = gb.bert_forward(w, cfg, ids, types, mask)
        c, _ = bert_forward(w, cfg, "gelu_new", ids, types, mask)
    assert torch.equal(a, b) and torch.equal(pa, pb)
    assert (a - c).abs().max() > 1e-4      # the activation is really used


# ---------------------------------------------------------------------------
# Families: configuration, encoder weights, forward
# ---------------------------------------------------------------------------

D, LAYERS, NHEADS, FFN = 32, 2, 4, 64
MAX_POS = 32                     # longest input (special tokens included) of every fixture


class Model:
    """Everything about one checkpoint the reference needs: family, config
    values, the encoder weights (names without prefix) and the head tensors
    (full names), float32 as stored."""

    def __init__(self, family, cfg, act, enc, head, pooler):
        self.family, self.cfg, self.act = family, cfg, act
        self.enc, self.head, self.pooler = enc, head, pooler

    @property
    def eps(self):
        return self.cfg.eps if self.family != "distilbert" else DISTILBERT_LN_EPS

    @property
    def pad(self):
        return 1 if self.family == "roberta" else 0

    @property
    def word(self):
        return self.enc["embeddings.word_embeddings.weight"]


def family_cfg(family, vocab_size, act, eps):
    if family == "bert":
        return gb.Cfg(layers=LAYERS, hidden=D, heads=NHEADS, intermediate=FFN, max_pos=MAX_POS, type_vocab=2,
                      eps=eps)
    if family == "roberta":     # positions start after padding_idx 1: MAX_POS tokens fit
        return ge.Cfg("roberta", LAYERS, D, NHEADS, FFN, MAX_POS + 2, vocab_size, eps, act=act, pad=1,
                      type_vocab=1)
    return ge.Cfg("distilbert", LAYERS, D, NHEADS, FFN, MAX_POS, vocab_size, DISTILBERT_LN_EPS, act=act, pad=0,
                  sinusoidal=False)


def max_tokens(m):
    return m.cfg.max_pos - 2 if m.family == "roberta" else m.cfg.max_pos


def encode_batch(m, seqs, dtype=torch.float32):
    """Run [(ids, types), ...] together, right-padded with the pad id (type 0,
    attention mask 0).  Returns last hidden states [B, T, D], pooler [B, D] or
    None, and the padded tensors."""
    T = max(len(s[0]) for s in seqs)
    ids = torch.full((len(seqs), T), m.pad, dtype=torch.long)
    types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
    for b, (i, t) in enumerate(seqs):
        ids[b, :len(i)], types[b, :len(t)], mask[b, :len(i)] = torch.tensor(i), torch.tensor(t), 1
    with torch.no_grad():
        if m.family == "bert":
            hs, pooled = bert_forward(m.enc, m.cfg, m.act, ids, types, mask, dtype)
        else:
            hs, pooled = ge.forward(m.enc, m.cfg, ids, mask, dtype)
    return hs[-1], pooled, (ids, types, mask)


def encode_nn(m, padded):
    """Last hidden state and pooler from the torch.nn assembly, float64."""
    ids, types, mask = padded
    with torch.no_grad():
        if m.family == "bert":
            hs = bert_nn_forward(m.enc, m.cfg, m.act, ids, types, mask)
        else:
            hs = ge.torch_nn_forward(m.enc, m.cfg, ids, mask)
        h = hs[-1]
        pooled = None
        if m.pooler:
            lin = torch.nn.Linear(D, D).double()
            lin.weight.data = m.enc["pooler.dense.weight"].double()
            lin.bias.data = m.enc["pooler.dense.bias"].double()
            pooled = torch.nn.Tanh()(lin(h[:, 0]))
    return h, pooled


# ---------------------------------------------------------------------------
# The heads, written out by hand (float32 as HF, or float64)
# ---------------------------------------------------------------------------

MLM_NAMES = {   # dense, layer norm, bias of the tied decoder
    "bert": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias"),
    "roberta": ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias"),
    "distilbert": ("vocab_transform", "vocab_layer_norm", "vocab_projector.bias"),
}


def mlm_activation(m):
    """BertPredictionHeadTransform: ACT2FN[hidden_act]; RobertaLMHead: gelu
    (erf) whatever the config says; DistilBertForMaskedLM: get_activation(activation)."""
    return "gelu" if m.family == "roberta" else m.act


def heads_manual(m, heads, h, pooled, dtype, variant=None):
    """Logits of every head in `heads` for hidden states h [B, T, D] and the
    pooler output [B, D].  `variant` names a deliberate mistake (sensitivity)."""
    W = {k: v.to(dtype) for k, v in m.head.items()}
    word = m.word.to(dtype)
    lin = ge._linear
    out = {}
    for head in heads:
        if head == "mlm":
            dense, norm, bias = MLM_NAMES[m.family]
            act = mlm_activation(m)
            if variant == "mlm_other_activation":
                act = {"gelu": "gelu_new", "gelu_new": "gelu", "relu": "gelu"}[act]
            if variant == "mlm_activation_from_config":
                act = m.act
            eps = m.eps
            if variant == "mlm_eps_other":
                eps = 1e-12 if eps != 1e-12 else 1e-5
            x = lin(h, W[dense + ".weight"], W[dense + ".bias"])
            if variant != "mlm_no_activation":
                x = ACTS[act](x)
            if variant != "mlm_no_layer_norm":
                x = ge._ln(x, W[norm + ".weight"], W[norm + ".bias"], eps)
            x = x @ word.t()
            out["mlm"] = x if variant == "mlm_no_bias" else x + W[bias]
        elif head == "nsp":
            src = h[:, 0] if variant == "no_pooler" else pooled
            out["nsp"] = lin(src, W["cls.seq_relationship.weight"], W["cls.seq_relationship.bias"])
        elif head == "seqcls" and m.family == "bert":
            src = pooled
            if variant == "no_pooler":
                src = h[:, 0]
            elif variant == "pooler_no_tanh":
                src = lin(h[:, 0], m.enc["pooler.dense.weight"].to(dtype), m.enc["pooler.dense.bias"].to(dtype))
            out["seqcls"] = lin(src, W["classifier.weight"], W["classifier.bias"])
        elif head == "seqcls" and m.family == "roberta":
            x = h[:, -1] if variant == "last_token" else h[:, 0]
            x = lin(x, W["classifier.dense.weight"], W["classifier.dense.bias"])
            x = {"no_tanh": x, "relu_for_tanh": torch.relu(x)}.get(variant, torch.tanh(x))
            out["seqcls"] = lin(x, W["classifier.out_proj.weight"], W["classifier.out_proj.bias"])
        elif head == "seqcls":      # distilbert
            x = h[:, -1] if variant == "last_token" else h[:, 0]
            x = lin(x, W["pre_classifier.weight"], W["pre_classifier.bias"])
            x = {"no_relu": x, "tanh_for_relu": torch.tanh(x)}.get(variant, torch.relu(x))
            out["seqcls"] = lin(x, W["classifier.weight"], W["classifier.bias"])
        elif head == "tokcls":
            out["tokcls"] = lin(h, W["classifier.weight"], W["classifier.bias"])
        elif head == "qa":
            x = lin(h, W["qa_outputs.weight"], W["qa_outputs.bias"])
            out["qa"] = x.flip(-1) if variant == "qa_swapped_columns" else x
    return out


def heads_nn(m, heads, h, pooled):
    """The same heads from torch.nn modules in float64 (nn.Linear, nn.LayerNorm,
    torch's own GELU / ReLU / Tanh), for the check of heads_manual."""
    dt = torch.float64

    def linear(name):
        w = m.head[name + ".weight"]
        mod = torch.nn.Linear(w.shape[1], w.shape[0]).to(dt)
        mod.weight.data, mod.bias.data = w.to(dt), m.head[name + ".bias"].to(dt)
        return mod

    out = {}
    with torch.no_grad():
        for head in heads:
            if head == "mlm":
                dense, norm, bias = MLM_NAMES[m.family]
                ln = torch.nn.LayerNorm(D, eps=m.eps).to(dt)
                ln.weight.data, ln.bias.data = m.head[norm + ".weight"].to(dt), m.head[norm + ".bias"].to(dt)
                dec = torch.nn.Linear(D, m.word.shape[0]).to(dt)      # tied: decoder.weight is the embedding
                dec.weight.data, dec.bias.data = m.word.to(dt), m.head[bias].to(dt)
                out["mlm"] = dec(ln(NN_ACTS[mlm_activation(m)](linear(dense)(h))))
            elif head == "nsp":
                out["nsp"] = linear("cls.seq_relationship")(pooled)
            elif head == "seqcls" and m.family == "bert":
                out["seqcls"] = linear("classifier")(pooled)
            elif head == "seqcls" and m.family == "roberta":
                out["seqcls"] = linear("classifier.out_proj")(torch.nn.Tanh()(linear("classifier.dense")(h[:, 0])))
            elif head == "seqcls":
                out["seqcls"] = linear("classifier")(torch.nn.ReLU()(linear("pre_classifier")(h[:, 0])))
            elif head == "tokcls":
                out["tokcls"] = linear("classifier")(h)
            elif head == "qa":
                start, end = linear("qa_outputs")(h).split(1, dim=-1)      # as HF splits them
                out["qa"] = torch.cat([start, end], dim=-1)
    return out


SENSITIVITY = {   # head -> mistakes that must each move its logits by more than MIN_SENSITIVITY
    "mlm": ["mlm_no_activation", "mlm_other_activation", "mlm_no_layer_norm", "mlm_no_bias"],
    "nsp": ["no_pooler"],
    "seqcls": {"bert": ["no_pooler", "pooler_no_tanh"],
               "roberta": ["no_tanh", "relu_for_tanh", "last_token"],
               "distilbert": ["no_relu", "tanh_for_relu", "last_token"]},
    "tokcls": [],
    "qa": ["qa_swapped_columns"],
}
# recorded, not required: an epsilon only matters where the variance is small
OPTIONAL_SENSITIVITY = {"mlm": ["mlm_eps_other", "mlm_activation_from_config"]}


# ---------------------------------------------------------------------------
# Head weights (large standard deviations, as the other generators use)
# ---------------------------------------------------------------------------

def make_head_weights(family, heads, vocab_size, n_labels, seed, mlm_dense_std):
    normal = ge._normal(torch.Generator().manual_seed(seed))
    w = {}
    for head in heads:
        if head == "mlm":
            dense, norm, bias = MLM_NAMES[family]
            w[dense + ".weight"] = normal((D, D), mlm_dense_std)
            w[dense + ".bias"] = normal((D,), mlm_dense_std / 3)
            w[norm + ".weight"] = normal((D,), 0.1, 1.0)
            w[norm + ".bias"] = normal((D,), 0.1)
            w[bias] = normal((vocab_size,), 0.5)
        elif head == "nsp":
            w["cls.seq_relationship.weight"] = normal((2, D), 0.5)
            w["cls.seq_relationship.bias"] = normal((2,), 0.1)
        elif head == "seqcls" and family == "roberta":
            w["classifier.dense.weight"] = normal((D, D), 0.3)
            w["classifier.dense.bias"] = normal((D,), 0.1)
            w["classifier.out_proj.weight"] = normal((n_labels, D), 0.5)
            w["classifier.out_proj.bias"] = normal((n_labels,), 0.1)
        elif head == "seqcls" and family == "distilbert":
            w["pre_classifier.weight"] = normal((D, D), 0.3)
            w["pre_classifier.bias"] = normal((D,), 0.1)
            w["classifier.weight"] = normal((n_labels, D), 0.5)
            w["classifier.bias"] = normal((n_labels,), 0.1)
        elif head in ("seqcls", "tokcls"):
            w["classifier.weight"] = normal((n_labels, D), 0.5)
            w["classifier.bias"] = normal((n_labels,), 0.1)
        elif head == "qa":
            w["qa_outputs.weight"] = normal((2, D), 0.5)
            w["qa_outputs.bias"] = normal((2,), 0.1)
    return w


def detect_heads(family, names, prefix):
    """Which heads a checkpoint has, from its tensor names alone (what a loader does).
    BERT: classifier.* on a model with a pooler is sequence classification,
    without one token classification (add_pooling_layer=False).  RoBERTa:
    classifier.dense + classifier.out_proj vs a plain classifier.  DistilBERT:
    pre_classifier + classifier vs a plain classifier."""
    heads = []
    if MLM_NAMES[family][2] in names:
        heads.append("mlm")
    if "cls.seq_relationship.weight" in names:
        heads.append("nsp")
    if family == "bert" and "classifier.weight" in names:
        heads.append("seqcls" if prefix + "pooler.dense.weight" in names else "tokcls")
    if family == "roberta":
        if "classifier.out_proj.weight" in names:
            heads.append("seqcls")
        elif "classifier.weight" in names:
            heads.append("tokcls")
    if family == "distilbert" and "classifier.weight" in names:
        heads.append("seqcls" if "pre_classifier.weight" in names else "tokcls")
    if "qa_outputs.weight" in names:
        heads.append("qa")
    return heads


def head_rows(family, head, tensors):
    if head == "mlm":
        return tensors[MLM_NAMES[family][2]].shape[0]
    if head in ("nsp", "qa"):
        return 2
    if head == "seqcls" and family == "roberta":
        return tensors["classifier.out_proj.weight"].shape[0]
    return tensors["classifier.weight"].shape[0]


def labels_of(config, head, rows):
    """What ce_model_head_label gives: id2label (as many as rows), else
    LABEL_i (PretrainedConfig's default names); NSP is_next / not_next unless the
    config names them; QA start / end; none for the masked LM."""
    id2label = config.get("id2label")
    if head == "mlm":
        return None
    if head == "qa":
        return ["start", "end"]
    if head == "nsp" and not id2label:
        return ["is_next", "not_next"]
    if id2label:
        assert sorted(id2label, key=int) == [str(i) for i in range(rows)], (id2label, rows)
        return [id2label[str(i)] for i in range(rows)]
    return [f"LABEL_{i}" for i in range(rows)]


# ---------------------------------------------------------------------------
# The fixtures
# ---------------------------------------------------------------------------

HF_CLASS = {
    ("bert", ("mlm",)): "BertForMaskedLM", ("bert", ("mlm", "nsp")): "BertForPreTraining",
    ("bert", ("nsp",)): "BertForNextSentencePrediction", ("bert", ("seqcls",)): "BertForSequenceClassification",
    ("bert", ("tokcls",)): "BertForTokenClassification", ("bert", ("qa",)): "BertForQuestionAnswering",
    ("roberta", ("mlm",)): "RobertaForMaskedLM", ("roberta", ("seqcls",)): "RobertaForSequenceClassification",
    ("roberta", ("tokcls",)): "RobertaForTokenClassification", ("roberta", ("qa",)): "RobertaForQuestionAnswering",
    ("distilbert", ("mlm",)): "DistilBertForMaskedLM",
    ("distilbert", ("seqcls",)): "DistilBertForSequenceClassification",
    ("distilbert", ("tokcls",)): "DistilBertForTokenClassification",
    ("distilbert", ("qa",)): "DistilBertForQuestionAnswering",
}

SEQCLS_TEXTS_WP = ["I love this tea!", "The water was hot, and the cafe owner was lazy.",
                   ("Where is Berlin?", "Berlin is a city in Germany."), "No."]
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

SPECS = [
    {"name": "heads-bert-mlm", "family": "bert", "heads": ("mlm",), "seed": 7111, "act": "gelu", "eps": 1e-5,
     "mlm_dense_std": 0.003, "sensitivity_required": ["mlm_eps_other"],
     "sensitivity_not_required": ["mlm_other_activation"],
     "purpose": "BertForMaskedLM: bert. encoder without pooler + cls.predictions.{transform.dense, "
                "transform.LayerNorm, bias}, decoder tied to the word embeddings (not stored); layer_norm_eps "
                "1e-5 and a transform.dense so small that the head's LayerNorm epsilon matters",
     "texts": ["The quick brown [MASK] jumps over the lazy dog.", "Hello [MASK]! Where is the [MASK] of Germany?",
               ("Where is Munich?", "It is in [MASK]."), "[MASK]"]},
    {"name": "heads-bert-pretraining", "family": "bert", "heads": ("mlm", "nsp"), "seed": 7202, "act": "gelu_new",
     "eps": 1e-12, "mlm_dense_std": 0.3,
     "purpose": "BertForPreTraining: bert. encoder with pooler + cls.predictions.* (MLM) + cls.seq_relationship "
                "(NSP on the pooler output); hidden_act gelu_new, which the MLM transform uses too",
     "texts": [("How old are you?", "I am six [MASK] old."), ("The dog [MASK] over the fox.", "Berlin is a city."),
               "Hello [MASK] world."]},
    {"name": "heads-bert-nsp", "family": "bert", "heads": ("nsp",), "seed": 7303, "act": "gelu", "eps": 1e-12,
     "purpose": "BertForNextSentencePrediction: bert. encoder with pooler + cls.seq_relationship; no id2label "
                "(labels is_next / not_next)",
     "texts": [("How old are you?", "I am six years old."), ("Where is Munich?", "The lazy dog jumps."),
               ("Hello world!", "Hello world!"), "One text alone."]},
    {"name": "heads-bert-seqcls", "family": "bert", "heads": ("seqcls",), "seed": 7404, "act": "gelu",
     "eps": 1e-12, "labels": ["negative", "neutral", "positive"],
     "purpose": "BertForSequenceClassification: bert. encoder WITH pooler + classifier (3 labels, id2label / "
                "label2id in config.json)", "texts": SEQCLS_TEXTS_WP},
    {"name": "heads-bert-seqcls-multilabel", "family": "bert", "heads": ("seqcls",), "seed": 7505, "act": "gelu",
     "eps": 1e-12, "labels": ["sports", "politics", "science", "music"], "problem_type": "multi_label_classification",
     "purpose": "BertForSequenceClassification with problem_type multi_label_classification (4 independent "
                "labels: CE_INFO_MULTI_LABEL 1)", "texts": SEQCLS_TEXTS_WP},
    {"name": "heads-bert-seqcls-nolabels", "family": "bert", "heads": ("seqcls",), "seed": 7606, "act": "gelu",
     "eps": 1e-12, "labels": None, "n_labels": 2,
     "purpose": "BertForSequenceClassification with 2 labels and no id2label / label2id in config.json (what "
                "transformers writes when the labels keep their default names): LABEL_0, LABEL_1",
     "texts": SEQCLS_TEXTS_WP},
    {"name": "heads-bert-tokcls", "family": "bert", "heads": ("tokcls",), "seed": 7707, "act": "gelu", "eps": 1e-12,
     "labels": NER_LABELS,
     "purpose": "BertForTokenClassification: bert. encoder WITHOUT pooler (add_pooling_layer=False) + classifier "
                "on every token (5 BIO labels)",
     "texts": ["Anne lives in Berlin, Germany.", "The owner of the cafe in Munich is Ann.", "Hello world"]},
    {"name": "heads-bert-qa", "family": "bert", "heads": ("qa",), "seed": 7808, "act": "gelu", "eps": 1e-12,
     "purpose": "BertForQuestionAnswering: bert. encoder without pooler + qa_outputs (column 0 start, 1 end)",
     "texts": [("Where is Munich?", "Munich is a city in Germany. Berlin is not."),
               ("How old is the dog?", "The dog is six years old."), "Who?"]},

    {"name": "heads-roberta-mlm", "family": "roberta", "heads": ("mlm",), "seed": 8101, "act": "gelu_new",
     "eps": 1e-5, "tokenizer_json": True, "mlm_dense_std": 0.3,
     "purpose": "RobertaForMaskedLM: roberta. encoder without pooler + lm_head.{dense, layer_norm, bias}, decoder "
                "tied; hidden_act gelu_new for the encoder while lm_head always uses erf gelu",
     "texts": ["Paris is <mask>.", "Hello <mask> world, the quick<mask> fox.", ("How old?", "I am <mask>.")]},
    {"name": "heads-roberta-seqcls", "family": "roberta", "heads": ("seqcls",), "seed": 8202, "act": "gelu",
     "eps": 1e-5, "tokenizer_json": True, "labels": ["contradiction", "neutral", "entailment"],
     "purpose": "RobertaForSequenceClassification: roberta. encoder without pooler + classifier.dense, tanh on "
                "<s>, classifier.out_proj (3 labels)",
     "texts": [("A man plays a guitar.", "Someone plays music."), ("It rains.", "The sun is out."),
               "Good morning!"]},
    {"name": "heads-roberta-tokcls", "family": "roberta", "heads": ("tokcls",), "seed": 8303, "act": "gelu",
     "eps": 1e-5, "tokenizer_json": False, "labels": ["O", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"],
     "purpose": "RobertaForTokenClassification: roberta. encoder + classifier on every token (7 labels); "
                "tokenizer from vocab.json + merges.txt only",
     "texts": ["Ann works at the Zürich café.", "Where is the station?"]},
    {"name": "heads-roberta-qa", "family": "roberta", "heads": ("qa",), "seed": 8404, "act": "gelu", "eps": 1e-5,
     "tokenizer_json": False,
     "purpose": "RobertaForQuestionAnswering: roberta. encoder + qa_outputs; tokenizer from vocab.json + "
                "merges.txt only",
     "texts": [("Where is the station?", "The station is near the old bridge."), "Who?"]},

    {"name": "heads-distilbert-mlm", "family": "distilbert", "heads": ("mlm",), "seed": 9101, "act": "relu",
     "mlm_dense_std": 0.3,
     "purpose": "DistilBertForMaskedLM: distilbert. encoder + vocab_transform, activation (relu here), "
                "vocab_layer_norm (eps 1e-12), vocab_projector tied (only its bias stored)",
     "texts": ["The quick brown [MASK] jumps over the lazy dog.", ("Where is Munich?", "It is in [MASK]."),
               "Hello [MASK]!"]},
    {"name": "heads-distilbert-seqcls", "family": "distilbert", "heads": ("seqcls",), "seed": 9202, "act": "gelu",
     "labels": ["NEGATIVE", "POSITIVE"],
     "purpose": "DistilBertForSequenceClassification: distilbert. encoder + pre_classifier, ReLU on [CLS], "
                "classifier (2 labels with their own names, so id2label is written)",
     "texts": SEQCLS_TEXTS_WP},
    {"name": "heads-distilbert-tokcls", "family": "distilbert", "heads": ("tokcls",), "seed": 9303, "act": "gelu",
     "labels": NER_LABELS,
     "purpose": "DistilBertForTokenClassification: distilbert. encoder + classifier on every token (5 BIO labels)",
     "texts": ["Anne lives in Berlin, Germany.", "Hello world"]},
    {"name": "heads-distilbert-qa", "family": "distilbert", "heads": ("qa",), "seed": 9404, "act": "gelu",
     "purpose": "DistilBertForQuestionAnswering: distilbert. encoder + qa_outputs",
     "texts": [("Where is Munich?", "Munich is a city in Germany."), "Who?"]},
]

PREFIX = {"bert": "bert.", "roberta": "roberta.", "distilbert": "distilbert."}


def make_tokenizer(family, out_dir):
    if family == "roberta":
        vocab, merges = ge.roberta_vocab(300)
        return ge.RobertaBpe(vocab, merges), (vocab, merges)
    vocab_list = ge.load_wordpiece_vocab(os.path.join(out_dir, "bert-tiny-uncased", "vocab.txt"))
    assert vocab_list == gb.vocab_uncased(), "bert-tiny-uncased/vocab.txt is not gen_bert's uncased vocabulary"
    return WordPieceSpecials(vocab_list, family == "bert"), vocab_list


def n_labels_of(spec):
    if spec.get("labels"):
        return len(spec["labels"])
    return spec.get("n_labels", 2)


def make_config(spec, m, vocab_size):
    arch = HF_CLASS[(spec["family"], spec["heads"])]
    if m.family == "bert":
        conf = gb.hf_config(m.cfg, vocab_size, arch, "float32")
        conf["hidden_act"] = m.act
    elif m.family == "roberta":
        conf = ge.roberta_config(m.cfg, arch, "float32")
    else:
        conf = ge.distilbert_config(m.cfg, arch, "float32")
    # PretrainedConfig.to_diff_dict writes id2label / label2id only when they
    # differ from the default {0: LABEL_0, 1: LABEL_1}, problem_type when set.
    labels = spec.get("labels")
    if labels and labels != ["LABEL_0", "LABEL_1"]:
        conf["id2label"] = {str(i): l for i, l in enumerate(labels)}
        conf["label2id"] = {l: i for i, l in enumerate(labels)}
    if spec.get("problem_type"):
        conf["problem_type"] = spec["problem_type"]
    return conf


def case_record(name, tok, text, pair):
    toks, ids, types = tok.encode(text, pair)
    rec = {"name": name, "kind": "pair" if pair is not None else "text", "text": text}
    if pair is not None:
        rec["text_pair"] = pair
    rec.update(tokens=toks, input_ids=ids, token_type_ids=types, length=len(ids))
    return rec


def _gaps(values, k):
    """Indices of the k largest values (descending) and the smallest gap
    between consecutive ones among the k + 1 largest."""
    order = np.argsort(-values, kind="stable")
    top = values[order[:k + 1]]
    return order[:k].tolist(), float(np.min(top[:-1] - top[1:])) if len(top) > 1 else math.inf


def summarize(head, logits, rec, labels, mask_id, multi_label, inv):
    """What the C test checks besides the numbers: argmax / top-5, with margins."""
    x = logits.double().numpy()
    if head == "mlm":
        pos = [i for i, t in enumerate(rec["input_ids"]) if t == mask_id]
        top, gaps = [], []
        for p in pos:
            ids, gap = _gaps(x[p], 5)
            top.append(ids)
            gaps.append(gap)
        return {"mask_positions": pos, "top5_ids": top, "top5_tokens": [[inv[i] for i in t] for t in top],
                "min_gap": gb._r(min(gaps)) if gaps else None, "max_abs_logit": gb._r(np.abs(x).max())}
    if head in ("nsp", "seqcls"):
        (best,), gap = _gaps(x, 1)
        r = {"argmax": best, "label": labels[best], "margin": gb._r(gap)}
        if multi_label:
            r["positive"] = [i for i in range(len(x)) if x[i] > 0]
            r["positive_labels"] = [labels[i] for i in r["positive"]]
            r["min_abs_logit"] = gb._r(np.abs(x).min())
        return r
    if head == "tokcls":
        best, margins = [], []
        for row in x:
            (b,), g = _gaps(row, 1)
            best.append(b)
            margins.append(g)
        return {"argmax": best, "labels": [labels[b] for b in best], "min_margin": gb._r(min(margins))}
    (s,), gs = _gaps(x[:, 0], 1)
    (e,), ge_ = _gaps(x[:, 1], 1)
    return {"start_argmax": s, "end_argmax": e, "start_margin": gb._r(gs), "end_margin": gb._r(ge_)}


def min_margin(head, summ):
    if head == "mlm":
        return summ["min_gap"] if summ["min_gap"] is not None else math.inf
    if head in ("nsp", "seqcls"):
        return min(summ["margin"], summ.get("min_abs_logit", math.inf))
    if head == "tokcls":
        return summ["min_margin"]
    return min(summ["start_margin"], summ["end_margin"])


def build_fixture(out_dir, spec):
    name, family, heads = spec["name"], spec["family"], spec["heads"]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    tok, tok_data = make_tokenizer(family, out_dir)
    V = len(tok.vocab)
    act = spec["act"]
    cfg = family_cfg(family, V, act, spec.get("eps", DISTILBERT_LN_EPS))
    pooler = family == "bert" and bool({"nsp", "seqcls"} & set(heads))
    if family == "bert":
        enc = gb.make_weights(cfg, V, spec["seed"], pooler)
    elif family == "roberta":
        enc = ge.make_roberta_weights(cfg, spec["seed"], False)
    else:
        enc = ge.make_distilbert_weights(cfg, spec["seed"], tok.vocab["[CLS]"])
    C = n_labels_of(spec)
    head = make_head_weights(family, heads, V, C, spec["seed"] + 1, spec.get("mlm_dense_std", 0.3))
    m = Model(family, cfg, act, enc, head, pooler)
    prefix = PREFIX[family]

    tensors = {prefix + k: gb.st_from_torch(v, "F32") for k, v in enc.items()}
    tensors.update({k: gb.st_from_torch(v, "F32") for k, v in head.items()})
    gb.st_write(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    conf = make_config(spec, m, V)
    gb.write_json(os.path.join(d, "config.json"), conf)
    if family == "bert":
        gb.write_tokenizer_files(d, tok_data, True, cfg.max_pos)
    elif family == "roberta":
        ge.write_roberta_tokenizer(d, *tok_data, max_tokens(m), spec["tokenizer_json"])
    else:
        ge.write_distilbert_tokenizer(d, os.path.join(out_dir, "bert-tiny-uncased"), cfg.max_pos)

    labels = {h: labels_of(conf, h, head_rows(family, h, head)) for h in heads}
    mask_id = tok.vocab["<mask>" if family == "roberta" else "[MASK]"]
    multi = spec.get("problem_type") == "multi_label_classification"
    cases = [case_record(f"case{i}", tok, *(t if isinstance(t, tuple) else (t, None)))
             for i, t in enumerate(spec["texts"])]
    assert all(c["length"] <= max_tokens(m) for c in cases)
    if "mlm" in heads:
        assert sum(c["input_ids"].count(mask_id) for c in cases) >= 3

    noise = {"hidden_f32_vs_f64_max_abs": 0.0, "logits_f32_vs_f64_max_abs": 0.0,
             "hidden_f64_vs_torch_nn_max_abs": 0.0, "logits_f64_vs_torch_nn_max_abs": 0.0,
             "batched_vs_alone_max_abs": 0.0}
    expected, results, worst_margin = {}, [], math.inf
    for c in cases:
        seq = [(c["input_ids"], c["token_type_ids"])]
        h32, p32, padded = encode_batch(m, seq)
        h64, p64, _ = encode_batch(m, seq, torch.float64)
        hnn, pnn = encode_nn(m, padded)
        with torch.no_grad():
            l32 = heads_manual(m, heads, h32, p32, torch.float32)
            l64 = heads_manual(m, heads, h64, p64, torch.float64)
            lnn = heads_nn(m, heads, hnn, pnn)
        noise["hidden_f32_vs_f64_max_abs"] = max(noise["hidden_f32_vs_f64_max_abs"],
                                                 (h32.double() - h64).abs().max().item())
        noise["hidden_f64_vs_torch_nn_max_abs"] = max(noise["hidden_f64_vs_torch_nn_max_abs"],
                                                      (h64 - hnn).abs().max().item())
        for hd in heads:
            noise["logits_f32_vs_f64_max_abs"] = max(noise["logits_f32_vs_f64_max_abs"],
                                                     (l32[hd].double() - l64[hd]).abs().max().item())
            noise["logits_f64_vs_torch_nn_max_abs"] = max(noise["logits_f64_vs_torch_nn_max_abs"],
                                                          (l64[hd] - lnn[hd]).abs().max().item())
        expected[f"{c['name']}.input_ids"] = gb.st_from_torch(torch.tensor(c["input_ids"]), "I32")
        expected[f"{c['name']}.token_type_ids"] = gb.st_from_torch(torch.tensor(c["token_type_ids"]), "I32")
        expected[f"{c['name']}.hidden_states"] = gb.st_from_torch(h32[0], "F32")
        for hd in heads:
            lg = l32[hd][0]
            assert torch.isfinite(lg).all()
            expected[f"{c['name']}.{hd}_logits"] = gb.st_from_torch(lg, "F32")
            s32 = summarize(hd, lg, c, labels[hd], mask_id, multi, tok.inv)
            s64 = summarize(hd, l64[hd][0], c, labels[hd], mask_id, multi, tok.inv)
            for k in ("top5_ids", "argmax", "start_argmax", "end_argmax", "positive"):
                assert s32.get(k) == s64.get(k), (name, c["name"], hd, k)
            worst_margin = min(worst_margin, min_margin(hd, s32))
            c[hd] = s32
        results.append((h32[0], {hd: l32[hd][0] for hd in heads}))
    if noise["hidden_f64_vs_torch_nn_max_abs"] > 1e-9 or noise["logits_f64_vs_torch_nn_max_abs"] > 1e-9:
        raise SystemExit(f"{name}: float64 reference disagrees with torch.nn: {noise}")
    if noise["hidden_f32_vs_f64_max_abs"] > TOL or noise["logits_f32_vs_f64_max_abs"] > TOL:
        raise SystemExit(f"{name}: float32 reference differs from float64: {noise}")
    if worst_margin < MIN_MARGIN:
        raise SystemExit(f"{name}: an argmax / top-5 margin is {worst_margin} < {MIN_MARGIN}; "
                         "change the seed or the texts")

    # All cases together, right-padded: what a packed run must reproduce.
    h, p, _ = encode_batch(m, [(c["input_ids"], c["token_type_ids"]) for c in cases])
    with torch.no_grad():
        lb = heads_manual(m, heads, h, p, torch.float32)
    for b, (c, (h_alone, l_alone)) in enumerate(zip(cases, results)):
        T = c["length"]
        diff = (h[b, :T] - h_alone).abs().max().item()
        for hd in heads:
            got = lb[hd][b, :T] if hd in PER_TOKEN else lb[hd][b]
            diff = max(diff, (got - l_alone[hd]).abs().max().item())
        noise["batched_vs_alone_max_abs"] = max(noise["batched_vs_alone_max_abs"], diff)
    if noise["batched_vs_alone_max_abs"] > TOL:
        raise SystemExit(f"{name}: the padded batch differs from the runs alone: {noise}")

    sens = {}
    with torch.no_grad():
        for hd in heads:
            must = SENSITIVITY[hd] if isinstance(SENSITIVITY[hd], list) else SENSITIVITY[hd][family]
            every = must + OPTIONAL_SENSITIVITY.get(hd, [])
            must = [v for v in must + spec.get("sensitivity_required", [])
                    if v in every and v not in spec.get("sensitivity_not_required", [])]
            for v in every:
                if v == "mlm_activation_from_config" and mlm_activation(m) == m.act:
                    continue
                diff = 0.0
                for c, (_, l_alone) in zip(cases, results):
                    h32, p32, _ = encode_batch(m, [(c["input_ids"], c["token_type_ids"])])
                    diff = max(diff, (heads_manual(m, [hd], h32, p32, torch.float32, v)[hd][0]
                                      - l_alone[hd]).abs().max().item())
                if v in must and not diff > MIN_SENSITIVITY:
                    raise SystemExit(f"{name}: broken head {v} moves the logits only by {diff}")
                sens[v] = gb._r(diff)

    gb.st_write(os.path.join(d, "expected.safetensors"), expected, {"format": "pt"})
    special_names = (ge.ROBERTA_SPECIALS + [ge.MASK]) if family == "roberta" else WP_SPECIALS
    head_tensor_names = {hd: sorted(n for n in head if n in make_head_weights(family, [hd], V, C, 0, 1.0))
                         for hd in heads}
    if pooler:
        for hd in ("nsp", "seqcls"):
            if hd in heads:
                head_tensor_names[hd] = [prefix + "pooler.dense.bias", prefix + "pooler.dense.weight"] + \
                    head_tensor_names[hd]
    doc = {
        "fixture": name,
        "purpose": spec["purpose"],
        "generator": "test/gen/gen_heads.py (from-scratch PyTorch heads of transformers 4.36, eval mode, float32)",
        "family": family,
        "architecture": conf["architectures"][0],
        "weights_dtype": "F32",
        "tensor_prefix": prefix,
        "model": {"family": family, "layers": LAYERS, "hidden": D, "heads": NHEADS, "intermediate": FFN,
                  "vocab_size": V, "max_tokens": max_tokens(m), "activation": act, "layer_norm_eps": m.eps,
                  "pooler": pooler},
        "heads": list(heads),
        "ce_info_heads": sum(1 << HEADS[hd][0] for hd in heads),
        "multi_label": int(multi),
        "config_has_id2label": "id2label" in conf,
        "head_size": {hd: head_rows(family, hd, head) for hd in heads},
        "labels": {hd: labels[hd] for hd in heads if labels[hd] is not None},
        "head_tensors": head_tensor_names,
        "definitions": {hd: DEFINITIONS[(family, hd)].format(act=mlm_activation(m), eps=m.eps) for hd in heads},
        "expected": "expected.safetensors: <case>.input_ids I32 [T], <case>.token_type_ids I32 [T], "
                    "<case>.hidden_states F32 [T, hidden] (last layer), <case>.<head>_logits F32: "
                    "mlm [T, vocab], nsp [2], seqcls [labels], tokcls [T, labels], qa [T, 2]",
        "tokenizer": {"special_ids": {t: tok.vocab[t] for t in special_names},
                      "template": ("<s> A </s> / <s> A </s></s> B </s>, types 0" if family == "roberta" else
                                   "[CLS] A [SEP] (B [SEP]), types " + ("0 / 1" if family == "bert" else
                                                                       "recorded as 0 (the model takes none)")),
                      "mask_token_id": mask_id},
        "noise": {k: gb._r(v) for k, v in noise.items()} | {"min_argmax_or_top5_margin": gb._r(worst_margin),
                                                            "suggested_tolerance_abs": TOL},
        "sensitivity_max_abs_logit_change": sens,
        "cases": cases,
    }
    gb.write_readable_json(os.path.join(d, "cases.json"), doc)
    return d, m, conf


DEFINITIONS = {
    ("bert", "mlm"): "cls.predictions.bias + transform.LayerNorm_{eps}({act}(transform.dense(h))) @ "
                     "word_embeddings^T, every token",
    ("roberta", "mlm"): "lm_head.bias + lm_head.layer_norm_{eps}(gelu_erf(lm_head.dense(h))) @ word_embeddings^T, "
                        "every token",
    ("distilbert", "mlm"): "vocab_projector.bias + vocab_layer_norm_{eps}({act}(vocab_transform(h))) @ "
                           "word_embeddings^T, every token",
    ("bert", "nsp"): "cls.seq_relationship(tanh(pooler.dense(h[0])))",
    ("bert", "seqcls"): "classifier(tanh(pooler.dense(h[0])))",
    ("roberta", "seqcls"): "classifier.out_proj(tanh(classifier.dense(h[0])))",
    ("distilbert", "seqcls"): "classifier(relu(pre_classifier(h[0])))",
    ("bert", "tokcls"): "classifier(h), every token", ("roberta", "tokcls"): "classifier(h), every token",
    ("distilbert", "tokcls"): "classifier(h), every token",
    ("bert", "qa"): "qa_outputs(h), every token; column 0 start, 1 end",
    ("roberta", "qa"): "qa_outputs(h), every token; column 0 start, 1 end",
    ("distilbert", "qa"): "qa_outputs(h), every token; column 0 start, 1 end",
}


# ---------------------------------------------------------------------------
# Verification of what was written, as a loader would read it
# ---------------------------------------------------------------------------

def load_fixture(d):
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    _, ts, order = gb.st_read(os.path.join(d, "model.safetensors"))
    assert order == sorted(ts, key=lambda n: (-gb.ST_DTYPE_RANK.index(ts[n].dtype), n.encode()))
    family = c["model_type"]
    prefix = PREFIX[family]
    assert prefix + "embeddings.word_embeddings.weight" in ts
    if family == "bert":
        cfg = gb.Cfg(layers=c["num_hidden_layers"], hidden=c["hidden_size"], heads=c["num_attention_heads"],
                     intermediate=c["intermediate_size"], max_pos=c["max_position_embeddings"],
                     type_vocab=c["type_vocab_size"], eps=c["layer_norm_eps"])
        act = c["hidden_act"]
    elif family == "roberta":
        cfg = ge.Cfg("roberta", c["num_hidden_layers"], c["hidden_size"], c["num_attention_heads"],
                     c["intermediate_size"], c["max_position_embeddings"], c["vocab_size"], c["layer_norm_eps"],
                     act=c["hidden_act"], pad=c["pad_token_id"], type_vocab=c["type_vocab_size"])
        act = c["hidden_act"]
    else:
        cfg = ge.Cfg("distilbert", c["n_layers"], c["dim"], c["n_heads"], c["hidden_dim"],
                     c["max_position_embeddings"], c["vocab_size"], DISTILBERT_LN_EPS, act=c["activation"],
                     pad=c["pad_token_id"], sinusoidal=c["sinusoidal_pos_embds"])
        act = c["activation"]
    enc, head = {}, {}
    for n, t in ts.items():
        assert t.dtype == "F32", n
        if n.startswith(prefix):
            enc[n[len(prefix):]] = torch.from_numpy(gb.st_to_float(t))
        else:
            head[n] = torch.from_numpy(gb.st_to_float(t))
    heads = detect_heads(family, set(ts), prefix)
    return c, Model(family, cfg, act, enc, head, "pooler.dense.weight" in enc), heads


def verify_fixture(d, spec, m_built, conf_built, out_dir):
    conf, m, heads = load_fixture(d)
    assert conf == conf_built
    assert tuple(heads) == spec["heads"], (d, heads)
    assert HF_CLASS[(m.family, tuple(heads))] == conf["architectures"][0]
    assert m.cfg.__dict__ == m_built.cfg.__dict__ and m.act == m_built.act and m.pooler == m_built.pooler
    for src, got in ((m_built.enc, m.enc), (m_built.head, m.head)):
        assert sorted(src) == sorted(got)
        for k in src:
            assert torch.equal(src[k], got[k]), f"{d}: {k} does not round-trip"
    # only the head tensors of the heads present are outside the prefix
    want_heads = {n for hd in heads for n in make_head_weights(m.family, [hd], 3, 3, 0, 1.0)}
    assert set(m.head) == want_heads, set(m.head) ^ want_heads
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cj = json.load(f)
    assert cj["heads"] == list(heads) and cj["multi_label"] == int(conf.get("problem_type") ==
                                                                    "multi_label_classification")
    for hd in heads:
        rows = head_rows(m.family, hd, m.head)
        assert cj["head_size"][hd] == rows
        assert cj["labels"].get(hd) == labels_of(conf, hd, rows)
        if conf.get("id2label"):
            assert {v: int(k) for k, v in conf["id2label"].items()} == conf["label2id"]

    # tokenizer from the files
    if m.family == "roberta":
        vocab, merges = gg.load_gpt2_vocab(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
        tok = ge.RobertaBpe(vocab, merges)
        assert os.path.exists(os.path.join(d, "tokenizer.json")) == spec["tokenizer_json"]
        if spec["tokenizer_json"]:
            tv, tm, _ = gg.read_tokenizer_json(os.path.join(d, "tokenizer.json"))
            assert tv == vocab and tm == merges
    else:
        tok = WordPieceSpecials(ge.load_wordpiece_vocab(os.path.join(d, "vocab.txt")), m.family == "bert")
        with open(os.path.join(out_dir, "bert-tiny-uncased", "vocab.txt"), "rb") as f1, \
                open(os.path.join(d, "vocab.txt"), "rb") as f2:
            assert f1.read() == f2.read()
    assert len(tok.vocab) == (conf["vocab_size"])

    _, exp, _ = gb.st_read(os.path.join(d, "expected.safetensors"))
    names = set()
    for c in cj["cases"]:
        n, T = c["name"], c["length"]
        names.add(n)
        toks, ids, types = tok.encode(c["text"], c.get("text_pair"))
        assert ids == c["input_ids"] and types == c["token_type_ids"] and toks == c["tokens"], n
        assert gb.st_to_float(exp[n + ".input_ids"]).tolist() == ids
        assert gb.st_to_float(exp[n + ".token_type_ids"]).tolist() == types
        h, p, _ = encode_batch(m, [(ids, types)])
        with torch.no_grad():
            lg = heads_manual(m, heads, h, p, torch.float32)
        hs = gb.st_to_float(exp[n + ".hidden_states"])
        assert hs.shape == (T, m.cfg.hidden) and np.abs(h[0].numpy() - hs).max() <= 1e-6
        for hd in heads:
            want = gb.st_to_float(exp[f"{n}.{hd}_logits"])
            size = cj["head_size"][hd]
            assert want.shape == ((T, size) if hd in PER_TOKEN else (size,)), (n, hd, want.shape)
            assert np.abs(lg[hd][0].numpy() - want).max() <= 1e-6, (n, hd)
            if hd == "mlm":
                for p_, top in zip(c["mlm"]["mask_positions"], c["mlm"]["top5_ids"]):
                    assert ids[p_] == cj["tokenizer"]["mask_token_id"]
                    assert list(np.argsort(-want[p_], kind="stable")[:5]) == top
            elif hd == "tokcls":
                assert list(want.argmax(-1)) == c[hd]["argmax"]
            elif hd == "qa":
                assert [int(want[:, 0].argmax()), int(want[:, 1].argmax())] == \
                    [c[hd]["start_argmax"], c[hd]["end_argmax"]]
            else:
                assert int(want.argmax()) == c[hd]["argmax"]
                assert cj["labels"][hd][c[hd]["argmax"]] == c[hd]["label"]
    assert {k.rsplit(".", 1)[0] for k in exp} == names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: test/fixtures)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    gb.self_test_codec()
    self_test_tokenizer()
    self_test_bert_forward()
    ge.self_test_position_ids()

    total = 0
    for spec in SPECS:
        d, m, conf = build_fixture(args.out, spec)
        verify_fixture(d, spec, m, conf, args.out)
        with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
            cj = json.load(f)
        size = 0
        for f in sorted(os.listdir(d)):
            s = os.path.getsize(os.path.join(d, f))
            size += s
            if s >= MAX_FILE_BYTES:
                raise SystemExit(f"{d}/{f} is over 1 MB")
        total += size
        print(f"{spec['name']}: {size} bytes; re-read and re-run ok; noise {cj['noise']}")
        print(f"  sensitivity {cj['sensitivity_max_abs_logit_change']}")
    print(f"total {total} bytes")
    if total >= MAX_TOTAL_BYTES:
        raise SystemExit("the heads-* fixtures are over 2.5 MB in total")


if __name__ == "__main__":
    sys.exit(main())
