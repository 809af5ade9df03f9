#!/usr/bin/python3
"""Reference generator for libcontextembed's GPT-2 test fixtures.

Writes two small random-weight GPT-2 checkpoints in Hugging Face layout under
test/fixtures/gpt2-*/ with a byte-level BPE tokenizer trained here, and the
logits, hidden states and greedy continuations that a from-scratch PyTorch
implementation of Hugging Face's `GPT2LMHeadModel` (eval mode) computes for
them.  Nothing here imports `transformers`, `tokenizers` or `safetensors`: the
forward pass, the BPE trainer and the GPT-2 encoder are written out below, the
forward pass is cross-checked against torch.nn's TransformerEncoderLayer, and
everything is checked against real reference data when ../shared/refdata is
there (GPT-2's vocabulary with Hugging Face's golden ids, and Hugging Face's
tiny-random-gpt2 checkpoint with its expected greedy generation).

Run from anywhere:  /usr/bin/python3 test/gen/gen_gpt2.py
See test/gen/README.md for what each fixture is for.
"""

import argparse
import json
import math
import os
import sys
import unicodedata

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True    # keep __pycache__ out of the source tree
import gen_bert as st  # noqa: E402  (safetensors writer/reader, JSON helpers)

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
DEFAULT_REFDATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "refdata"))
TRANSFORMERS_VERSION = "4.36.2"   # the version whose file layout we imitate
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 3 << 20
EOT = "<|endoftext|>"
GREEDY_STEPS = 12
MIN_GREEDY_MARGIN = 2e-3          # top-1 minus top-2 logit at every greedy step


# ---------------------------------------------------------------------------
# GPT-2 byte-level BPE: pre-tokenizer, encoder, trainer
# ---------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (encoder.py): printable
    Latin-1 bytes map to themselves, the other 68 to U+0100 onwards, in order."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {c: b for b, c in BYTE_ENC.items()}

# Unicode White_Space, the set the regex engines' \s uses (Python's str.isspace
# differs: it also takes U+001C..U+001F and leaves nothing out we need).
_WHITE_SPACE = set(range(0x09, 0x0E)) | {0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F,
                                         0x205F, 0x3000} | set(range(0x2000, 0x200B))


def _is_space(c):
    return ord(c) in _WHITE_SPACE


def _is_letter(c):                      # \p{L}: Lu Ll Lt Lm Lo
    return unicodedata.category(c)[0] == "L"


def _is_number(c):                      # \p{N}: Nd Nl No
    return unicodedata.category(c)[0] == "N"


def _is_other(c):                       # [^\s\p{L}\p{N}]
    return not (_is_space(c) or _is_letter(c) or _is_number(c))


_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def _run(text, i, pred):
    while i < len(text) and pred(text[i]):
        i += 1
    return i


def _match_at(text, i):
    """End of the match of GPT-2's pattern at position i, trying its
    alternatives in order as a backtracking regex engine does:
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    for c in _CONTRACTIONS:
        if text.startswith(c, i):
            return i + len(c)
    for pred in (_is_letter, _is_number, _is_other):
        # " ?" is greedy: take the space if the class follows it, else retry without.
        j = i + 1 if text[i] == " " and i + 1 < len(text) and pred(text[i + 1]) else i
        end = _run(text, j, pred)
        if end > j:
            return end
    end = _run(text, i, _is_space)
    # \s+(?!\S): the whole run at the end of text, otherwise leave its last
    # character to prefix the next word; a single space falls through to \s+.
    if end == len(text) or end - i < 2:
        return end
    return end - 1


def pretokenize(text):
    out, i = [], 0
    while i < len(text):
        j = _match_at(text, i)
        assert j > i, (text, i)
        out.append(text[i:j])
        i = j
    return out


def split_special(text, specials):
    """Hugging Face splits added tokens out of the text before pre-tokenizing:
    [(is_special, piece), ...], leftmost match first."""
    out, i, start = [], 0, 0
    while i < len(text):
        hit = next((s for s in specials if text.startswith(s, i)), None)
        if hit is None:
            i += 1
            continue
        if i > start:
            out.append((False, text[start:i]))
        out.append((True, hit))
        i = start = i + len(hit)
    if start < len(text):
        out.append((False, text[start:]))
    return out


class ByteBpe:
    """The published GPT-2 encoder (openai/gpt-2 src/encoder.py): byte-level
    map, then repeatedly merge the adjacent pair of lowest merge rank."""

    def __init__(self, vocab, merges, specials=(EOT,)):
        self.vocab = vocab                                  # token -> id
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.specials = [s for s in specials if s in vocab]
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = {(a, b) for a, b in zip(parts, parts[1:])}
            best = min(pairs, key=lambda p: self.ranks.get(p, math.inf))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def tokenize(self, text, specials=True):
        pieces = split_special(text, self.specials) if specials else [(False, text)]
        toks = []
        for is_special, piece in pieces:
            if is_special:
                toks.append(piece)
                continue
            for word in pretokenize(piece):
                toks.extend(self.bpe("".join(BYTE_ENC[b] for b in word.encode("utf-8"))))
        return toks

    def encode(self, text, specials=True):
        toks = self.tokenize(text, specials)
        return toks, [self.vocab[t] for t in toks]

    def decode(self, ids):
        raw = bytes(b for i in ids for b in (self.inv[i].encode() if self.inv[i] in self.specials
                                             else bytes(BYTE_DEC[c] for c in self.inv[i])))
        return raw.decode("utf-8", errors="replace")


def load_gpt2_vocab(vocab_path, merges_path):
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(merges_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].startswith("#version"), merges_path
    merges = [tuple(line.split(" ")) for line in lines[1:] if line]
    return vocab, merges


def train_bpe(text, n_merges):
    """A plain byte-level BPE trainer: word counts from the GPT-2 pre-tokenizer,
    then repeatedly merge the most frequent adjacent pair (ties: the smaller
    pair in code-point order; once every pair is unique, rare whole words
    merge).  Merges never cross pre-token boundaries, so "Ġ" only ever starts
    a token, as in GPT-2."""
    counts = {}
    for word in pretokenize(text):
        w = tuple(BYTE_ENC[b] for b in word.encode("utf-8"))
        counts[w] = counts.get(w, 0) + 1
    words = list(counts.items())
    merges = []
    while len(merges) < n_merges:
        pairs = {}
        for w, n in words:
            for p in zip(w, w[1:]):
                pairs[p] = pairs.get(p, 0) + n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        new_words = []
        for w, n in words:
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words.append((tuple(out), n))
        words = new_words
    return vocab_from_merges(merges), merges


def vocab_from_merges(merges):
    """GPT-2's id layout: the 256 byte symbols in bytes_to_unicode order, one id
    per merge result in merge order, <|endoftext|> last."""
    vocab = {}
    for sym in BYTE_ENC.values():
        vocab[sym] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    return vocab


def check_encoder_against_golden(refdata):
    """The encoder on GPT-2's real vocabulary must give Hugging Face's ids for
    all golden strings, with and without matching <|endoftext|> in the text."""
    base = os.path.join(refdata, "tokenizers")
    vp, mp = os.path.join(base, "gpt2", "vocab.json"), os.path.join(base, "gpt2", "merges.txt")
    golden = os.path.join(base, "golden", "gpt2.jsonl")
    if not all(os.path.exists(p) for p in (vp, mp, golden)):
        print("encoder self-check: refdata absent, skipped")
        return None
    enc = ByteBpe(*load_gpt2_vocab(vp, mp))
    total, bad, both = 0, [], 0
    with open(golden, encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            total += 1
            toks, ids = enc.encode(g["text"])
            ok = ids == g["ids"] and toks == g["tokens"]
            if "ids_special_as_text" in g:
                both += 1
                ok &= enc.encode(g["text"], specials=False)[1] == g["ids_special_as_text"]
            if not ok:
                bad.append((g["id"], g["category"]))
    print(f"encoder self-check vs HF golden gpt2: {total - len(bad)}/{total} match "
          f"(ids and tokens; {both} also as plain text)")
    if bad:
        raise SystemExit(f"GPT-2 encoder disagrees with Hugging Face on {bad}")
    return {"golden_lines": total, "matched": total - len(bad)}


# A few paragraphs to learn the merges from.  The accented words give a few
# merges inside multi-byte UTF-8 sequences; emoji never occur, so they always
# fall back to single byte symbols.
TRAINING_TEXT = """\
The old man walked down to the sea every morning. He said hello to the fishermen, \
and they said hello to him. It was a quiet town, and the people there knew each \
other by name. When the weather was good, the boats went out early and came back \
late in the afternoon with their nets full of fish.

