#!/usr/bin/python3
"""Reference generator for libcontextembed's RoBERTa and DistilBERT test fixtures.

Writes four small random-weight checkpoints in Hugging Face layout under
test/fixtures/{roberta,distilbert}-tiny*/ together with the hidden states that
from-scratch PyTorch implementations of Hugging Face's `RobertaModel` and
`DistilBertModel` (eval mode, transformers 4.36) compute for them.  Nothing
here imports `transformers`, `tokenizers` or `safetensors`: the forward passes
are written out below, cross-checked against torch.nn's TransformerEncoderLayer
in float64, and deliberately broken variants (wrong position offset, wrong
sinusoid, wrong epsilon, wrong activation) are shown to fail.  The safetensors
writer/reader and the WordPiece port come from gen_bert.py, the byte-level BPE
(pre-tokenizer, merge loop, trainer) from gen_gpt2.py; neither is changed.

Run from anywhere:  /usr/bin/python3 test/gen/gen_encoders.py
See test/gen/README.md for what each fixture is for.
"""

import argparse
import json
import math
import os
import random
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True    # keep __pycache__ out of the source tree
import gen_bert as gb   # noqa: E402  (safetensors, WordPiece, JSON helpers)
import gen_gpt2 as gg   # noqa: E402  (byte-level BPE: pre-tokenizer, merges, trainer)

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
TRANSFORMERS_VERSION = "4.36.2"   # the version whose file layout we imitate
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 3 << 20
TOL = 1e-4                        # what the C tests allow
MIN_SENSITIVITY = 10 * TOL        # every broken variant must move some output by more than this
DISTILBERT_LN_EPS = 1e-12         # hard-coded in modeling_distilbert.py, not in the config

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]    # ids 0..3; "<mask>" is the last id
MASK = "<mask>"


# ---------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------

def roberta_vocab(n_merges):
    """RoBERTa's id layout on a BPE trained like gen_gpt2.py's: <s> <pad> </s>
    <unk> = 0..3, the 256 byte symbols in bytes_to_unicode order, one id per
    merge result in merge order, <mask> last."""
    _, merges = gg.train_bpe(gg.TRAINING_TEXT, n_merges)
    vocab = {}
    for t in ROBERTA_SPECIALS:
        vocab[t] = len(vocab)
    for sym in gg.BYTE_ENC.values():
        vocab[sym] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab[MASK] = len(vocab)
    return vocab, merges


class RobertaBpe:
    """RobertaTokenizer(Fast) with add_prefix_space false: special tokens in the
    text are split out first (leftmost-longest; <mask> has lstrip, so it takes
    the whitespace on its left with it), the rest goes through GPT-2's
    pre-tokenizer and byte-level BPE.  Single text: <s> A </s>; pair:
    <s> A </s></s> B </s>; token type ids all 0 (RobertaProcessing)."""

    LSTRIP = {MASK}

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.inv = {i: t for t, i in vocab.items()}
        self.bpe = gg.ByteBpe(vocab, merges, specials=())
        self.specials = sorted(ROBERTA_SPECIALS + [MASK], key=len, reverse=True)

    def split(self, text):
        out, i, start = [], 0, 0
        while i < len(text):
            hit = next((s for s in self.specials if text.startswith(s, i)), None)
            if hit is None:
                i += 1
                continue
            left = text[start:i]
            if hit in self.LSTRIP:
                while left and gg._is_space(left[-1]):
                    left = left[:-1]
            if left:
                out.append((False, left))
            out.append((True, hit))
            i = start = i + len(hit)
        if start < len(text):
            out.append((False, text[start:]))
        return out

    def tokenize(self, text):
        toks = []
        for special, piece in self.split(text):
            if special:
                toks.append(piece)
                continue
            for word in gg.pretokenize(piece):
                toks.extend(self.bpe.bpe("".join(gg.BYTE_ENC[b] for b in word.encode("utf-8"))))
        return toks

    def encode(self, text, pair=None):
        toks = ["<s>"] + self.tokenize(text) + ["</s>"]
        if pair is not None:
            toks += ["</s>"] + self.tokenize(pair) + ["</s>"]
        return toks, [self.vocab[t] for t in toks], [0] * len(toks)


class DistilWordPiece:
    """DistilBertTokenizer: BertTokenizer's WordPiece, [CLS] A [SEP] (B [SEP]).
    The model takes no token type ids; the fixtures record zeros."""

    def __init__(self, vocab_list):
        self.full = gb.FullTokenizer(vocab_list, do_lower_case=True)
        self.vocab = self.full.vocab
        self.inv = {i: t for t, i in self.vocab.items()}

    def encode(self, text, pair=None):
        toks, ids, _ = self.full.encode(text, pair)
        return toks, ids, [0] * len(ids)


# ---------------------------------------------------------------------------
# Configuration and random weights
# ---------------------------------------------------------------------------

class Cfg:
    def __init__(self, family, layers, hidden, heads, intermediate, max_pos, vocab_size, eps,
                 act="gelu", pad=0, type_vocab=0, sinusoidal=False):
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})
        self.head_dim = hidden // heads
        assert self.head_dim * heads == hidden

    @property
    def max_tokens(self):
        """Longest input: RoBERTa's positions start after padding_idx."""
        return self.max_pos - self.pad - 1 if self.family == "roberta" else self.max_pos

    def changed(self, **kw):
        c = Cfg(**{k: getattr(self, k) for k in ("family", "layers", "hidden", "heads", "intermediate",
                                                  "max_pos", "vocab_size", "eps", "act", "pad",
                                                  "type_vocab", "sinusoidal")})
        c.__dict__.update(kw)
        return c


def roberta_config(cfg, arch, torch_dtype):
    """config.json as transformers 4.36 writes RobertaConfig (to_diff_dict:
    every RobertaConfig field, plus bos/eos/pad ids, which differ from the
    PretrainedConfig defaults)."""
    return {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0,
        "classifier_dropout": None,
        "eos_token_id": 2,
        "hidden_act": cfg.act,
        "hidden_dropout_prob": 0.1,
        "hidden_size": cfg.hidden,
        "initializer_range": 0.02,
        "intermediate_size": cfg.intermediate,
        "layer_norm_eps": cfg.eps,
        "max_position_embeddings": cfg.max_pos,
        "model_type": "roberta",
        "num_attention_heads": cfg.heads,
        "num_hidden_layers": cfg.layers,
        "pad_token_id": cfg.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": cfg.type_vocab,
        "use_cache": True,
        "vocab_size": cfg.vocab_size,
    }


def distilbert_config(cfg, arch, torch_dtype):
    """config.json as transformers 4.36 writes DistilBertConfig (its own field
    names: dim, n_layers, n_heads, hidden_dim, activation)."""
    return {
        "activation": cfg.act,
        "architectures": [arch],
        "attention_dropout": 0.1,
        "dim": cfg.hidden,
        "dropout": 0.1,
        "hidden_dim": cfg.intermediate,
        "initializer_range": 0.02,
        "max_position_embeddings": cfg.max_pos,
        "model_type": "distilbert",
        "n_heads": cfg.heads,
        "n_layers": cfg.layers,
        "pad_token_id": cfg.pad,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "sinusoidal_pos_embds": cfg.sinusoidal,
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "vocab_size": cfg.vocab_size,
    }