Hello world! This is a small model, and it is not trained on anything useful. It \
has a tiny vocabulary, a few layers, and random weights. We use it to test that a \
library computes the same numbers as the reference. If the numbers are the same, \
the test passes; if they are not the same, the test fails and we look for the bug.

In the city there is a café near the river. The owner is naïve about money but \
he makes the best coffee in Zürich, and people come from far away to drink it. \
His résumé says he studied in München and worked in a small hotel in Genève. \
Every evening he sits at the window, reads the paper, and talks with his friends \
about the weather, the news, and the price of coffee.

What did they say? They said that the model was working, that the tokenizer was \
working, and that the tests were passing. We'll see. It's not easy to be sure, \
and there are always more tests to write. I've learned that the hard way, and \
you'll learn it too. Don't trust a number you haven't checked twice.

Once upon a time there was a little house on a hill. In the house lived a woman \
with three children and a very old dog. The children played in the garden all \
day, and the dog slept in the sun. In 1999 the woman planted 12 trees; in 2024 \
there were 30 trees and a small forest around the house.

The quick brown fox jumps over the lazy dog. The dog doesn't move; it's far too \
lazy, and the fox knows it. The fox jumps again and again, and the dog sleeps on. \
At the end of the day the fox is tired and the dog is still sleeping in the sun.

She's the one who wrote the first version of the program. It read a text, split \
it into words, counted the words, and printed the numbers. Then she added a model \
that could guess the next word, and the program started to write its own text. \
The text was strange, but it was not random: it looked like the books she had read.

Good morning! How are you today? I'm fine, thank you, and you? We're going to the \
market this morning to buy bread, cheese, apples and a little coffee. They're \
selling fresh fish by the water, and the children want to see the boats.

Where is the station? It's on the other side of the river, near the old bridge. \
Walk along the water for ten minutes, turn left at the church, and you'll see it. \
The trains leave every hour, and the last one goes at eleven in the evening.

The world is large and the town is small, but the people who live there say that \
they would not want to live anywhere else. They know the sea, the hills, and the \
weather, and they know each other. That is enough for them, they say.
"""


# ---------------------------------------------------------------------------
# Configuration and random weights
# ---------------------------------------------------------------------------

class Cfg:
    def __init__(self, vocab_size, n_embd, n_layer, n_head, n_positions, n_inner=None,
                 act="gelu_new", eps=1e-5, scale_attn_weights=True, scale_inv_layer=False, tied=True):
        self.__dict__.update(locals())
        del self.__dict__["self"]
        self.inner = n_inner if n_inner is not None else 4 * n_embd
        self.head_dim = n_embd // n_head
        assert self.head_dim * n_head == n_embd

    @classmethod
    def from_hf(cls, c, tied):
        return cls(vocab_size=c["vocab_size"], n_embd=c["n_embd"], n_layer=c["n_layer"],
                   n_head=c["n_head"], n_positions=c["n_positions"], n_inner=c.get("n_inner"),
                   act=c.get("activation_function", "gelu_new"), eps=c.get("layer_norm_epsilon", 1e-5),
                   scale_attn_weights=c.get("scale_attn_weights", True),
                   scale_inv_layer=c.get("scale_attn_by_inverse_layer_idx", False), tied=tied)


def hf_config(cfg, eot_id, torch_dtype):
    """config.json as transformers 4.36 writes GPT2Config for GPT2LMHeadModel.
    `tie_word_embeddings` is written only when false (it differs from the
    default then); without it, HF would re-tie a stored lm_head.weight to wte."""
    c = {
        "activation_function": cfg.act,
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": eot_id,
        "embd_pdrop": 0.1,
        "eos_token_id": eot_id,
        "initializer_range": 0.02,
        "layer_norm_epsilon": cfg.eps,
        "model_type": "gpt2",
        "n_ctx": cfg.n_positions,
        "n_embd": cfg.n_embd,
        "n_head": cfg.n_head,
        "n_inner": cfg.n_inner,
        "n_layer": cfg.n_layer,
        "n_positions": cfg.n_positions,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": cfg.scale_inv_layer,
        "scale_attn_weights": cfg.scale_attn_weights,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": cfg.vocab_size,
    }
    if not cfg.tied:
        c["tie_word_embeddings"] = False
    return c


def make_weights(cfg, seed):
    """GPT2Model parameters (names without prefix) in state-dict order, plus
    lm_head.weight when untied.  Standard deviations are far above GPT-2's 0.02
    on purpose: attention is peaked, every block moves the residual stream, and
    logits are spread over several units, so a wrong activation, epsilon,
    scaling or head split cannot pass."""
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std + mean

    d, f, v = cfg.n_embd, cfg.inner, cfg.vocab_size
    w = {"wte.weight": normal((v, d), 0.3), "wpe.weight": normal((cfg.n_positions, d), 0.3)}
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = normal((d,), 0.1, 1.0)
        w[p + "ln_1.bias"] = normal((d,), 0.1)
        w[p + "attn.c_attn.weight"] = normal((d, 3 * d), 0.2)        # Conv1D: [in, out]
        w[p + "attn.c_attn.bias"] = normal((3 * d,), 0.1)
        w[p + "attn.c_proj.weight"] = normal((d, d), 0.2)
        w[p + "attn.c_proj.bias"] = normal((d,), 0.1)
        w[p + "ln_2.weight"] = normal((d,), 0.1, 1.0)
        w[p + "ln_2.bias"] = normal((d,), 0.1)
        w[p + "mlp.c_fc.weight"] = normal((d, f), 0.2)
        w[p + "mlp.c_fc.bias"] = normal((f,), 0.1)
        w[p + "mlp.c_proj.weight"] = normal((f, d), 0.12)
        w[p + "mlp.c_proj.bias"] = normal((d,), 0.1)
    w["ln_f.weight"] = normal((d,), 0.1, 1.0)
    w["ln_f.bias"] = normal((d,), 0.1)
    if not cfg.tied:
        w["lm_head.weight"] = normal((v, d), 0.3)
    return w


# ---------------------------------------------------------------------------
# Reference forward: Hugging Face GPT2LMHeadModel, eval mode, written out
# ---------------------------------------------------------------------------

def _gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def _gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


ACTIVATIONS = {"gelu_new": _gelu_new, "gelu": _gelu_erf, "relu": torch.relu}
# torch's own versions, for the torch.nn cross-check (gelu_new is GELU's tanh form).
NN_ACTIVATIONS = {"gelu_new": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
                  "gelu": torch.nn.functional.gelu, "relu": torch.nn.functional.relu}


def _conv1d(x, w, b):
    """transformers' Conv1D: weight [in, out], y = x @ W + b (addmm as HF)."""
    return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).view(*x.shape[:-1], w.shape[1])


def _ln(x, W, name, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], W[name + ".weight"], W[name + ".bias"], eps)