def sinusoidal_table(n_pos, dim):
    """modeling_distilbert._create_sinusoidal_embeddings: float64 numpy table
    pos / 10000^(2*(j//2)/dim), sin on even columns, cos on odd ones, then
    torch.FloatTensor (float32)."""
    enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = torch.empty(n_pos, dim)
    out[:, 0::2] = torch.FloatTensor(np.sin(enc[:, 0::2]))
    out[:, 1::2] = torch.FloatTensor(np.cos(enc[:, 1::2]))
    return out


def _normal(g):
    def normal(shape, std, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std + mean
    return normal


def make_roberta_weights(cfg, seed, pooler):
    """RobertaModel parameters (names without prefix), BERT's layout with one
    token-type row.  Standard deviations as in gen_bert.py (far above 0.02)."""
    bcfg = gb.Cfg(layers=cfg.layers, hidden=cfg.hidden, heads=cfg.heads, intermediate=cfg.intermediate,
                  max_pos=cfg.max_pos, type_vocab=cfg.type_vocab, eps=cfg.eps)
    w = gb.make_weights(bcfg, cfg.vocab_size, seed, pooler)
    # <s> is always at position pad+1 with type 0: make its word embedding
    # nearly cancel them, so the embedding LayerNorm sees a variance of ~1e-3
    # on the first token and the epsilon visibly matters (see `sensitivity`).
    g = torch.Generator().manual_seed(seed + 17)
    w["embeddings.word_embeddings.weight"][0] = (
        -(w["embeddings.position_embeddings.weight"][cfg.pad + 1] + w["embeddings.token_type_embeddings.weight"][0])
        + 0.03 * torch.randn(cfg.hidden, generator=g))
    return w


def roberta_mlm_head(cfg, seed):
    """The tensors RobertaForMaskedLM saves besides roberta.*: lm_head.decoder
    (weight and bias) is tied to the word embeddings and lm_head.bias, so
    save_pretrained leaves it out."""
    normal = _normal(torch.Generator().manual_seed(seed))
    d = cfg.hidden
    return {"lm_head.bias": normal((cfg.vocab_size,), 0.02),
            "lm_head.dense.weight": normal((d, d), 0.02),
            "lm_head.dense.bias": normal((d,), 0.02),
            "lm_head.layer_norm.weight": normal((d,), 0.02, 1.0),
            "lm_head.layer_norm.bias": normal((d,), 0.02)}


def make_distilbert_weights(cfg, seed, cls_id):
    """DistilBertModel parameters in state-dict order (names without prefix).
    With sinusoidal_pos_embds the position table is not random and is left out
    of the file (see README); the reference uses sinusoidal_table()."""
    normal = _normal(torch.Generator().manual_seed(seed))
    d, f = cfg.hidden, cfg.intermediate
    w = {"embeddings.word_embeddings.weight": normal((cfg.vocab_size, d), 0.5)}
    pos = sinusoidal_table(cfg.max_pos, d) if cfg.sinusoidal else normal((cfg.max_pos, d), 0.5)
    if not cfg.sinusoidal:
        w["embeddings.position_embeddings.weight"] = pos
    w["embeddings.LayerNorm.weight"] = normal((d,), 0.1, 1.0)
    w["embeddings.LayerNorm.bias"] = normal((d,), 0.1)
    for i in range(cfg.layers):
        p = f"transformer.layer.{i}."
        for m in ("q_lin", "k_lin", "v_lin", "out_lin"):
            w[p + f"attention.{m}.weight"] = normal((d, d), 0.2)
            w[p + f"attention.{m}.bias"] = normal((d,), 0.1)
        w[p + "sa_layer_norm.weight"] = normal((d,), 0.1, 1.0)
        w[p + "sa_layer_norm.bias"] = normal((d,), 0.1)
        w[p + "ffn.lin1.weight"] = normal((f, d), 0.2)
        w[p + "ffn.lin1.bias"] = normal((f,), 0.1)
        w[p + "ffn.lin2.weight"] = normal((d, f), 0.15)
        w[p + "ffn.lin2.bias"] = normal((d,), 0.1)
        w[p + "output_layer_norm.weight"] = normal((d,), 0.1, 1.0)
        w[p + "output_layer_norm.bias"] = normal((d,), 0.1)
    # [CLS] is always at position 0: the same epsilon trick as for RoBERTa's <s>.
    w["embeddings.word_embeddings.weight"][cls_id] = -pos[0] + 0.03 * normal((d,), 1.0)
    return w


def distilbert_mlm_head(cfg, seed):
    """DistilBertForMaskedLM's extra tensors; vocab_projector.weight is tied to
    the word embeddings and not saved."""
    normal = _normal(torch.Generator().manual_seed(seed))
    d = cfg.hidden
    return {"vocab_transform.weight": normal((d, d), 0.02),
            "vocab_transform.bias": normal((d,), 0.02),
            "vocab_layer_norm.weight": normal((d,), 0.02, 1.0),
            "vocab_layer_norm.bias": normal((d,), 0.02),
            "vocab_projector.bias": normal((cfg.vocab_size,), 0.02)}


def round_to(w, dtype):
    """What the library sees once `w` is stored as `dtype`, back in float32."""
    tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    return {k: v.to(tdt).to(torch.float32) for k, v in w.items()}


# ---------------------------------------------------------------------------
# Reference forward passes, eval mode, written out by hand
# ---------------------------------------------------------------------------

def _ln(x, g, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)       # biased, as nn.LayerNorm
    return (x - mean) / torch.sqrt(var + eps) * g + b


def _linear(x, w, b):
    return x @ w.t() + b


def _gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTS = {"gelu": _gelu_erf, "relu": torch.relu, "gelu_new": _gelu_tanh}
NN_ACTS = {"gelu": torch.nn.functional.gelu, "relu": torch.nn.functional.relu}


def roberta_position_ids(ids, pad, variant=None):
    """modeling_roberta.create_position_ids_from_input_ids: positions count the
    tokens that are not <pad> (input_ids.ne(padding_idx), not the attention
    mask), starting at padding_idx + 1; every <pad> gets padding_idx."""
    mask = ids.ne(pad).int()
    pos = torch.cumsum(mask, dim=1).type_as(mask) * mask
    pos = pos.long() + pad
    if variant == "bert_positions_0_based":
        pos = torch.arange(ids.shape[1])[None].expand_as(ids)
    elif variant == "positions_from_pad":            # off by one: pad, pad+1, ...
        pos = pos - 1
    elif variant == "positions_ignore_inner_pad":    # counted from the attention mask instead
        pos = torch.arange(ids.shape[1])[None].expand_as(ids) + pad + 1
    return pos


def roberta_forward(W, cfg, ids, mask, dtype=torch.float32, variant=None):
    """Hidden states [L+1, B, T, D] and pooler output [B, D] (or None).
    ids, mask: int64 [B, T]; mask 1 on real tokens, 0 on padding, applied as
    HF does: (1 - mask) * finfo.min added to the scores."""
    W = {k: v.to(dtype) for k, v in W.items()}
    eps = cfg.eps
    if variant == "eps_1e-12":
        eps = 1e-12
    act = _gelu_tanh if variant == "gelu_tanh" else ACTS[cfg.act]
    B, T = ids.shape
    pos = roberta_position_ids(ids, cfg.pad, variant)
    types = torch.zeros_like(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.token_type_embeddings.weight"][types]
    x = x + W["embeddings.position_embeddings.weight"][pos]
    x = _ln(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    add_mask = (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min
    states = [x]
    H, hd = cfg.heads, cfg.head_dim
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."

        def heads(t):
            return t.view(B, T, H, hd).permute(0, 2, 1, 3)
        q = heads(_linear(x, W[p + "attention.self.query.weight"], W[p + "attention.self.query.bias"]))
        k = heads(_linear(x, W[p + "attention.self.key.weight"], W[p + "attention.self.key.bias"]))
        v = heads(_linear(x, W[p + "attention.self.value.weight"], W[p + "attention.self.value.bias"]))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + add_mask
        ctx = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(B, T, H * hd)
        a = _linear(ctx, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
        a = _ln(a + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        h = act(_linear(a, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]))
        h = _linear(h, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = _ln(h + a, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
        states.append(x)
    pooled = None
    if "pooler.dense.weight" in W:
        pooled = torch.tanh(_linear(x[:, 0], W["pooler.dense.weight"], W["pooler.dense.bias"]))
    return torch.stack(states), pooled


def distilbert_positions(cfg, variant=None):
    """The position table the model uses: stored (learned) or sinusoidal."""
    if not cfg.sinusoidal:
        return None
    if variant == "sinusoid_halves":                  # sin | cos halves (tensor2tensor's layout)
        d = cfg.hidden
        pos = torch.arange(cfg.max_pos, dtype=torch.float64)[:, None]
        inv = 1.0 / torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float64) / d)
        return torch.cat([torch.sin(pos * inv), torch.cos(pos * inv)], dim=1).float()
    if variant == "sinusoid_exponent_j":              # 10000^(j/dim) instead of 10000^(2(j//2)/dim)
        d = cfg.hidden
        enc = np.array([[p / np.power(10000, j / d) for j in range(d)] for p in range(cfg.max_pos)])
        out = torch.empty(cfg.max_pos, d)
        out[:, 0::2] = torch.FloatTensor(np.sin(enc[:, 0::2]))
        out[:, 1::2] = torch.FloatTensor(np.cos(enc[:, 1::2]))
        return out
    return sinusoidal_table(cfg.max_pos, cfg.hidden)


def distilbert_forward(W, cfg, ids, mask, dtype=torch.float32, variant=None):
    """modeling_distilbert: emb = LN(word + pos[0..T-1]); per layer
    sa = sa_layer_norm(out_lin(attn) + x), out = output_layer_norm(lin2(act(lin1(sa))) + sa).
    The query is divided by sqrt(head_dim) before q @ k^T, padding is
    masked_fill'ed with finfo.min; every LayerNorm has eps 1e-12."""
    table = distilbert_positions(cfg, variant)
    W = {k: v.to(dtype) for k, v in W.items()}
    pos_w = W["embeddings.position_embeddings.weight"] if table is None else table.to(dtype)
    eps = 1e-5 if variant == "eps_1e-5" else DISTILBERT_LN_EPS
    act = ACTS[{"gelu": "relu", "relu": "gelu"}[cfg.act]] if variant == "other_activation" else ACTS[cfg.act]
    B, T = ids.shape
    pos = torch.arange(T)
    if variant == "positions_1_based":
        pos = pos + 1
    x = W["embeddings.word_embeddings.weight"][ids] + pos_w[pos][None]
    x = _ln(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    fill = (mask == 0)[:, None, None, :]
    states = [x]
    H, hd = cfg.heads, cfg.head_dim
    for i in range(cfg.layers):
        p = f"transformer.layer.{i}.attention."

        def heads(t):
            return t.view(B, T, H, hd).transpose(1, 2)
        q = heads(_linear(x, W[p + "q_lin.weight"], W[p + "q_lin.bias"])) / math.sqrt(hd)
        k = heads(_linear(x, W[p + "k_lin.weight"], W[p + "k_lin.bias"]))
        v = heads(_linear(x, W[p + "v_lin.weight"], W[p + "v_lin.bias"]))
        scores = (q @ k.transpose(2, 3)).masked_fill(fill.expand(B, H, T, T), torch.finfo(dtype).min)
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, H * hd)
        sa = _linear(ctx, W[p + "out_lin.weight"], W[p + "out_lin.bias"])
        p = f"transformer.layer.{i}."
        sa = _ln(sa + x, W[p + "sa_layer_norm.weight"], W[p + "sa_layer_norm.bias"], eps)
        h = _linear(act(_linear(sa, W[p + "ffn.lin1.weight"], W[p + "ffn.lin1.bias"])),
                    W[p + "ffn.lin2.weight"], W[p + "ffn.lin2.bias"])
        x = _ln(h + sa, W[p + "output_layer_norm.weight"], W[p + "output_layer_norm.bias"], eps)
        states.append(x)
    return torch.stack(states), None


def forward(W, cfg, ids, mask, dtype=torch.float32, variant=None):
    f = roberta_forward if cfg.family == "roberta" else distilbert_forward
    return f(W, cfg, ids, mask, dtype, variant)


def torch_nn_forward(W, cfg, ids, mask):
    """The same model from torch.nn modules in float64: both families' layers
    are post-norm TransformerEncoderLayers.  Embeddings use F.embedding with
    position ids computed independently (RoBERTa: from the non-<pad> tokens;
    DistilBERT: 0..T-1 into the stored or sinusoidal table)."""
    dt = torch.float64
    W = {k: v.to(dt) for k, v in W.items()}
    emb = torch.nn.functional.embedding
    B, T = ids.shape
    if cfg.family == "roberta":
        notpad = (ids != cfg.pad).long()
        pos = torch.where(notpad.bool(), cfg.pad + notpad.cumsum(1), torch.full_like(ids, cfg.pad))
        x = (emb(ids, W["embeddings.word_embeddings.weight"])
             + emb(torch.zeros_like(ids), W["embeddings.token_type_embeddings.weight"])
             + emb(pos, W["embeddings.position_embeddings.weight"]))
        eps = cfg.eps
        names = {"in": ("encoder.layer.{i}.attention.self.query", "encoder.layer.{i}.attention.self.key",
                        "encoder.layer.{i}.attention.self.value"),
                 "out": "encoder.layer.{i}.attention.output.dense",
                 "norm1": "encoder.layer.{i}.attention.output.LayerNorm",
                 "lin1": "encoder.layer.{i}.intermediate.dense", "lin2": "encoder.layer.{i}.output.dense",
                 "norm2": "encoder.layer.{i}.output.LayerNorm"}
    else:
        table = W.get("embeddings.position_embeddings.weight")
        if table is None:   # independent formula: angle = pos * exp(-ln(10000) * 2(j//2)/dim)
            j = torch.arange(cfg.hidden, dtype=dt)
            ang = torch.arange(cfg.max_pos, dtype=dt)[:, None] * torch.exp(
                -math.log(10000.0) * 2 * torch.div(j, 2, rounding_mode="floor") / cfg.hidden)
            table = torch.where(j.long() % 2 == 0, torch.sin(ang), torch.cos(ang)).float().to(dt)
        x = emb(ids, W["embeddings.word_embeddings.weight"]) + emb(torch.arange(T)[None], table)
        eps = DISTILBERT_LN_EPS
        names = {"in": ("transformer.layer.{i}.attention.q_lin", "transformer.layer.{i}.attention.k_lin",
                        "transformer.layer.{i}.attention.v_lin"),
                 "out": "transformer.layer.{i}.attention.out_lin",
                 "norm1": "transformer.layer.{i}.sa_layer_norm",
                 "lin1": "transformer.layer.{i}.ffn.lin1", "lin2": "transformer.layer.{i}.ffn.lin2",
                 "norm2": "transformer.layer.{i}.output_layer_norm"}
    ln = torch.nn.LayerNorm(cfg.hidden, eps=eps).to(dt)
    ln.weight.data, ln.bias.data = W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"]
    x = ln(x)
    states = [x]
    for i in range(cfg.layers):
        def n(key, suffix):
            return W[names[key].format(i=i) + suffix]
        layer = torch.nn.TransformerEncoderLayer(
            cfg.hidden, cfg.heads, dim_feedforward=cfg.intermediate, dropout=0.0,
            activation=NN_ACTS[cfg.act], layer_norm_eps=eps, batch_first=True, norm_first=False).to(dt).eval()
        sa = layer.self_attn
        sa.in_proj_weight.data = torch.cat([W[m.format(i=i) + ".weight"] for m in names["in"]])
        sa.in_proj_bias.data = torch.cat([W[m.format(i=i) + ".bias"] for m in names["in"]])
        sa.out_proj.weight.data, sa.out_proj.bias.data = n("out", ".weight"), n("out", ".bias")
        layer.norm1.weight.data, layer.norm1.bias.data = n("norm1", ".weight"), n("norm1", ".bias")
        layer.linear1.weight.data, layer.linear1.bias.data = n("lin1", ".weight"), n("lin1", ".bias")
        layer.linear2.weight.data, layer.linear2.bias.data = n("lin2", ".weight"), n("lin2", ".bias")
        layer.norm2.weight.data, layer.norm2.bias.data = n("norm2", ".weight"), n("norm2", ".bias")
        x = layer(x, src_key_padding_mask=(mask == 0))
        states.append(x)
    return torch.stack(states)


def pad_batch(cfg, seqs):
    """Right-pad id lists with the pad id; attention mask 0 on padding."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), cfg.pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = 1
    return ids, mask


def run(W, cfg, seqs, noise):
    """Run id lists together (right-padded), in float32 as HF does.  Every
    sequence is checked against a float64 run of the same code (fail above
    TOL) and the float64 run against the torch.nn assembly (fail above 1e-9).
    Returns per-sequence unpadded hidden states [L+1, T_b, D] and poolers."""
    ids, mask = pad_batch(cfg, seqs)
    with torch.no_grad():
        hs, pooled = forward(W, cfg, ids, mask)
        hs64, pooled64 = forward(W, cfg, ids, mask, torch.float64)
        ref = torch_nn_forward(W, cfg, ids, mask)
    outs = []
    for b, s in enumerate(seqs):
        n = len(s)
        d_nn = (hs64[:, b, :n] - ref[:, b, :n]).abs().max().item()
        if d_nn > 1e-9:
            raise SystemExit(f"{cfg.family}: float64 reference disagrees with torch.nn by {d_nn}")
        d64 = (hs[:, b, :n].double() - hs64[:, b, :n]).abs().max().item()
        if pooled is not None:
            d64 = max(d64, (pooled[b].double() - pooled64[b]).abs().max().item())
        if d64 > TOL:
            raise SystemExit(f"{cfg.family}: float32 reference differs from float64 by {d64}")
        noise["f32_vs_f64_reference_max_abs"] = max(noise["f32_vs_f64_reference_max_abs"], d64)
        if not torch.isfinite(hs[:, b, :n]).all():
            raise SystemExit("non-finite hidden state")
        outs.append((hs[:, b, :n].clone(), None if pooled is None else pooled[b].clone()))
    return outs


def sensitivity(W, cfg, seqs, want):
    """How far each plausible mistake moves the hidden states (max |d| over the
    cases, run alone).  Every one must exceed MIN_SENSITIVITY."""
    if cfg.family == "roberta":
        variants = ["bert_positions_0_based", "positions_from_pad", "eps_1e-12", "gelu_tanh"]
    else:
        variants = ["positions_1_based", "eps_1e-5", "other_activation"]
        if cfg.sinusoidal:
            variants += ["sinusoid_halves", "sinusoid_exponent_j"]
    out = {}
    with torch.no_grad():
        for v in variants:
            diff = 0.0
            for s, ref in zip(seqs, want):
                if v == "positions_1_based" and len(s) >= cfg.max_pos:
                    continue                          # position max_pos does not exist
                ids, mask = pad_batch(cfg, [s])
                hs, _ = forward(W, cfg, ids, mask, variant=v)
                diff = max(diff, (hs[:, 0] - ref).abs().max().item())
            if not diff > MIN_SENSITIVITY:
                raise SystemExit(f"{cfg.family}: broken variant {v} moves the outputs only by {diff}")
            out[v] = gb._r(diff)
    return out


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

def special_ids(tok, family):
    names = ROBERTA_SPECIALS + [MASK] if family == "roberta" else ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return {t: tok.vocab[t] for t in names}


def random_ids(rng, tok, family, n, pair_split=None):
    """<s> x.. </s> (</s> y.. </s>) or [CLS] x.. [SEP] (y.. [SEP]) of length n,
    from the non-special vocabulary.  pair_split: index where B starts."""
    specials = set(special_ids(tok, family).values())
    if family == "distilbert":
        specials |= {i for t, i in tok.vocab.items() if t.startswith("[")}
    pool = [i for i in range(len(tok.vocab)) if i not in specials]
    cls, sep = ((tok.vocab["<s>"], tok.vocab["</s>"]) if family == "roberta"
                else (tok.vocab["[CLS]"], tok.vocab["[SEP]"]))
    if n == 1:
        return [cls]
    ids = [cls] + [rng.choice(pool) for _ in range(n - 2)] + [sep]
    if pair_split:
        ids[pair_split - 1] = sep
        if family == "roberta":           # <s> A </s></s> B </s>
            ids[pair_split] = sep
    return ids


def text_case(tok, text, pair=None, note=None):
    toks, ids, types = tok.encode(text, pair)
    case = {"kind": "pair" if pair is not None else "text", "text": text}
    if pair is not None:
        case["text_pair"] = pair
    if note:
        case["note"] = note
    case.update(tokens=toks, input_ids=ids, token_type_ids=types)
    return case


def ids_case(tok, ids, note):
    return {"kind": "ids", "note": note, "tokens": [tok.inv[i] for i in ids],
            "input_ids": ids, "token_type_ids": [0] * len(ids)}


def exact_length_text(tok, source, n):
    """The first run of whole words of `source` whose encoding (specials
    included) is exactly n tokens long."""
    words = source.split(" ")
    for start in range(len(words)):
        for k in range(start + 1, len(words) + 1):
            text = " ".join(words[start:k])
            m = len(tok.encode(text)[1])
            if m == n:
                return text
            if m > n:
                break
    raise SystemExit(f"no run of words has exactly {n} tokens")


def stats(hs):
    return {"max_abs": gb._r(hs.abs().max()),
            "max_abs_per_layer": [gb._r(h.abs().max()) for h in hs],
            "rel_change_last_vs_embeddings": gb._r((hs[-1] - hs[0]).norm() / hs[0].norm())}


def put_case(expected, key, case, hs, pooled):
    expected[f"{key}.input_ids"] = gb.st_from_torch(torch.tensor(case["input_ids"]), "I32")
    expected[f"{key}.token_type_ids"] = gb.st_from_torch(torch.tensor(case["token_type_ids"]), "I32")
    expected[f"{key}.hidden_states"] = gb.st_from_torch(hs, "F32")
    if pooled is not None:
        expected[f"{key}.pooler_output"] = gb.st_from_torch(pooled, "F32")
    case["name"] = key
    case["_stats"] = stats(hs)


def ordered_case(case):
    keys = ["name", "kind", "note", "text", "text_pair", "tokens", "input_ids", "token_type_ids"]
    out = {k: case[k] for k in keys if k in case}
    out["length"] = len(case["input_ids"])
    out.update(case["_stats"])
    return out


# ---------------------------------------------------------------------------
# Tokenizer files
# ---------------------------------------------------------------------------

def _added(content, lstrip=False, normalized=True):
    return {"content": content, "lstrip": lstrip, "normalized": normalized, "rstrip": False,
            "single_word": False, "special": True}


def write_roberta_tokenizer(d, vocab, merges, max_len, with_tokenizer_json):
    """vocab.json + merges.txt as RobertaTokenizer.save_vocabulary writes them,
    tokenizer_config.json and special_tokens_map.json as transformers 4.36
    saves them for roberta-base, and (optionally) tokenizer.json as the
    tokenizers library writes RobertaTokenizerFast's."""
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    specials = [(t, False, True) for t in ROBERTA_SPECIALS] + [(MASK, True, False)]
    decoder = {str(vocab[t]): _added(t, ls, nz) for t, ls, nz in specials}
    gb.write_json(os.path.join(d, "tokenizer_config.json"), {
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "errors": "replace",
        "mask_token": MASK,
        "model_max_length": max_len,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "tokenizer_class": "RobertaTokenizer",
        "trim_offsets": True,
        "unk_token": "<unk>",
    })
    mask_entry = {k: v for k, v in _added(MASK, True, False).items() if k != "special"}
    gb.write_json(os.path.join(d, "special_tokens_map.json"), {
        "bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": mask_entry,
        "pad_token": "<pad>", "sep_token": "</s>", "unk_token": "<unk>"})
    if not with_tokenizer_json:
        return
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [dict({"id": vocab[t]}, **{k: v for k, v in _added(t, ls, nz).items()})
                         for t, ls, nz in specials],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]],
                           "cls": ["<s>", vocab["<s>"]], "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    # tokenizers writes added_tokens entries with "id" first, then the AddedToken fields.
    for e in tj["added_tokens"]:
        e.pop("special")
        e["special"] = True
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(tj, indent=2, ensure_ascii=False) + "\n")


def write_distilbert_tokenizer(d, src_dir, max_len):
    """bert-tiny-uncased's vocab.txt copied as is; its tokenizer_config.json
    with tokenizer_class DistilBertTokenizer and this model's length; its
    special_tokens_map.json copied."""
    with open(os.path.join(src_dir, "vocab.txt"), "rb") as f:
        raw = f.read()
    with open(os.path.join(d, "vocab.txt"), "wb") as f:
        f.write(raw)
    with open(os.path.join(src_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)
    tc["tokenizer_class"] = "DistilBertTokenizer"
    tc["model_max_length"] = max_len
    gb.write_json(os.path.join(d, "tokenizer_config.json"), tc)
    with open(os.path.join(src_dir, "special_tokens_map.json"), "rb") as f:
        raw = f.read()
    with open(os.path.join(d, "special_tokens_map.json"), "wb") as f:
        f.write(raw)


def load_wordpiece_vocab(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


# ---------------------------------------------------------------------------
# One fixture
# ---------------------------------------------------------------------------

MAX_SOURCE = ("The keeper of the lighthouse wrote in his book every night: the wind, the ships "
              "that passed, and the colour of the sea. In winter the storms came from the north, "
              "and he climbed the stairs four times a night to clean the glass. Nobody read the "
              "book while he lived, but after his death his daughter found it and printed it, "
              "and now every school in the town has a copy on its shelves.")


def make_tokenizer(spec, out_dir):
    if spec["family"] == "roberta":
        vocab, merges = roberta_vocab(spec["merges"])
        return RobertaBpe(vocab, merges), (vocab, merges)
    vocab_list = load_wordpiece_vocab(os.path.join(out_dir, spec["wordpiece_from"], "vocab.txt"))
    assert vocab_list == gb.vocab_uncased(), "bert-tiny-uncased/vocab.txt is not gen_bert's uncased vocabulary"
    return DistilWordPiece(vocab_list), vocab_list


def build_fixture(out_dir, spec):
    name, family = spec["name"], spec["family"]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    tok, tok_data = make_tokenizer(spec, out_dir)
    cfg = Cfg(family=family, vocab_size=len(tok.vocab), **spec["cfg"])
    if family == "roberta":
        w32 = make_roberta_weights(cfg, spec["seed"], spec["pooler"])
        head = roberta_mlm_head(cfg, spec["seed"] + 1) if spec["prefix"] else {}
        conf = roberta_config(cfg, spec["arch"], spec["torch_dtype"])
    else:
        w32 = make_distilbert_weights(cfg, spec["seed"], tok.vocab["[CLS]"])
        head = distilbert_mlm_head(cfg, spec["seed"] + 1) if spec["prefix"] else {}
        conf = distilbert_config(cfg, spec["arch"], spec["torch_dtype"])
    W = round_to(w32, spec["dtype"])             # the reference sees the stored values

    tensors = {spec["prefix"] + k: gb.st_from_torch(v, spec["dtype"]) for k, v in w32.items()}
    tensors.update({k: gb.st_from_torch(v, spec["dtype"]) for k, v in head.items()})
    gb.st_write(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    gb.write_json(os.path.join(d, "config.json"), conf)
    if family == "roberta":
        write_roberta_tokenizer(d, *tok_data, cfg.max_tokens, spec["tokenizer_json"])
    else:
        write_distilbert_tokenizer(d, os.path.join(out_dir, spec["wordpiece_from"]), cfg.max_tokens)

    # Cases, each run alone; then the batch run together.
    rng = random.Random(spec["seed"] * 7919)
    M = cfg.max_tokens
    cases = [ids_case(tok, random_ids(rng, tok, family, 1), "one token: the class token alone")]
    for t in spec["texts"]:
        cases.append(text_case(tok, *t) if isinstance(t, tuple) else text_case(tok, t))
    if spec.get("max_text"):
        cases.append(text_case(tok, exact_length_text(tok, MAX_SOURCE, M),
                               note=f"text of exactly {M} tokens (the maximum)"))
    cases.append(ids_case(tok, random_ids(rng, tok, family, 7), "short random ids"))
    cases.append(ids_case(tok, random_ids(rng, tok, family, 19, pair_split=9), "random pair"))
    cases.append(ids_case(tok, random_ids(rng, tok, family, M, pair_split=M // 2),
                          f"random pair of exactly {M} tokens (the maximum)"))
    first = text_case(tok, spec["batch_text"])
    n_pair = 13 if len(first["input_ids"]) != 13 else 11
    batch = [first,
             ids_case(tok, random_ids(rng, tok, family, n_pair, pair_split=6), "random pair"),
             ids_case(tok, random_ids(rng, tok, family, 4), "random short")]
    lengths = [len(b["input_ids"]) for b in batch]
    assert len(set(lengths)) == 3, lengths
    for c in cases + batch:
        assert len(c["input_ids"]) <= M, (c.get("text"), len(c["input_ids"]))
    assert any(len(c["input_ids"]) == M for c in cases)
    extra = []
    if family == "roberta":
        # A literal <pad> inside a sequence (attention mask 1): HF's positions
        # skip it (input_ids.ne(padding_idx)) and give it padding_idx itself.
        ids = random_ids(rng, tok, family, 9)
        ids[4] = cfg.pad
        extra.append(ids_case(tok, ids, "a <pad> token inside the sequence, attention mask 1: it gets "
                                        "position padding_idx and the positions after it do not count it"))

    noise = {"f32_vs_f64_reference_max_abs": 0.0}
    expected = {}
    for c, case in enumerate(cases):
        (hs, pooled), = run(W, cfg, [case["input_ids"]], noise)
        put_case(expected, f"case{c}", case, hs, pooled)
    for c, case in enumerate(extra):
        (hs, pooled), = run(W, cfg, [case["input_ids"]], noise)
        put_case(expected, f"padtok{c}", case, hs, pooled)
        ids, mask = pad_batch(cfg, [case["input_ids"]])
        with torch.no_grad():
            wrong, _ = forward(W, cfg, ids, mask, variant="positions_ignore_inner_pad")
        noise["inner_pad_token_vs_mask_based_positions_max_abs"] = gb._r((wrong[:, 0] - hs).abs().max())
    outs = run(W, cfg, [b["input_ids"] for b in batch], noise)
    vs_alone = 0.0
    for b, (case, (hs, pooled)) in enumerate(zip(batch, outs)):
        (alone, _), = run(W, cfg, [case["input_ids"]], noise)
        vs_alone = max(vs_alone, (hs - alone).abs().max().item())
        put_case(expected, f"batch{b}", case, hs, pooled)
    gb.st_write(os.path.join(d, "expected.safetensors"), expected, {"format": "pt"})
    sens = sensitivity(W, cfg, [c["input_ids"] for c in cases],
                       [torch.from_numpy(gb.st_to_float(expected[f"case{c}.hidden_states"]))
                        for c in range(len(cases))])

    pad_tok = "<pad>" if family == "roberta" else "[PAD]"
    doc = {
        "fixture": name,
        "purpose": spec["purpose"],
        "generator": f"test/gen/gen_encoders.py (from-scratch PyTorch {spec['hf_class']}, eval mode, float32)",
        "weights_dtype": spec["dtype"],
        "tensor_prefix": spec["prefix"],
        "model": {"family": family, "layers": cfg.layers, "hidden": cfg.hidden, "heads": cfg.heads,
                  "intermediate": cfg.intermediate, "max_position_embeddings": cfg.max_pos,
                  "max_tokens": M, "vocab_size": cfg.vocab_size, "activation": cfg.act,
                  "layer_norm_eps": cfg.eps if family == "roberta" else DISTILBERT_LN_EPS,
                  "pad_token_id": cfg.pad},
        "hidden_states": "expected.safetensors: <name>.hidden_states F32 [layers+1, T, hidden]; "
                         "index 0 = embedding output, i = output of layer i",
        "pooler_output": ("expected.safetensors: <name>.pooler_output F32 [hidden] = "
                          "tanh(pooler.dense(h_L[0]))") if spec.get("pooler") else None,
    }
    if family == "roberta":
        doc["positions"] = (f"padding_idx + cumsum(input_ids != padding_idx) * (input_ids != padding_idx) "
                            f"with padding_idx = pad_token_id = {cfg.pad}: an unpadded sequence of T tokens "
                            f"uses rows {cfg.pad + 1}..{cfg.pad + M} at most; max tokens = "
                            f"max_position_embeddings - pad_token_id - 1 = {M}")
        doc["tokenizer"] = {"type": "byte-level BPE (RobertaTokenizer, add_prefix_space false)",
                            "vocab_size": len(tok.vocab), "merges": len(tok_data[1]),
                            "template": "<s> A </s> / <s> A </s></s> B </s>, token types all 0",
                            "mask_lstrip": True, "tokenizer_json": spec["tokenizer_json"],
                            "special_ids": special_ids(tok, family)}
    else:
        doc["positions"] = ("0..T-1; " + ("sinusoidal (not stored): position_enc[pos, j] = pos / "
                                          "10000^(2*(j//2)/dim), even columns sin, odd columns cos, computed "
                                          "in float64 then rounded to float32"
                                          if cfg.sinusoidal else "learned, stored"))
        doc["tokenizer"] = {"type": "WordPiece (DistilBertTokenizer), vocab.txt of bert-tiny-uncased",
                            "vocab_size": len(tok.vocab),
                            "template": "[CLS] A [SEP] (B [SEP]); the model takes no token types, "
                                        "token_type_ids recorded as 0",
                            "special_ids": special_ids(tok, family)}
    noise["batched_vs_alone_max_abs"] = vs_alone
    doc["noise"] = {k: gb._r(v) for k, v in noise.items()} | {"suggested_tolerance_abs": TOL}
    doc["sensitivity_max_abs_change"] = sens
    doc["cases"] = [ordered_case(c) for c in cases]
    if extra:
        doc["inner_pad_cases"] = [ordered_case(c) for c in extra]
    doc["batch"] = {"note": f"run together, right-padded with {pad_tok} (id {cfg.pad}), attention mask 0 "
                            "on padding" + ("; padding gets position padding_idx" if family == "roberta" else "")
                            + "; stored unpadded per sequence",
                    "padded_length": max(lengths), "sequences": [ordered_case(c) for c in batch]}
    gb.write_readable_json(os.path.join(d, "cases.json"), doc)
    return d, cfg, w32, head


# ---------------------------------------------------------------------------
# Verification of what was written, as a loader would read it
# ---------------------------------------------------------------------------

def load_fixture(d):
    """(cfg, float32 weights with names without prefix, head tensor names)
    from the files alone: config.json keys of the family, prefix detection,
    the sinusoidal table when the config asks for it."""
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    _, ts, order = gb.st_read(os.path.join(d, "model.safetensors"))
    assert order == sorted(ts, key=lambda n: (-gb.ST_DTYPE_RANK.index(ts[n].dtype), n.encode()))
    if c["model_type"] == "roberta":
        cfg = Cfg("roberta", c["num_hidden_layers"], c["hidden_size"], c["num_attention_heads"],
                  c["intermediate_size"], c["max_position_embeddings"], c["vocab_size"], c["layer_norm_eps"],
                  act=c["hidden_act"], pad=c["pad_token_id"], type_vocab=c["type_vocab_size"])
        prefix = "roberta." if "roberta.embeddings.word_embeddings.weight" in ts else ""
        heads = ("lm_head.",)
    else:
        cfg = Cfg("distilbert", c["n_layers"], c["dim"], c["n_heads"], c["hidden_dim"],
                  c["max_position_embeddings"], c["vocab_size"], DISTILBERT_LN_EPS, act=c["activation"],
                  pad=c["pad_token_id"], sinusoidal=c["sinusoidal_pos_embds"])
        prefix = "distilbert." if "distilbert.embeddings.word_embeddings.weight" in ts else ""
        heads = ("vocab_transform.", "vocab_layer_norm.", "vocab_projector.")
    W, head = {}, []
    for n, t in ts.items():
        if n.startswith(heads):
            head.append(n)
            continue
        assert n.startswith(prefix), n
        W[n[len(prefix):]] = torch.from_numpy(gb.st_to_float(t))
    return cfg, W, sorted(head)


def verify_fixture(d, spec, cfg, w32, head, out_dir):
    lcfg, W, head_names = load_fixture(d)
    assert lcfg.__dict__ == cfg.__dict__, (lcfg.__dict__, cfg.__dict__)
    want = round_to(w32, spec["dtype"])
    assert sorted(W) == sorted(want), sorted(set(W) ^ set(want))
    for k in want:
        assert torch.equal(W[k], want[k]), f"{d}: {k} does not round-trip"
    assert head_names == sorted(head), head_names
    _, ts, _ = gb.st_read(os.path.join(d, "model.safetensors"))
    assert all(t.dtype == spec["dtype"] for t in ts.values())
    if cfg.family == "distilbert":
        assert ("embeddings.position_embeddings.weight" in W) == (not cfg.sinusoidal)

    # Tokenizer from the files.
    if cfg.family == "roberta":
        vocab, merges = gg.load_gpt2_vocab(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
        tok = RobertaBpe(vocab, merges)
        assert [vocab[t] for t in ROBERTA_SPECIALS] == [0, 1, 2, 3] and vocab[MASK] == len(vocab) - 1
        assert len(vocab) == cfg.vocab_size
        tj_path = os.path.join(d, "tokenizer.json")
        assert os.path.exists(tj_path) == spec["tokenizer_json"]
        if spec["tokenizer_json"]:
            tv, tm, added = gg.read_tokenizer_json(tj_path)
            assert tv == vocab and tm == merges
            assert [(a["id"], a["content"], a["lstrip"]) for a in added] == \
                [(0, "<s>", False), (1, "<pad>", False), (2, "</s>", False), (3, "<unk>", False),
                 (len(vocab) - 1, MASK, True)]
    else:
        tok = DistilWordPiece(load_wordpiece_vocab(os.path.join(d, "vocab.txt")))
        src = os.path.join(out_dir, spec["wordpiece_from"], "vocab.txt")
        with open(src, "rb") as f1, open(os.path.join(d, "vocab.txt"), "rb") as f2:
            assert f1.read() == f2.read()
        assert len(tok.vocab) == cfg.vocab_size
    with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
        assert json.load(f)["tokenizer_class"] == spec["tokenizer_class"]

    # Cases: ids from the file tokenizer, forward from the loaded weights.
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cj = json.load(f)
    _, exp, _ = gb.st_read(os.path.join(d, "expected.safetensors"))
    L, D = cfg.layers + 1, cfg.hidden
    every = cj["cases"] + cj.get("inner_pad_cases", []) + cj["batch"]["sequences"]
    names = set()
    for case in every:
        n, T, ids = case["name"], case["length"], case["input_ids"]
        names.add(n)
        if "text" in case:
            assert tok.encode(case["text"], case.get("text_pair"))[1] == ids, n
        assert gb.st_to_float(exp[n + ".input_ids"]).tolist() == ids
        assert gb.st_to_float(exp[n + ".token_type_ids"]).tolist() == [0] * T
        assert T <= cfg.max_tokens
        hs = gb.st_to_float(exp[n + ".hidden_states"])
        assert hs.shape == (L, T, D) and np.isfinite(hs).all()
        if not n.startswith("batch"):
            ids_t, mask = pad_batch(cfg, [ids])
            with torch.no_grad():
                hs2, pooled = forward(W, lcfg, ids_t, mask)
            assert np.abs(hs2[:, 0].numpy() - hs).max() <= 1e-6, n
            if pooled is not None:
                assert np.abs(pooled[0].numpy() - gb.st_to_float(exp[n + ".pooler_output"])).max() <= 1e-6
        assert abs(float(np.abs(hs).max()) - case["max_abs"]) <= 1e-5 * case["max_abs"]
    assert {k.rsplit(".", 1)[0] for k in exp} == names
    assert max(c["length"] for c in cj["cases"]) == cfg.max_tokens
    with torch.no_grad():   # the batch once more, padded together, from the loaded weights
        seqs = [c["input_ids"] for c in cj["batch"]["sequences"]]
        ids_t, mask = pad_batch(cfg, seqs)
        hs2, _ = forward(W, lcfg, ids_t, mask)
        for b, c in enumerate(cj["batch"]["sequences"]):
            got = gb.st_to_float(exp[c["name"] + ".hidden_states"])
            assert np.abs(hs2[:, b, :len(seqs[b])].numpy() - got).max() <= 1e-6


def self_test_sinusoid():
    """The HF formula, an independent closed form, and a few known values."""
    t = sinusoidal_table(64, 64)
    assert torch.equal(t[0, 0::2], torch.zeros(32)) and torch.equal(t[0, 1::2], torch.ones(32))
    assert abs(t[1, 0].item() - math.sin(1.0)) < 1e-7 and abs(t[1, 1].item() - math.cos(1.0)) < 1e-7
    assert abs(t[63, 2].item() - math.sin(63 / 10000 ** (2 / 64))) < 1e-7
    assert abs(t[63, 63].item() - math.cos(63 / 10000 ** (62 / 64))) < 1e-7
    j = np.arange(64)
    closed = np.arange(64)[:, None] / np.power(10000.0, (j - j % 2) / 64.0)[None]
    closed = np.where(j % 2 == 0, np.sin(closed), np.cos(closed)).astype(np.float32)
    assert np.abs(t.numpy() - closed).max() <= 1e-7


def self_test_position_ids():
    ids = torch.tensor([[0, 5, 6, 2, 1, 1], [0, 5, 1, 6, 2, 1]])
    got = roberta_position_ids(ids, 1).tolist()
    assert got == [[2, 3, 4, 5, 1, 1], [2, 3, 1, 4, 5, 1]], got


# ---------------------------------------------------------------------------
# The fixtures
# ---------------------------------------------------------------------------

SPECS = [
    {
        "name": "roberta-tiny", "family": "roberta", "hf_class": "RobertaModel",
        "purpose": "RobertaForMaskedLM layout (\"roberta.\" prefix, lm_head.* with the decoder tied, no pooler), "
                   "F32, 2 layers, hidden 64, 4 heads, eps 1e-5; positions after padding_idx (max 64 tokens "
                   "of 66 positions); byte-level BPE with tokenizer.json (RobertaProcessing, <mask> lstrip); "
                   "pairs, a max-length text and ids, an inner <pad>, a padded batch",
        "cfg": dict(layers=2, hidden=64, heads=4, intermediate=128, max_pos=66, eps=1e-5, act="gelu",
                    pad=1, type_vocab=1),
        "merges": 300, "seed": 31337, "dtype": "F32", "torch_dtype": "float32", "prefix": "roberta.",
        "arch": "RobertaForMaskedLM", "pooler": False, "tokenizer_json": True,
        "tokenizer_class": "RobertaTokenizer",
        "texts": ["Hello world!",
                  "It's a test, isn't it? We'll see what they've done.",
                  "Naïve café owners in Zürich love tea 🙂 and crème brûlée.",
                  "In 2024, 3 models ran  twice\n\nover 12.5 GB of text.\t",
                  "The capital of France is <mask>, and the<mask> is near.",
                  ("How old are you?", "I am six years old."),
                  ""],
        "max_text": True,
        "batch_text": "Where is the café? It's near the river.",
    },
    {
        "name": "roberta-tiny-plain", "family": "roberta", "hf_class": "RobertaModel",
        "purpose": "RobertaModel layout (no prefix) with pooler, F16 weights, 3 layers, hidden 48, 3 heads of 16, "
                   "eps 1e-5, 40 tokens of 42 positions; tokenizer from vocab.json + merges.txt only "
                   "(no tokenizer.json)",
        "cfg": dict(layers=3, hidden=48, heads=3, intermediate=96, max_pos=42, eps=1e-5, act="gelu",
                    pad=1, type_vocab=1),
        "merges": 300, "seed": 2718, "dtype": "F16", "torch_dtype": "float16", "prefix": "",
        "arch": "RobertaModel", "pooler": True, "tokenizer_json": False,
        "tokenizer_class": "RobertaTokenizer",
        "texts": ["Good morning!",
                  "The quick brown fox jumps over the lazy dog.",
                  "Zürich café 🙂 crème, 12€",
                  "Hello <mask>!",
                  ("Where is the station?", "Near the old bridge.")],
        "max_text": False,
        "batch_text": "I'm fine, thank you.",
    },
    {
        "name": "distilbert-tiny", "family": "distilbert", "hf_class": "DistilBertModel",
        "purpose": "DistilBertModel layout (no prefix), F32, 2 layers, dim 64, 4 heads, hidden_dim 128, gelu, "
                   "64 SINUSOIDAL positions not stored in the file (the library computes them), LayerNorm eps "
                   "1e-12 (hard-coded in HF); uncased WordPiece; pairs without token types; a padded batch",
        "cfg": dict(layers=2, hidden=64, heads=4, intermediate=128, max_pos=64, eps=DISTILBERT_LN_EPS,
                    act="gelu", pad=0, sinusoidal=True),
        "seed": 4242, "dtype": "F32", "torch_dtype": "float32", "prefix": "",
        "arch": "DistilBertModel", "wordpiece_from": "bert-tiny-uncased", "tokenizer_class": "DistilBertTokenizer",
        "texts": ["Hello world!",
                  "The quick brown fox jumps over the lazy dog, unbelievably happily.",
                  "Naïve CAFÉ owners in Zürich love 中国 tea 🙂",
                  ("How old are you?", "I am six years old.")],
        "batch_text": "Where is Munich? In Germany.",
    },
    {
        "name": "distilbert-tiny-mlm", "family": "distilbert", "hf_class": "DistilBertModel",
        "purpose": "DistilBertForMaskedLM layout (\"distilbert.\" prefix, vocab_transform / vocab_layer_norm / "
                   "vocab_projector.bias head, projector weight tied), F16, relu, 40 LEARNED positions (stored), "
                   "3 layers, dim 48, 3 heads of 16, hidden_dim 96",
        "cfg": dict(layers=3, hidden=48, heads=3, intermediate=96, max_pos=40, eps=DISTILBERT_LN_EPS,
                    act="relu", pad=0, sinusoidal=False),
        "seed": 9001, "dtype": "F16", "torch_dtype": "float16", "prefix": "distilbert.",
        "arch": "DistilBertForMaskedLM", "wordpiece_from": "bert-tiny-uncased",
        "tokenizer_class": "DistilBertTokenizer",
        "texts": ["Hello world!",
                  ("Where is Berlin?", "In Germany, I believe.")],
        "batch_text": "The dog jumps over the fox.",
    },
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: test/fixtures)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    gb.self_test_codec()
    self_test_sinusoid()
    self_test_position_ids()

    total = 0
    for spec in SPECS:
        d, cfg, w32, head = build_fixture(args.out, spec)
        verify_fixture(d, spec, cfg, w32, head, args.out)
        with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
            cj = json.load(f)
        print(f"{spec['name']}: re-read and re-run ok; noise {cj['noise']}")
        print(f"  sensitivity {cj['sensitivity_max_abs_change']}")
        for f in sorted(os.listdir(d)):
            size = os.path.getsize(os.path.join(d, f))
            total += size
            print(f"  {f:28s} {size:8d}")
            if size >= MAX_FILE_BYTES:
                raise SystemExit(f"{f} is over 1 MB")
    print(f"total {total} bytes")
    if total >= MAX_TOTAL_BYTES:
        raise SystemExit("the RoBERTa/DistilBERT fixtures are over 3 MB in total")


if __name__ == "__main__":
    sys.exit(main())