def gpt2_forward(W, cfg, ids, pos=None, mask=None, past=None):
    """Hidden states [L+1, B, T, D] as HF returns them, logits [B, T, V] and the
    per-layer (key, value) cache.

    ids: int64 [B, T].  pos: position ids [B, T]; default past_len + 0..T-1.
    mask: 1/0 [B, past_len + T] or None; applied as HF does, (1 - mask) *
    finfo.min added to the scores after the causal where().  past: the cache
    returned by an earlier call."""
    dtype = W["wte.weight"].dtype
    B, T = ids.shape
    P = past[0][0].shape[2] if past else 0
    if pos is None:
        pos = (P + torch.arange(T))[None].expand(B, T)
    H, hd, D = cfg.n_head, cfg.head_dim, cfg.n_embd
    fmin = torch.full([], torch.finfo(dtype).min, dtype=dtype)
    causal = torch.tril(torch.ones(P + T, P + T, dtype=torch.bool))[P:]       # [T, P+T]
    add_mask = None if mask is None else (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min
    act = ACTIVATIONS[cfg.act]
    x = W["wte.weight"][ids] + W["wpe.weight"][pos]
    states, presents = [], []
    for i in range(cfg.n_layer):
        states.append(x)                              # HF records each block's input
        p = f"h.{i}."
        qkv = _conv1d(_ln(x, W, p + "ln_1", cfg.eps), W[p + "attn.c_attn.weight"], W[p + "attn.c_attn.bias"])
        q, k, v = (t.view(B, T, H, hd).permute(0, 2, 1, 3) for t in qkv.split(D, dim=-1))
        if past:
            k, v = torch.cat([past[i][0], k], dim=2), torch.cat([past[i][1], v], dim=2)
        presents.append((k, v))
        s = q @ k.transpose(-1, -2)
        if cfg.scale_attn_weights:
            s = s / torch.full([], v.shape[-1] ** 0.5, dtype=dtype)
        if cfg.scale_inv_layer:
            s = s / float(i + 1)
        s = torch.where(causal, s, fmin)
        if add_mask is not None:
            s = s + add_mask
        ctx = (torch.softmax(s, dim=-1) @ v).permute(0, 2, 1, 3).reshape(B, T, D)
        h = x + _conv1d(ctx, W[p + "attn.c_proj.weight"], W[p + "attn.c_proj.bias"])
        m = act(_conv1d(_ln(h, W, p + "ln_2", cfg.eps), W[p + "mlp.c_fc.weight"], W[p + "mlp.c_fc.bias"]))
        x = h + _conv1d(m, W[p + "mlp.c_proj.weight"], W[p + "mlp.c_proj.bias"])
    x = _ln(x, W, "ln_f", cfg.eps)
    states.append(x)                                  # HF appends the last one after ln_f
    head = W["wte.weight"] if cfg.tied else W["lm_head.weight"]
    return torch.stack(states), x @ head.t(), presents


def torch_nn_forward(W, cfg, ids):
    """The same model assembled from torch.nn modules in float64, one unpadded
    sequence [1, T]: a GPT-2 block is a pre-norm TransformerEncoderLayer with a
    causal mask.  The extra 1/(layer+1) (or the missing 1/sqrt(head_dim)) is
    folded into the query projection."""
    dt = torch.float64
    W = {k: v.to(dt) for k, v in W.items()}
    T, D = ids.shape[1], cfg.n_embd
    x = (torch.nn.functional.embedding(ids, W["wte.weight"])
         + torch.nn.functional.embedding(torch.arange(T)[None], W["wpe.weight"]))
    causal = torch.triu(torch.full((T, T), -math.inf, dtype=dt), diagonal=1)
    states = []
    for i in range(cfg.n_layer):
        states.append(x)
        p = f"h.{i}."
        layer = torch.nn.TransformerEncoderLayer(
            D, cfg.n_head, dim_feedforward=cfg.inner, dropout=0.0, activation=NN_ACTIVATIONS[cfg.act],
            layer_norm_eps=cfg.eps, batch_first=True, norm_first=True).to(dt).eval()
        qscale = (1.0 / (i + 1) if cfg.scale_inv_layer else 1.0) * (
            1.0 if cfg.scale_attn_weights else math.sqrt(cfg.head_dim))
        w_in, b_in = W[p + "attn.c_attn.weight"].t().clone(), W[p + "attn.c_attn.bias"].clone()
        w_in[:D] *= qscale
        b_in[:D] *= qscale
        sa = layer.self_attn
        sa.in_proj_weight.data, sa.in_proj_bias.data = w_in, b_in
        sa.out_proj.weight.data = W[p + "attn.c_proj.weight"].t().contiguous()
        sa.out_proj.bias.data = W[p + "attn.c_proj.bias"]
        layer.norm1.weight.data, layer.norm1.bias.data = W[p + "ln_1.weight"], W[p + "ln_1.bias"]
        layer.norm2.weight.data, layer.norm2.bias.data = W[p + "ln_2.weight"], W[p + "ln_2.bias"]
        layer.linear1.weight.data = W[p + "mlp.c_fc.weight"].t().contiguous()
        layer.linear1.bias.data = W[p + "mlp.c_fc.bias"]
        layer.linear2.weight.data = W[p + "mlp.c_proj.weight"].t().contiguous()
        layer.linear2.bias.data = W[p + "mlp.c_proj.bias"]
        x = layer(x, src_mask=causal)
    ln_f = torch.nn.LayerNorm(D, eps=cfg.eps).to(dt)
    ln_f.weight.data, ln_f.bias.data = W["ln_f.weight"], W["ln_f.bias"]
    x = ln_f(x)
    states.append(x)
    head = W["wte.weight"] if cfg.tied else W["lm_head.weight"]
    return torch.stack(states), torch.nn.functional.linear(x, head)


def run_one(W, cfg, ids):
    """One unpadded sequence: hidden states [L+1, T, D] and logits [T, V] in
    float32, checked against a float64 run and the torch.nn assembly.
    Returns them with the float32-vs-float64 differences."""
    t = torch.tensor([ids])
    with torch.no_grad():
        hs, logits, _ = gpt2_forward(W, cfg, t)
        W64 = {k: v.double() for k, v in W.items()}
        hs64, lg64, _ = gpt2_forward(W64, cfg, t)
        nn_hs, nn_lg = torch_nn_forward(W, cfg, t)
    d_nn = max((hs64 - nn_hs).abs().max().item(), (lg64 - nn_lg).abs().max().item())
    if d_nn > 1e-9:
        raise SystemExit(f"reference disagrees with torch.nn by {d_nn} (float64)")
    hs, logits = hs[:, 0], logits[0]
    if not (torch.isfinite(hs).all() and torch.isfinite(logits).all()):
        raise SystemExit("non-finite output")
    return hs, logits, {"hidden": (hs.double() - hs64[:, 0]).abs().max().item(),
                        "logits": (logits.double() - lg64[0]).abs().max().item()}


def greedy(W, cfg, ids, steps=GREEDY_STEPS):
    """Greedy continuation re-running the whole sequence at every step (no cache),
    as an independent check of a library's KV cache.  Also returns the smallest
    top-1 minus top-2 logit margin over the steps."""
    seq, margin = list(ids), math.inf
    with torch.no_grad():
        for _ in range(steps):
            _, logits, _ = gpt2_forward(W, cfg, torch.tensor([seq]))
            top = torch.topk(logits[0, -1], 2)
            margin = min(margin, (top.values[0] - top.values[1]).item())
            seq.append(int(top.indices[0]))
    return seq[len(ids):], margin


def greedy_cached(W, cfg, ids, steps=GREEDY_STEPS):
    """The same continuation with a KV cache (positions past_len..): ids and the
    last-position logits of every step, to compare with full re-runs."""
    out, step_logits = [], []
    with torch.no_grad():
        _, logits, past = gpt2_forward(W, cfg, torch.tensor([ids]))
        for _ in range(steps):
            step_logits.append(logits[0, -1])
            nxt = int(torch.argmax(logits[0, -1]))
            out.append(nxt)
            _, logits, past = gpt2_forward(W, cfg, torch.tensor([[nxt]]), past=past)
    return out, torch.stack(step_logits)


def check_cache(W, cfg, ids, want):
    got, step_logits = greedy_cached(W, cfg, ids, len(want))
    if got != want:
        raise SystemExit(f"KV-cache greedy {got} differs from full re-runs {want}")
    with torch.no_grad():
        _, full, _ = gpt2_forward(W, cfg, torch.tensor([list(ids) + want[:-1]]))
    return (full[0, len(ids) - 1:] - step_logits).abs().max().item()


def run_batch(W, cfg, seqs, side):
    """Run sequences together, padded on `side` with <|endoftext|>, attention mask
    0 on padding.  Positions as HF's generate() makes them: cumsum(mask) - 1, so
    every sequence sees 0..T_b-1.  Returns the unpadded per-sequence outputs."""
    T = max(len(s) for s in seqs)
    pad = cfg.vocab_size - 1
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, s in enumerate(seqs):
        sl = slice(T - len(s), T) if side == "left" else slice(0, len(s))
        ids[b, sl], mask[b, sl] = torch.tensor(s), 1
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    with torch.no_grad():
        hs, logits, _ = gpt2_forward(W, cfg, ids, pos=pos, mask=mask)
    outs = []
    for b, s in enumerate(seqs):
        sl = slice(T - len(s), T) if side == "left" else slice(0, len(s))
        outs.append((hs[:, b, sl].clone(), logits[b, sl].clone()))
    return outs, T


def self_test_variants():
    """Options no fixture uses (relu, scale_attn_weights false) on small random
    weights: the torch.nn cross-check, the KV cache and the padded batch."""
    for kw in ({"act": "relu", "scale_attn_weights": False, "tied": False},
               {"act": "gelu_new", "scale_inv_layer": True}):
        cfg = Cfg(vocab_size=50, n_embd=24, n_layer=3, n_head=2, n_positions=24, n_inner=40, **kw)
        W = make_weights(cfg, 99)
        seqs = [[3, 14, 15, 9, 26], [5, 35], [8, 9, 7, 9, 3, 2, 38]]
        for ids in seqs:
            run_one(W, cfg, ids)
            check_cache(W, cfg, ids, greedy(W, cfg, ids, 5)[0])
        for side in ("left", "right"):
            for ids, (hs, lg) in zip(seqs, run_batch(W, cfg, seqs, side)[0]):
                hs1, lg1, _ = run_one(W, cfg, ids)
                assert (hs - hs1).abs().max() < 1e-5 and (lg - lg1).abs().max() < 1e-5, side


# ---------------------------------------------------------------------------
# Loading a Hugging Face GPT-2 directory (for the reference checkpoint and to
# re-check the fixtures from the files as written)
# ---------------------------------------------------------------------------

def _is_buffer(name):
    """Causal-mask buffers older transformers saved; not weights."""
    return name.endswith(".attn.bias") or name.endswith(".attn.masked_bias")


def load_hf_gpt2(d):
    """(cfg, weights as float32 with GPT2Model names, ignored tensor names)."""
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        conf = json.load(f)
    _, ts, _ = st.st_read(os.path.join(d, "model.safetensors"))
    prefix = "transformer." if "transformer.wte.weight" in ts else ""
    W, ignored = {}, []
    for name, t in ts.items():
        if _is_buffer(name):
            ignored.append(name)
        elif name == "lm_head.weight":
            W[name] = torch.from_numpy(st.st_to_float(t))
        elif name.startswith(prefix):
            W[name[len(prefix):]] = torch.from_numpy(st.st_to_float(t))
        else:
            ignored.append(name)
    tied = "lm_head.weight" not in W or conf.get("tie_word_embeddings", True)
    if tied:
        W.pop("lm_head.weight", None)
    return Cfg.from_hf(conf, tied), W, sorted(ignored)


def check_tiny_random_gpt2(refdata):
    """Reproduce Hugging Face's tiny-random-gpt2: the prompt ids of its
    tokenizer, the derived numpy forward (final hidden state, logits) and
    Hugging Face's own greedy generation from "Hello I believe in"."""
    d = os.path.join(refdata, "models", "tiny-random-gpt2")
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        print("tiny-random-gpt2 check: refdata absent, skipped")
        return None
    cfg, W, ignored = load_hf_gpt2(d)
    with open(os.path.join(d, "golden_hf_pipeline.json"), encoding="utf-8") as f:
        golden = json.load(f)
    _, derived, _ = st.st_read(os.path.join(d, "derived_numpy_forward_hello_i_believe_in.safetensors"))
    enc = ByteBpe(*load_gpt2_vocab(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")))
    toks, ids = enc.encode(golden["prompt"])
    assert ids == golden["prompt_ids_by_this_tokenizer"] and toks == golden["prompt_tokens"], (ids, toks)
    assert ids == st.st_to_float(derived["input_ids"]).tolist()
    hs, logits, noise = run_one(W, cfg, ids)
    d_h = float(np.abs(hs[-1].numpy() - st.st_to_float(derived["last_hidden_state_after_ln_f"])).max())
    d_l = float(np.abs(logits.numpy() - st.st_to_float(derived["logits"])).max())
    gen, margin = greedy(W, cfg, ids)
    d_cache = check_cache(W, cfg, ids, gen)
    ok = (gen == golden["generated_ids"] and gen == st.st_to_float(derived["greedy_continuation_ids"]).tolist()
          and d_h < 1e-4 and d_l < 1e-4)
    print(f"tiny-random-gpt2: prompt ids match; vs derived numpy forward: max |d hidden| {d_h:.3g}, "
          f"max |d logits| {d_l:.3g}; greedy {gen[:3]}.. {'==' if ok else '!='} HF golden "
          f"(min margin {margin:.3g}); KV cache vs full {d_cache:.3g}; f32 vs f64 logits "
          f"{noise['logits']:.3g}; ignored {len(ignored)} tensors")
    if not ok:
        raise SystemExit("reference forward does not reproduce tiny-random-gpt2")
    return {"max_abs_diff_hidden_after_ln_f": st._r(d_h), "max_abs_diff_logits": st._r(d_l),
            "greedy_matches_hf": True, "kv_cache_vs_full_max_abs": st._r(d_cache)}


# ---------------------------------------------------------------------------
# Tokenizer files
# ---------------------------------------------------------------------------

def write_tokenizer_files(d, vocab, merges, max_len, merges_as_pairs):
    """vocab.json + merges.txt as GPT2Tokenizer.save_vocabulary writes them, and
    tokenizer.json as Hugging Face tokenizers does: merges as "a b" strings
    (tokenizers < 0.20) or as ["a", "b"] pairs (tokenizers >= 0.20)."""
    eot_id = vocab[EOT]
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
             "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False}
    if merges_as_pairs:
        model["ignore_merges"] = False
    model["vocab"] = vocab
    model["merges"] = [[a, b] for a, b in merges] if merges_as_pairs else [f"{a} {b}" for a, b in merges]
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": eot_id, "content": EOT, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": model,
    }
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(tj, indent=2, ensure_ascii=False) + "\n")
    special = {"content": EOT, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    st.write_json(os.path.join(d, "tokenizer_config.json"), {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(eot_id): dict(special, special=True)},
        "bos_token": EOT,
        "clean_up_tokenization_spaces": True,
        "eos_token": EOT,
        "errors": "replace",
        "model_max_length": max_len,
        "pad_token": None,
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": EOT,
    })
    st.write_json(os.path.join(d, "special_tokens_map.json"),
                  {"bos_token": special, "eos_token": special, "unk_token": special})


def read_tokenizer_json(path):
    """vocab and merges back from tokenizer.json (either merges format)."""
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tj["model"]["merges"]]
    return tj["model"]["vocab"], merges, tj["added_tokens"]


def exact_length_text(enc, source, n):
    """The first run of whole words of `source` that encodes to exactly n tokens."""
    words = source.split(" ")
    for start in range(len(words)):
        for k in range(start + 1, len(words) + 1):
            text = " ".join(words[start:k])
            m = len(enc.encode(text)[1])
            if m == n:
                return text
            if m > n:
                break
    raise SystemExit(f"no run of words of the source text has exactly {n} tokens")


# ---------------------------------------------------------------------------
# One fixture
# ---------------------------------------------------------------------------

def round_to(w, dtype):
    tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    return {k: v.to(tdt).to(torch.float32) for k, v in w.items()}


def checkpoint_tensors(w32, spec, cfg):
    """Tensors of model.safetensors: the weights as `dtype` under the spec's
    prefix (lm_head.weight never has one), plus the old mask buffers."""
    dtype, prefix = spec["dtype"], spec["prefix"]
    out = {(k if k == "lm_head.weight" else prefix + k): st.st_from_torch(v, dtype) for k, v in w32.items()}
    P = cfg.n_positions
    tril = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
    for i in range(cfg.n_layer):
        name = f"{prefix}h.{i}.attn."
        if spec["mask_buffers"] == "bool":
            # transformers 4.x before 4.31: bool `bias` plus the float `masked_bias` scalar.
            out[name + "bias"] = st.StTensor("BOOL", [1, 1, P, P], tril.to(torch.uint8).numpy().tobytes())
            out[name + "masked_bias"] = st.st_from_torch(torch.tensor(-1e4), "F32")
        elif spec["mask_buffers"] == "float":
            # transformers 2.x registered a float tril; model.half() made it F16 like the weights.
            out[name + "bias"] = st.st_from_torch(tril, dtype)
    return out


def shrink_rows(w, eot_id):
    """Make the <|endoftext|> embedding and position 0 tiny, so the variance
    reaching layer 0's ln_1 for `<|endoftext|>` at position 0 is ~1e-4 and
    layer_norm_epsilon visibly matters there."""
    w["wte.weight"][eot_id] *= 0.03
    w["wpe.weight"][0] *= 0.03
    return w


def case_record(enc, name, ids, text, note, hs, logits, gen, margin):
    rec = {"name": name}
    if text is not None:
        rec["text"] = text
    if note:
        rec["note"] = note
    rec.update(tokens=[enc.inv[i] for i in ids], input_ids=ids, length=len(ids),
               logits_shape=list(logits.shape), hidden_states_shape=list(hs.shape),
               max_abs_logit=st._r(logits.abs().max()), max_abs_hidden=st._r(hs.abs().max()),
               max_abs_hidden_per_entry=[st._r(h.abs().max()) for h in hs])
    if gen is not None:
        rec.update(greedy_ids=gen, greedy_tokens=[enc.inv[i] for i in gen],
                   greedy_text=enc.decode(gen), greedy_min_margin=st._r(margin))
    else:
        rec["greedy_ids"] = None
    return rec


def sensitivity(W, cfg, seqs, ref):
    """How far plausible mistakes move the logits (max |d| over `seqs`): each
    must be far above the tolerance, or the fixture could not catch it."""
    variants = {
        "other_activation": {"act": "gelu" if cfg.act == "gelu_new" else "gelu_new"},
        "scale_attn_by_inverse_layer_idx_toggled": {"scale_inv_layer": not cfg.scale_inv_layer},
        "no_1/sqrt(head_dim)": {"scale_attn_weights": False},
        "eps_1e-5_vs_1e-6": {"eps": 1e-6 if cfg.eps != 1e-6 else 1e-5},
        "eps_1e-12": {"eps": 1e-12},
    }
    if not cfg.tied:
        variants["head_tied_to_wte"] = {"tied": True}
    out = {}
    with torch.no_grad():
        for name, change in variants.items():
            c2 = Cfg(**{**{k: getattr(cfg, k) for k in ("vocab_size", "n_embd", "n_layer", "n_head",
                                                         "n_positions", "n_inner", "act", "eps",
                                                         "scale_attn_weights", "scale_inv_layer",
                                                         "tied")}, **change})
            diff = 0.0
            for s, want in zip(seqs, ref):
                diff = max(diff, (gpt2_forward(W, c2, torch.tensor([s]))[1][0] - want).abs().max().item())
            out[name] = st._r(diff)
    return out


def build_fixture(out_dir, spec, enc, vocab, merges):
    name = spec["name"]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    cfg = Cfg(vocab_size=len(vocab), **spec["cfg"])
    eot_id = vocab[EOT]
    w32 = shrink_rows(make_weights(cfg, spec["seed"]), eot_id)
    W = round_to(w32, spec["dtype"])                  # the reference sees the stored values

    st.st_write(os.path.join(d, "model.safetensors"), checkpoint_tensors(w32, spec, cfg), {"format": "pt"})
    st.write_json(os.path.join(d, "config.json"), hf_config(cfg, eot_id, spec["torch_dtype"]))
    st.write_json(os.path.join(d, "generation_config.json"), {
        "_from_model_config": True, "bos_token_id": eot_id, "eos_token_id": eot_id,
        "transformers_version": TRANSFORMERS_VERSION})
    write_tokenizer_files(d, vocab, merges, cfg.n_positions, spec["merges_as_pairs"])

    texts = list(spec["texts"])
    texts.insert(spec["max_case_index"], exact_length_text(enc, spec["max_source"], cfg.n_positions))
    expected, cases, noise = {}, [], {"f32_vs_f64_hidden": 0.0, "f32_vs_f64_logits": 0.0,
                                      "kv_cache_vs_full_logits": 0.0}
    min_margin, all_ids, all_logits = math.inf, [], []
    for c, text in enumerate(texts):
        toks, ids = enc.encode(text)
        hs, logits, n = run_one(W, cfg, ids)
        noise["f32_vs_f64_hidden"] = max(noise["f32_vs_f64_hidden"], n["hidden"])
        noise["f32_vs_f64_logits"] = max(noise["f32_vs_f64_logits"], n["logits"])
        note = None
        if len(ids) + GREEDY_STEPS <= cfg.n_positions:
            gen, margin = greedy(W, cfg, ids)
            noise["kv_cache_vs_full_logits"] = max(noise["kv_cache_vs_full_logits"], check_cache(W, cfg, ids, gen))
            min_margin = min(min_margin, margin)
        else:
            assert len(ids) == cfg.n_positions, (text, len(ids))
            gen, margin = None, None
            note = "exactly n_positions tokens: no greedy continuation possible"
        if len(ids) == 1:
            note = "one token"
        if ids[0] == eot_id:
            note = "starts with <|endoftext|> (matched as a special token in the text)"
        k = f"case{c}"
        expected[k + ".input_ids"] = st.st_from_torch(torch.tensor(ids), "I32")
        expected[k + ".logits"] = st.st_from_torch(logits, "F32")
        expected[k + ".hidden_states"] = st.st_from_torch(hs, "F32")
        if gen is not None:
            expected[k + ".greedy_ids"] = st.st_from_torch(torch.tensor(gen), "I32")
        cases.append(case_record(enc, k, ids, text, note, hs, logits, gen, margin))
        all_ids.append(ids)
        all_logits.append(logits)
    if min_margin < MIN_GREEDY_MARGIN:
        raise SystemExit(f"{name}: a greedy step has top-2 margin {min_margin}; pick another seed")
    lengths = {len(i) for i in all_ids}
    assert 1 in lengths and cfg.n_positions in lengths and any(i[0] == eot_id for i in all_ids)

    batch_ids = [enc.encode(t)[1] for t in spec["batch_texts"]]
    assert len({len(b) for b in batch_ids}) == 3
    outs, padded = run_batch(W, cfg, batch_ids, "left")
    right, _ = run_batch(W, cfg, batch_ids, "right")
    batch, vs_alone = [], 0.0
    for b, (ids, (hs, logits), (hs_r, lg_r)) in enumerate(zip(batch_ids, outs, right)):
        alone_hs, alone_lg, _ = run_one(W, cfg, ids)
        for x, y in ((hs, alone_hs), (logits, alone_lg), (hs_r, alone_hs), (lg_r, alone_lg)):
            vs_alone = max(vs_alone, (x - y).abs().max().item())
        k = f"batch{b}"
        expected[k + ".input_ids"] = st.st_from_torch(torch.tensor(ids), "I32")
        expected[k + ".logits"] = st.st_from_torch(logits, "F32")
        expected[k + ".hidden_states"] = st.st_from_torch(hs, "F32")
        batch.append(case_record(enc, k, ids, spec["batch_texts"][b], None, hs, logits, None, None))
        del batch[-1]["greedy_ids"]
    st.st_write(os.path.join(d, "expected.safetensors"), expected, {"format": "pt"})
    noise["batched_vs_alone"] = vs_alone
    sens = sensitivity(W, cfg, all_ids, all_logits)

    st.write_readable_json(os.path.join(d, "cases.json"), {
        "fixture": name,
        "purpose": spec["purpose"],
        "generator": "test/gen/gen_gpt2.py (from-scratch PyTorch GPT2LMHeadModel, eval mode, float32)",
        "weights_dtype": spec["dtype"],
        "tensor_prefix": spec["prefix"],
        "lm_head": "tied to wte" if cfg.tied else "separate lm_head.weight (tie_word_embeddings false)",
        "ignored_tensors": spec["ignored_note"],
        "model": {"n_layer": cfg.n_layer, "n_embd": cfg.n_embd, "n_head": cfg.n_head, "n_inner": cfg.inner,
                  "n_positions": cfg.n_positions, "vocab_size": cfg.vocab_size,
                  "activation_function": cfg.act, "layer_norm_epsilon": cfg.eps,
                  "scale_attn_weights": cfg.scale_attn_weights,
                  "scale_attn_by_inverse_layer_idx": cfg.scale_inv_layer},
        "tokenizer": {"type": "GPT-2 byte-level BPE", "vocab_size": len(vocab), "merges": len(merges),
                      "eot_token": EOT, "eot_id": eot_id, "add_prefix_space": False,
                      "tokenizer_json_merges": "pairs [a, b]" if spec["merges_as_pairs"] else 'strings "a b"',
                      "special_tokens_in_text": "<|endoftext|> in the text is matched as the special token"},
        "outputs": {
            "logits": "<name>.logits F32 [T, vocab_size]: logits at every position",
            "hidden_states": "<name>.hidden_states F32 [n_layer+1, T, n_embd], as HF output_hidden_states: "
                             "0 = wte+wpe, i = input of block i (output of block i-1) for i < n_layer, "
                             "n_layer = ln_f(output of the last block)",
            "greedy_ids": f"<name>.greedy_ids I32 [{GREEDY_STEPS}]: greedy argmax continuation, no stop at "
                          "<|endoftext|>, computed by re-running the whole sequence each step",
        },
        "noise": {k: st._r(v) for k, v in noise.items()} | {
            "greedy_min_top2_margin": st._r(min_margin),
            "suggested_tolerance_abs": {"hidden_states": 1e-4, "logits": 2e-4}},
        "sensitivity_max_abs_logit_change": sens,
        "cases": cases,
        "batch": {"note": "run together, LEFT-padded with <|endoftext|>, attention mask 0 on padding, "
                          "position ids cumsum(mask)-1 (each sequence sees 0..T_b-1); stored unpadded. "
                          "A right-padded run gave the same values (see noise.batched_vs_alone)",
                  "padded_length": padded, "sequences": batch},
    })
    return d, cfg, w32


def verify_fixture(d, spec, cfg, w32, enc):
    """Re-read the files as a library would: weights equal the intended rounded
    values bit for bit, the forward from the loaded files reproduces
    expected.safetensors, and both tokenizer file sets re-encode the texts."""
    meta, ts, order = st.st_read(os.path.join(d, "model.safetensors"))
    assert meta == {"format": "pt"}
    assert order == sorted(ts, key=lambda n: (-st.ST_DTYPE_RANK.index(ts[n].dtype), n.encode()))
    lcfg, W, ignored = load_hf_gpt2(d)
    assert lcfg.__dict__ == cfg.__dict__, (lcfg.__dict__, cfg.__dict__)
    want = round_to(w32, spec["dtype"])
    assert sorted(W) == sorted(want), sorted(set(W) ^ set(want))
    for k in want:
        assert torch.equal(W[k], want[k]), f"{d}: {k} does not round-trip"
    vocab, merges = load_gpt2_vocab(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
    tv, tm, added = read_tokenizer_json(os.path.join(d, "tokenizer.json"))
    assert tv == vocab and tm == merges and added[0]["id"] == len(vocab) - 1 == cfg.vocab_size - 1
    enc_files = ByteBpe(vocab, merges)
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cj = json.load(f)
    _, exp, _ = st.st_read(os.path.join(d, "expected.safetensors"))
    L, D, V = cfg.n_layer + 1, cfg.n_embd, cfg.vocab_size
    for case in cj["cases"] + cj["batch"]["sequences"]:
        n, T, ids = case["name"], case["length"], case["input_ids"]
        assert enc_files.encode(case["text"])[1] == ids == enc.encode(case["text"])[1]
        assert st.st_to_float(exp[n + ".input_ids"]).tolist() == ids
        hs, lg = st.st_to_float(exp[n + ".hidden_states"]), st.st_to_float(exp[n + ".logits"])
        assert hs.shape == (L, T, D) and lg.shape == (T, V)
        with torch.no_grad():
            hs2, lg2, _ = gpt2_forward(W, lcfg, torch.tensor([ids]))
        assert np.abs(hs2[:, 0].numpy() - hs).max() <= 1e-5 and np.abs(lg2[0].numpy() - lg).max() <= 1e-5
        assert abs(float(np.abs(lg).max()) - case["max_abs_logit"]) <= 1e-5 * case["max_abs_logit"]
        if case.get("greedy_ids") is not None:
            assert st.st_to_float(exp[n + ".greedy_ids"]).tolist() == case["greedy_ids"]
        else:
            assert n + ".greedy_ids" not in exp
    return ignored


# ---------------------------------------------------------------------------
# The fixtures
# ---------------------------------------------------------------------------

MAX_SOURCE = ("The keeper of the lighthouse wrote in his book every night: the wind, the ships "
              "that passed, and the colour of the sea. In winter the storms came from the north, "
              "and he climbed the stairs four times a night to clean the glass. Nobody read the "
              "book while he lived, but after his death his daughter found it and printed it, "
              "and now every school in the town has a copy on its shelves.")

SPECS = [
    {
        "name": "gpt2-tiny",
        "purpose": "GPT2LMHeadModel layout (\"transformer.\" prefix), tied head, F32, gelu_new, eps 1e-5, "
                   "old BOOL attn.bias + F32 scalar attn.masked_bias buffers to ignore; byte-level BPE "
                   "end to end (accents, emoji bytes, contractions, digits, whitespace runs); a max-length "
                   "input; a prompt starting with <|endoftext|>; a padded batch; greedy continuations",
        "cfg": dict(n_embd=64, n_layer=2, n_head=4, n_positions=64, n_inner=None, act="gelu_new", eps=1e-5),
        "seed": 2024, "dtype": "F32", "torch_dtype": "float32", "prefix": "transformer.",
        "mask_buffers": "bool", "merges_as_pairs": False,
        "ignored_note": "transformer.h.{i}.attn.bias (BOOL [1,1,64,64]) and transformer.h.{i}.attn.masked_bias "
                        "(F32 scalar, shape []): buffers of older transformers, not weights",
        "texts": ["The",
                  "Hello world!",
                  "It's a test, isn't it? We'll see what they've done.",
                  "Naïve café owners in Zürich love tea 🙂 and crème brûlée.",
                  "In 2024, 3 models ran  twice\n\nover 12.5 GB of text.\t",
                  "<|endoftext|>The old man said hello to the sea."],
        "max_case_index": 5, "max_source": MAX_SOURCE,
        "batch_texts": ["The dog sat in the sun.",
                        "Where is the café? It's near the river, I believe.",
                        "Good morning"],
    },
    {
        "name": "gpt2-tiny-untied",
        "purpose": "GPT2Model names without prefix plus a separate (untied) lm_head.weight, F16 weights, "
                   "3 layers, 3 heads of 16, n_inner 96, erf gelu, eps 1e-6, scale_attn_by_inverse_layer_idx, "
                   "old float attn.bias buffers (F16, like the weights) to ignore; tokenizer.json with "
                   "merges as pairs",
        "cfg": dict(n_embd=48, n_layer=3, n_head=3, n_positions=32, n_inner=96, act="gelu", eps=1e-6,
                    scale_inv_layer=True, tied=False),
        "seed": 7, "dtype": "F16", "torch_dtype": "float16", "prefix": "",
        "mask_buffers": "float", "merges_as_pairs": True,
        "ignored_note": "h.{i}.attn.bias (F16 [1,1,32,32], same dtype as the weights): a buffer of old "
                        "transformers, not a weight",
        "texts": ["Hello",
                  "The quick brown fox jumps over the lazy dog.",
                  "Zürich café 🙂 crème, 12€",
                  "  two spaces,\ttab and\n\n",
                  "<|endoftext|>Once upon a time"],
        "max_case_index": 4, "max_source": MAX_SOURCE,
        "batch_texts": ["Good morning!", "Where is the station? Near the old bridge.", "I'm fine"],
    },
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: test/fixtures)")
    ap.add_argument("--refdata", default=DEFAULT_REFDATA,
                    help="optional ../shared/refdata for the encoder and tiny-random-gpt2 checks")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    self_test_variants()
    check_encoder_against_golden(args.refdata)
    check_tiny_random_gpt2(args.refdata)

    vocab, merges = train_bpe(TRAINING_TEXT, 320)
    enc = ByteBpe(vocab, merges)
    print(f"tokenizer: {len(merges)} merges, vocab_size {len(vocab)} (<|endoftext|> = {vocab[EOT]})")
    total = 0
    for spec in SPECS:
        d, cfg, w32 = build_fixture(args.out, spec, enc, vocab, merges)
        ignored = verify_fixture(d, spec, cfg, w32, enc)
        print(f"{spec['name']}: re-read and re-run ok (loader ignored {len(ignored)} buffers)")
        for f in sorted(os.listdir(d)):
            size = os.path.getsize(os.path.join(d, f))
            total += size
            print(f"  {f:28s} {size:8d}")
            if size >= MAX_FILE_BYTES:
                raise SystemExit(f"{f} is over 1 MB")
    print(f"total {total} bytes")
    if total >= MAX_TOTAL_BYTES:
        raise SystemExit("GPT-2 fixtures are over 3 MB in total")


if __name__ == "__main__":
    sys.exit(main())
