#!/usr/bin/python3
"""Reference generator for libcontextembed's BERT test fixtures.

Writes three small random-weight checkpoints in Hugging Face layout under
test/fixtures/bert-*/ together with the hidden states an independent,
from-scratch PyTorch implementation of Hugging Face's `BertModel` (eval mode)
computes for them.  Nothing here imports `transformers` or `safetensors`: the
forward pass, the safetensors writer/reader and the WordPiece tokenizer are
written out below from their published definitions, and the forward pass is
cross-checked against torch.nn's own TransformerEncoderLayer.

Run from anywhere:  /usr/bin/python3 test/gen/gen_bert.py
See test/gen/README.md for what each fixture is for.
"""

import argparse
import json
import math
import os
import random
import struct
import sys
import unicodedata

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
DEFAULT_REFDATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "refdata"))
TRANSFORMERS_VERSION = "4.36.2"   # the version whose file layout we imitate
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 3 << 20


# ---------------------------------------------------------------------------
# safetensors: writer and reader
# ---------------------------------------------------------------------------
# Layout (https://github.com/huggingface/safetensors): u64 little-endian header
# length N, N bytes of JSON, then the raw little-endian, C-order data.  The
# Rust writer sorts tensors by dtype (descending in its enum order, i.e. larger
# alignment first) and then by name, lays the data out in that order, writes the
# header entries in that same order after "__metadata__", uses compact JSON and
# pads the header with spaces to a multiple of 8 so data starts 8-aligned.

ST_DTYPE_RANK = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                 "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
ST_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2,
            "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
            "F64": 8, "I64": 8, "U64": 8}
NP_OF_ST = {"U8": "<u1", "I8": "<i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
            "BF16": "<u2", "I32": "<i4", "U32": "<u4", "F32": "<f4",
            "F64": "<f8", "I64": "<i8", "U64": "<u8", "BOOL": "<u1"}


class StTensor:
    """A tensor ready to be written: safetensors dtype, shape and raw bytes."""

    def __init__(self, dtype, shape, data):
        assert len(data) == ST_SIZES[dtype] * math.prod(shape), (dtype, shape)
        self.dtype, self.shape, self.data = dtype, [int(s) for s in shape], data


def st_from_torch(t, dtype):
    """Encode a torch tensor as `dtype` ("F32", "F16", "BF16", "I32", "I64")."""
    t = t.detach().contiguous().cpu()
    if dtype == "BF16":
        raw = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    else:
        npt = {"F32": "<f4", "F16": "<f2", "I32": "<i4", "I64": "<i8", "F64": "<f8"}[dtype]
        raw = t.numpy().astype(npt).tobytes()
    return StTensor(dtype, list(t.shape), raw)


def st_serialize(tensors, metadata=None):
    """Bytes of a safetensors file holding `tensors` (dict name -> StTensor)."""
    order = sorted(tensors, key=lambda n: (-ST_DTYPE_RANK.index(tensors[n].dtype), n.encode()))
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in order:
        t = tensors[name]
        header[name] = {"dtype": t.dtype, "shape": t.shape,
                        "data_offsets": [offset, offset + len(t.data)]}
        offset += len(t.data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(tensors[n].data for n in order)


def st_write(path, tensors, metadata=None):
    blob = st_serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def st_read(path):
    """Parse and validate a safetensors file: (metadata, {name: StTensor}, order)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    n = struct.unpack("<Q", blob[:8])[0]
    if 8 + n > len(blob) or n % 8:
        raise ValueError(f"{path}: header length {n} invalid for {len(blob)} bytes")
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{") or text.rstrip(" ") != text.rstrip():
        raise ValueError(f"{path}: header must start with '{{' and be padded with spaces")
    header = json.loads(text)
    metadata = header.pop("__metadata__", None)
    data = blob[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    tensors, pos = {}, 0
    for name, info in entries:
        start, end = info["data_offsets"]
        size = ST_SIZES[info["dtype"]] * math.prod(info["shape"])
        if start != pos or end - start != size:
            raise ValueError(f"{path}: {name}: offsets {start},{end} do not follow {pos} / size {size}")
        tensors[name] = StTensor(info["dtype"], info["shape"], data[start:end])
        pos = end
    if pos != len(data):
        raise ValueError(f"{path}: data is {len(data)} bytes, tensors cover {pos}")
    return metadata, tensors, list(header)


def st_to_float(t):
    """Decode an StTensor to a float32 (or integer) numpy array."""
    a = np.frombuffer(t.data, dtype=NP_OF_ST[t.dtype]).reshape(t.shape)
    if t.dtype == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32) if t.dtype in ("F16", "F32") else a.copy()


# ---------------------------------------------------------------------------
# WordPiece tokenizer: a port of the original Google BERT tokenization
# (BasicTokenizer + WordpieceTokenizer, google-research/bert tokenization.py)
# ---------------------------------------------------------------------------

def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    # All non-letter/number ASCII counts as punctuation (e.g. "$", "^", "`").
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _whitespace_split(text):
    text = text.strip()
    return text.split() if text else []


class BasicTokenizer:
    """Cleans text, splits CJK characters, lower-cases + strips accents when
    asked, and splits on whitespace and punctuation."""

    def __init__(self, do_lower_case):
        self.do_lower_case = do_lower_case

    def tokenize(self, text):
        text = self._clean(text)
        text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
        pieces = []
        for token in _whitespace_split(text):
            if self.do_lower_case:
                token = self._strip_accents(token.lower())
            pieces.extend(self._split_punct(token))
        return _whitespace_split(" ".join(pieces))

    @staticmethod
    def _clean(text):
        out = []
        for c in text:
            if ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c):
                continue
            out.append(" " if _is_whitespace(c) else c)
        return "".join(out)

    @staticmethod
    def _strip_accents(text):
        return "".join(c for c in unicodedata.normalize("NFD", text)
                       if unicodedata.category(c) != "Mn")

    @staticmethod
    def _split_punct(text):
        words, start_new = [], True
        for c in text:
            if _is_punctuation(c):
                words.append([c])
                start_new = True
            else:
                if start_new:
                    words.append([])
                start_new = False
                words[-1].append(c)
        return ["".join(w) for w in words]


class WordpieceTokenizer:
    """Greedy longest-match-first split of one word into vocabulary pieces;
    a word that cannot be covered entirely becomes one [UNK]."""

    def __init__(self, vocab, unk="[UNK]", max_chars=100):
        # Google's original uses 200 characters; Hugging Face uses 100.
        self.vocab, self.unk, self.max_chars = vocab, unk, max_chars

    def tokenize(self, text):
        out = []
        for word in _whitespace_split(text):
            if len(word) > self.max_chars:
                out.append(self.unk)
                continue
            pieces, start = [], 0
            while start < len(word):
                end, cur = len(word), None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    if sub in self.vocab:
                        cur = sub
                        break
                    end -= 1
                if cur is None:
                    pieces = None
                    break
                pieces.append(cur)
                start = end
            out.extend(pieces if pieces is not None else [self.unk])
        return out


class FullTokenizer:
    def __init__(self, vocab_list, do_lower_case):
        self.vocab = {tok: i for i, tok in enumerate(vocab_list)}
        self.basic = BasicTokenizer(do_lower_case)
        self.wordpiece = WordpieceTokenizer(self.vocab)

    def tokenize(self, text):
        return [p for w in self.basic.tokenize(text) for p in self.wordpiece.tokenize(w)]

    def ids(self, tokens):
        return [self.vocab[t] for t in tokens]

    def encode(self, text, text_pair=None):
        """[CLS] A [SEP] (B [SEP]): tokens, ids and token type ids."""
        toks = ["[CLS]"] + self.tokenize(text) + ["[SEP]"]
        types = [0] * len(toks)
        if text_pair is not None:
            b = self.tokenize(text_pair) + ["[SEP]"]
            toks += b
            types += [1] * len(b)
        return toks, self.ids(toks), types


def check_tokenizer_against_golden(refdata):
    """Compare the port with Hugging Face's golden bert-base-uncased output."""
    vocab_path = os.path.join(refdata, "tokenizers", "bert-base-uncased", "vocab.txt")
    golden_path = os.path.join(refdata, "tokenizers", "golden", "bert-base-uncased.jsonl")
    if not (os.path.exists(vocab_path) and os.path.exists(golden_path)):
        print("tokenizer self-check: refdata absent, skipped")
        return
    with open(vocab_path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    tok = FullTokenizer(vocab, do_lower_case=True)
    total, bad = 0, []
    with open(golden_path, encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            want = g.get("ids_special_as_text", g["ids"])
            total += 1
            if tok.ids(tok.tokenize(g["text"])) != want:
                bad.append((g["id"], g["category"]))
    print(f"tokenizer self-check vs HF golden bert-base-uncased: {total - len(bad)}/{total} match")
    if bad:
        raise SystemExit(f"tokenizer port disagrees with Hugging Face on {bad}")


# ---------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------

PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
LOWER = [chr(c) for c in range(ord("a"), ord("z") + 1)]
UPPER = [c.upper() for c in LOWER]
DIGITS = [str(d) for d in range(10)]
SUFFIXES = ["##s", "##es", "##ed", "##ing", "##ly", "##er", "##ers", "##est", "##able",
            "##ably", "##ness", "##ment", "##tion", "##ize", "##ful", "##less", "##y",
            "##ie", "##ve", "##ah", "##ph", "##one"]
COMMON = """the of and to in is it you that was for on are with as his they be at one
have this from or had by hot word but what some we can out other were all there when
up use your how said an each she which do their time if will way about many then them
write would like so these her long make thing see him two has look more day could go
come did number sound no most people my over know water than call first who may down
side been now find hello world quick brown fox jump jumps lazy dog old year years am six
love tea owner zurich token text model context new line here tab play run believe
happy happi un where germany munich city berlin naive cafe""".split()
CJK_UNCASED = ["中", "国", "人", "日", "本", "大", "小", "水"]

CASED_WORDS = """The the Hello hello World world I It it is in and of a to You you
café Café Zürich naïve Naïve résumé São Paulo München Where where Germany Berlin users
user phone approach Approach love loves new New York city City tea Tea BERT Bert model
models This this was written by Ann Anne Élodie über Über at on""".split()
CJK_CASED = ["東", "京", "日", "本", "語"]


def _unique(seq):
    seen, out = set(), []
    for s in seq:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def vocab_uncased():
    # Real BERT puts [PAD], [unused0..98], [UNK], [CLS], [SEP], [MASK] at 0..103;
    # a shorter run of unused slots keeps that shape while making hard-coded
    # ids (100..103) wrong.
    specials = ["[PAD]"] + [f"[unused{i}]" for i in range(10)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    body = (PUNCT + DIGITS + LOWER + COMMON + SUFFIXES + ["##" + c for c in LOWER]
            + ["##" + d for d in DIGITS] + CJK_UNCASED)
    return _unique(specials + body)


def vocab_cased():
    # Specials first, unused slots after them: another layout than the uncased one.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"[unused{i}]" for i in range(5)]
    # "##" + lower-case letters only: a word with a capital letter inside it
    # (e.g. "iPhone") cannot be covered and must become [UNK].
    body = (PUNCT + DIGITS + UPPER + LOWER + CASED_WORDS + SUFFIXES
            + ["##" + c for c in LOWER] + ["##é", "##ü", "##ï", "##è", "é", "ü", "ï", "Ü", "É"]
            + CJK_CASED)
    return _unique(specials + body)


# ---------------------------------------------------------------------------
# Configuration and random weights
# ---------------------------------------------------------------------------

class Cfg:
    def __init__(self, **kw):
        self.__dict__.update(kw)
        self.head_dim = self.hidden // self.heads
        assert self.head_dim * self.heads == self.hidden


def hf_config(cfg, vocab_size, arch, torch_dtype):
    """config.json as transformers' PretrainedConfig.to_json_file writes it for BERT."""
    return {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": cfg.hidden,
        "initializer_range": 0.02,
        "intermediate_size": cfg.intermediate,
        "layer_norm_eps": cfg.eps,
        "max_position_embeddings": cfg.max_pos,
        "model_type": "bert",
        "num_attention_heads": cfg.heads,
        "num_hidden_layers": cfg.layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": cfg.type_vocab,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def make_weights(cfg, vocab_size, seed, with_pooler):
    """BertModel parameters in state-dict order (name -> float32 tensor).

    Standard deviations are far above BERT's 0.02 on purpose: with 0.02 each
    layer barely moves its input, and a library that skipped a layer or mixed
    up heads could still pass.  Here attention is peaked and every layer
    changes the hidden state substantially."""
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std + mean

    d, f = cfg.hidden, cfg.intermediate
    w = {
        "embeddings.word_embeddings.weight": normal((vocab_size, d), 0.5),
        "embeddings.position_embeddings.weight": normal((cfg.max_pos, d), 0.5),
        "embeddings.token_type_embeddings.weight": normal((cfg.type_vocab, d), 0.5),
        "embeddings.LayerNorm.weight": normal((d,), 0.1, 1.0),
        "embeddings.LayerNorm.bias": normal((d,), 0.1),
    }
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."
        for m in ("query", "key", "value"):
            w[p + f"attention.self.{m}.weight"] = normal((d, d), 0.2)
            w[p + f"attention.self.{m}.bias"] = normal((d,), 0.1)
        w[p + "attention.output.dense.weight"] = normal((d, d), 0.2)
        w[p + "attention.output.dense.bias"] = normal((d,), 0.1)
        w[p + "attention.output.LayerNorm.weight"] = normal((d,), 0.1, 1.0)
        w[p + "attention.output.LayerNorm.bias"] = normal((d,), 0.1)
        w[p + "intermediate.dense.weight"] = normal((f, d), 0.2)
        w[p + "intermediate.dense.bias"] = normal((f,), 0.1)
        w[p + "output.dense.weight"] = normal((d, f), 0.15)
        w[p + "output.dense.bias"] = normal((d,), 0.1)
        w[p + "output.LayerNorm.weight"] = normal((d,), 0.1, 1.0)
        w[p + "output.LayerNorm.bias"] = normal((d,), 0.1)
    if with_pooler:
        w["pooler.dense.weight"] = normal((d, d), 0.2)
        w["pooler.dense.bias"] = normal((d,), 0.1)
    return w


def mlm_head_weights(cfg, vocab_size, seed):
    """The extra tensors BertForMaskedLM saves.  cls.predictions.decoder.weight
    and .bias are tied (to the word embeddings and cls.predictions.bias), so
    save_pretrained leaves them out of a safetensors file."""
    g = torch.Generator().manual_seed(seed)
    d = cfg.hidden
    return {
        "cls.predictions.bias": torch.randn(vocab_size, generator=g) * 0.02,
        "cls.predictions.transform.dense.weight": torch.randn(d, d, generator=g) * 0.02,
        "cls.predictions.transform.dense.bias": torch.randn(d, generator=g) * 0.02,
        "cls.predictions.transform.LayerNorm.weight": 1.0 + torch.randn(d, generator=g) * 0.02,
        "cls.predictions.transform.LayerNorm.bias": torch.randn(d, generator=g) * 0.02,
    }


def round_to(w, dtype):
    """What the library will see once `w` is stored as `dtype`, back in float32."""
    tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    return {k: v.to(tdt).to(torch.float32) for k, v in w.items()}


# ---------------------------------------------------------------------------
# Reference forward: Hugging Face BertModel, eval mode, written out by hand
# ---------------------------------------------------------------------------

def _layer_norm(x, g, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)       # biased, as nn.LayerNorm
    return (x - mean) / torch.sqrt(var + eps) * g + b


def _linear(x, w, b):
    return x @ w.t() + b                                 # w is [out, in]


def _gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def bert_forward(w, cfg, ids, types, mask, dtype=torch.float32):
    """Hidden states [L+1, B, T, D] and pooler output [B, D] (None without pooler).

    ids, types, mask: int64 [B, T]; mask is 1 for real tokens, 0 for padding.
    Padding is masked as HF does: (1 - mask) * finfo(dtype).min added to scores."""
    W = {k: v.to(dtype) for k, v in w.items()}
    B, T = ids.shape
    pos = torch.arange(T)
    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.token_type_embeddings.weight"][types]
         + W["embeddings.position_embeddings.weight"][pos][None])
    x = _layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], cfg.eps)
    add_mask = (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min
    states = [x]
    H, hd = cfg.heads, cfg.head_dim
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."

        def heads(t):
            return t.view(B, T, H, hd).permute(0, 2, 1, 3)          # [B, H, T, hd]
        q = heads(_linear(x, W[p + "attention.self.query.weight"], W[p + "attention.self.query.bias"]))
        k = heads(_linear(x, W[p + "attention.self.key.weight"], W[p + "attention.self.key.bias"]))
        v = heads(_linear(x, W[p + "attention.self.value.weight"], W[p + "attention.self.value.bias"]))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + add_mask
        probs = torch.softmax(scores, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, H * hd)
        a = _linear(ctx, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
        a = _layer_norm(a + x, W[p + "attention.output.LayerNorm.weight"],
                        W[p + "attention.output.LayerNorm.bias"], cfg.eps)
        h = _gelu_erf(_linear(a, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]))
        h = _linear(h, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = _layer_norm(h + a, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], cfg.eps)
        states.append(x)
    pooled = None
    if "pooler.dense.weight" in W:
        pooled = torch.tanh(_linear(x[:, 0], W["pooler.dense.weight"], W["pooler.dense.bias"]))
    return torch.stack(states), pooled


def torch_nn_forward(w, cfg, ids, types, mask):
    """The same model assembled from torch.nn modules (float64), as an independent
    check of bert_forward: BERT's layer is a post-norm TransformerEncoderLayer."""
    dt = torch.float64
    W = {k: v.to(dt) for k, v in w.items()}
    emb_ln = torch.nn.LayerNorm(cfg.hidden, eps=cfg.eps).to(dt)
    emb_ln.weight.data, emb_ln.bias.data = W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"]
    wte = torch.nn.functional.embedding
    x = (wte(ids, W["embeddings.word_embeddings.weight"])
         + wte(types, W["embeddings.token_type_embeddings.weight"])
         + wte(torch.arange(ids.shape[1])[None], W["embeddings.position_embeddings.weight"]))
    x = emb_ln(x)
    states = [x]
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."
        layer = torch.nn.TransformerEncoderLayer(
            cfg.hidden, cfg.heads, dim_feedforward=cfg.intermediate, dropout=0.0,
            activation="gelu", layer_norm_eps=cfg.eps, batch_first=True, norm_first=False).to(dt).eval()
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


def run(w, cfg, seqs, dtype=torch.float32):
    """Run sequences [(ids, types), ...] together, right-padded with [PAD]=0 and
    type 0.  Returns per-sequence unpadded hidden states [L+1, T_b, D] and poolers."""
    T = max(len(s[0]) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for b, (i, t) in enumerate(seqs):
        ids[b, :len(i)] = torch.tensor(i)
        types[b, :len(t)] = torch.tensor(t)
        mask[b, :len(i)] = 1
    with torch.no_grad():
        hs, pooled = bert_forward(w, cfg, ids, types, mask, dtype)
        ref = torch_nn_forward(w, cfg, ids, types, mask)
    outs = []
    for b, (i, _) in enumerate(seqs):
        n = len(i)
        diff = (hs[:, b, :n].double() - ref[:, b, :n]).abs().max().item()
        tol = 1e-9 if dtype == torch.float64 else 1e-4
        if diff > tol:
            raise SystemExit(f"reference disagrees with torch.nn by {diff} (dtype {dtype})")
        outs.append((hs[:, b, :n].clone(), None if pooled is None else pooled[b].clone()))
    return outs


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

def random_ids(rng, tok, n, types_split=None):
    """[CLS] x.. [SEP] (y.. [SEP]) of length n from the non-special vocabulary."""
    specials = {i for t, i in tok.vocab.items() if t.startswith("[")}
    pool = [i for i in range(len(tok.vocab)) if i not in specials]
    cls, sep = tok.vocab["[CLS]"], tok.vocab["[SEP]"]
    if n == 1:
        return [cls], [0]
    ids = [cls] + [rng.choice(pool) for _ in range(n - 2)] + [sep]
    types = [0] * n
    if types_split:
        ids[types_split - 1] = sep
        types[types_split:] = [1] * (n - types_split)
    return ids, types


def text_case(tok, text, pair=None):
    toks, ids, types = tok.encode(text, pair)
    case = {"kind": "pair" if pair is not None else "text", "text": text}
    if pair is not None:
        case["text_pair"] = pair
    case.update(tokens=toks, input_ids=ids, token_type_ids=types)
    return case


def ids_case(tok, ids, types, note):
    inv = {i: t for t, i in tok.vocab.items()}
    return {"kind": "ids", "note": note, "tokens": [inv[i] for i in ids],
            "input_ids": ids, "token_type_ids": types}


def stats(hs):
    return {"max_abs": _r(hs.abs().max()),
            "max_abs_per_layer": [_r(h.abs().max()) for h in hs],
            # ||h_L - h_0|| / ||h_0||: how far the encoder moved the embeddings.
            "rel_change_last_vs_embeddings": _r((hs[-1] - hs[0]).norm() / hs[0].norm())}


def _r(x):
    return float(f"{float(x):.6g}")


# ---------------------------------------------------------------------------
# Checkpoint files
# ---------------------------------------------------------------------------

def write_json(path, obj):
    # transformers writes configs with indent=2, sorted keys and a final newline.
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _readable_json(obj, indent=0):
    """JSON in insertion order with lists of scalars kept on one line.  Non-ASCII
    is written as UTF-8, not \\u escapes: surrogate-pair escapes for emoji are
    not accepted by every YAML parser, and libyaml reads these files."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {_readable_json(v, indent + 2)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(inner + _readable_json(v, indent + 2) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


def write_tokenizer_files(d, vocab, do_lower_case, max_len):
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    added = {str(vocab.index(t)): {"content": t, "lstrip": False, "normalized": False,
                                   "rstrip": False, "single_word": False, "special": True}
             for t in special}
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "added_tokens_decoder": added,
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_basic_tokenize": True,
        "do_lower_case": do_lower_case,
        "mask_token": "[MASK]",
        "model_max_length": max_len,
        "never_split": None,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    })
    write_json(os.path.join(d, "special_tokens_map.json"), {
        "cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
        "sep_token": "[SEP]", "unk_token": "[UNK]"})


def shard_plan(names, sizes, max_shard):
    """huggingface_hub's split: walk tensors in state-dict order, open a new shard
    when the next tensor would overflow the current one."""
    shards, cur, cur_size = [], [], 0
    for n in names:
        if cur and cur_size + sizes[n] > max_shard:
            shards.append(cur)
            cur, cur_size = [], 0
        cur.append(n)
        cur_size += sizes[n]
    if cur:
        shards.append(cur)
    return shards


def write_weights(d, tensors, state_order, shards):
    """model.safetensors, or model-0000k-of-0000n.safetensors + index when shards > 1."""
    meta = {"format": "pt"}
    if shards == 1:
        st_write(os.path.join(d, "model.safetensors"), tensors, meta)
        return
    sizes = {n: len(t.data) for n, t in tensors.items()}
    total = sum(sizes.values())
    plan = shard_plan(state_order, sizes, int(total * 0.55))
    assert len(plan) == shards, f"shard plan gave {len(plan)} shards"
    weight_map = {}
    for k, names in enumerate(plan, 1):
        fname = f"model-{k:05d}-of-{shards:05d}.safetensors"
        st_write(os.path.join(d, fname), {n: tensors[n] for n in names}, meta)
        weight_map.update({n: fname for n in names})
    write_json(os.path.join(d, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


# ---------------------------------------------------------------------------
# One fixture
# ---------------------------------------------------------------------------

def build_fixture(out_dir, spec):
    cfg, name = spec["cfg"], spec["name"]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):                    # stale shards etc. from an older run
        os.remove(os.path.join(d, f))

    vocab = spec["vocab"]()
    tok = FullTokenizer(vocab, spec["lower"])
    w32 = make_weights(cfg, len(vocab), spec["seed"], spec["pooler"])
    w = round_to(w32, spec["dtype"])            # the reference sees the stored values

    # Weights file(s).
    prefix = spec["prefix"]
    tensors = {prefix + k: st_from_torch(v, spec["dtype"]) for k, v in w32.items()}
    order = [prefix + k for k in w32]
    if spec.get("mlm_head"):
        for k, v in mlm_head_weights(cfg, len(vocab), spec["seed"] + 1).items():
            tensors[k] = st_from_torch(v, spec["dtype"])
            order.append(k)
    if spec.get("position_ids_buffer"):
        # transformers < 4.31 also saved this (persistent) buffer; loaders must
        # skip it, and it makes the file mixed-dtype (I64 sorts first).
        tensors[prefix + "embeddings.position_ids"] = st_from_torch(
            torch.arange(cfg.max_pos)[None], "I64")
        order.insert(0, prefix + "embeddings.position_ids")
    write_weights(d, tensors, order, spec["shards"])
    write_json(os.path.join(d, "config.json"),
               hf_config(cfg, len(vocab), spec["arch"], spec["torch_dtype"]))
    write_tokenizer_files(d, vocab, spec["lower"], cfg.max_pos)

    # Cases: each run alone (batch of one), except the batch run together.
    rng = random.Random(spec["seed"] * 7919)
    cases = [ids_case(tok, *random_ids(rng, tok, 1), "one token: [CLS] alone")]
    cases += [text_case(tok, *t) if isinstance(t, tuple) else text_case(tok, t) for t in spec["texts"]]
    cases.append(ids_case(tok, *random_ids(rng, tok, 7), "short random ids"))
    cases.append(ids_case(tok, *random_ids(rng, tok, 19, types_split=11), "random pair, types 1 from 11"))
    cases.append(ids_case(tok, *random_ids(rng, tok, cfg.max_pos, types_split=cfg.max_pos // 2),
                          "max_position_embeddings tokens, pair"))
    batch = [text_case(tok, spec["batch_text"]),
             ids_case(tok, *random_ids(rng, tok, 13, types_split=6), "random pair"),
             ids_case(tok, *random_ids(rng, tok, 4), "random short")]
    lengths = [len(b["input_ids"]) for b in batch]
    assert len(set(lengths)) == 3, lengths

    expected, f64_diff = {}, 0.0
    for c, case in enumerate(cases):
        seq = [(case["input_ids"], case["token_type_ids"])]
        (hs, pooled), = run(w, cfg, seq)
        (hs64, _), = run(w, cfg, seq, torch.float64)
        f64_diff = max(f64_diff, (hs.double() - hs64).abs().max().item())
        put_case(expected, f"case{c}", case, hs, pooled)
    outs = run(w, cfg, [(b["input_ids"], b["token_type_ids"]) for b in batch])
    vs_alone = 0.0
    for b, (case, (hs, pooled)) in enumerate(zip(batch, outs)):
        (alone, _), = run(w, cfg, [(case["input_ids"], case["token_type_ids"])])
        vs_alone = max(vs_alone, (hs - alone).abs().max().item())
        put_case(expected, f"batch{b}", case, hs, pooled)
    st_write(os.path.join(d, "expected.safetensors"), expected, {"format": "pt"})

    for c, case in enumerate(cases):
        case["name"] = f"case{c}"
    for b, case in enumerate(batch):
        case["name"] = f"batch{b}"
    cases = [_ordered_case(c) for c in cases]
    batch = [_ordered_case(c) for c in batch]
    write_readable_json(os.path.join(d, "cases.json"), {
        "fixture": name,
        "purpose": spec["purpose"],
        "generator": "test/gen/gen_bert.py (from-scratch PyTorch BertModel, eval mode, float32)",
        "weights_dtype": spec["dtype"],
        "tensor_prefix": prefix,
        "hidden_states": "expected.safetensors: <name>.hidden_states F32 [num_hidden_layers+1, T, hidden_size]; "
                         "index 0 = embedding output, i = output of layer i",
        "pooler_output": ("expected.safetensors: <name>.pooler_output F32 [hidden_size] = "
                          "tanh(pooler.dense(h_L[0]))") if spec["pooler"] else None,
        "tokenizer": {"do_lower_case": spec["lower"], "max_input_chars_per_word": 100,
                      "template": "[CLS] A [SEP] (B [SEP]), token types 0 for A, 1 for B",
                      "special_ids": {t: tok.vocab[t] for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]}},
        "noise": {"f32_vs_f64_reference_max_abs": _r(f64_diff),
                  "batched_vs_alone_max_abs": _r(vs_alone),
                  "suggested_tolerance_abs": 1e-4},
        "cases": cases,
        "batch": {"note": "run together, right-padded with [PAD] (id above) and token type 0, "
                          "attention mask 0 on padding; position ids 0..T-1 per row; "
                          "stored unpadded per sequence",
                  "padded_length": max(lengths), "sequences": batch},
    })
    return d


def write_readable_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        f.write(_readable_json(obj) + "\n")


def _ordered_case(case):
    keys = ["name", "kind", "note", "text", "text_pair", "tokens", "input_ids", "token_type_ids"]
    out = {k: case[k] for k in keys if k in case}
    out["length"] = len(case["input_ids"])
    out.update(case["_stats"])
    return out


def put_case(expected, key, case, hs, pooled):
    expected[f"{key}.input_ids"] = st_from_torch(torch.tensor(case["input_ids"]), "I32")
    expected[f"{key}.token_type_ids"] = st_from_torch(torch.tensor(case["token_type_ids"]), "I32")
    expected[f"{key}.hidden_states"] = st_from_torch(hs, "F32")
    if pooled is not None:
        expected[f"{key}.pooler_output"] = st_from_torch(pooled, "F32")
    case["_stats"] = stats(hs)


# ---------------------------------------------------------------------------
# Verification of what was written
# ---------------------------------------------------------------------------

def verify_fixture(d, spec):
    """Re-read every file with st_read and check it against a fresh in-memory
    build: names, dtypes, shapes, bytes, header layout, shard index."""
    cfg = spec["cfg"]
    vocab = spec["vocab"]()
    w32 = make_weights(cfg, len(vocab), spec["seed"], spec["pooler"])
    files = sorted(f for f in os.listdir(d) if f.startswith("model") and f.endswith(".safetensors"))
    got, order_ok = {}, True
    for f in files:
        path = os.path.join(d, f)
        meta, ts, header_order = st_read(path)
        assert meta == {"format": "pt"}, (path, meta)
        want_order = sorted(ts, key=lambda n: (-ST_DTYPE_RANK.index(ts[n].dtype), n.encode()))
        order_ok &= header_order == want_order
        got.update(ts)
    assert order_ok, f"{d}: header order differs from the safetensors writer's"
    prefix = spec["prefix"]
    for k, v in w32.items():
        t = got.pop(prefix + k)
        assert t.dtype == spec["dtype"] and t.shape == list(v.shape), (k, t.dtype, t.shape)
        want = round_to({k: v}, spec["dtype"])[k].numpy()
        assert np.array_equal(st_to_float(t), want), f"{d}: {k} does not round-trip"
    leftovers = sorted(got)
    if spec["shards"] > 1:
        with open(os.path.join(d, "model.safetensors.index.json")) as f:
            index = json.load(f)
        allw = {}
        for f in files:
            allw.update({n: f for n in st_read(os.path.join(d, f))[1]})
        assert index["weight_map"] == allw, "index weight_map does not match the shards"
        assert index["metadata"]["total_size"] == sum(
            len(t.data) for f in files for t in st_read(os.path.join(d, f))[1].values())
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cj = json.load(f)
    _, exp, _ = st_read(os.path.join(d, "expected.safetensors"))
    L, D = cfg.layers + 1, cfg.hidden
    for case in cj["cases"] + cj["batch"]["sequences"]:
        n, T = case["name"], case["length"]
        assert st_to_float(exp[n + ".input_ids"]).tolist() == case["input_ids"]
        assert st_to_float(exp[n + ".token_type_ids"]).tolist() == case["token_type_ids"]
        hs = st_to_float(exp[n + ".hidden_states"])
        assert hs.shape == (L, T, D) and np.isfinite(hs).all()
        assert abs(float(np.abs(hs).max()) - case["max_abs"]) <= 1e-5 * case["max_abs"]
    return leftovers


def verify_writer_on_hf_file(refdata):
    """Re-serialise a safetensors file Hugging Face wrote and demand identical bytes."""
    path = os.path.join(refdata, "models", "tiny-random-gpt2", "model.safetensors")
    if not os.path.exists(path):
        print("writer self-check: refdata absent, skipped")
        return
    meta, ts, _ = st_read(path)
    with open(path, "rb") as f:
        same = f.read() == st_serialize(ts, meta)
    print(f"writer self-check: re-serialised {os.path.relpath(path, refdata)} "
          f"({len(ts)} tensors): {'byte-identical' if same else 'DIFFERENT'}")
    if not same:
        raise SystemExit("safetensors writer does not reproduce Hugging Face's layout")


def self_test_codec():
    """Small synthetic round trip over every dtype the fixtures use."""
    t = torch.tensor([[0.1, -2.5, 3.0e4], [1.0e-3, 65504.0, -0.0]])
    ts = {"b": st_from_torch(t, "F16"), "a": st_from_torch(t, "BF16"),
          "c": st_from_torch(t, "F32"), "i": st_from_torch(torch.tensor([1, -2]), "I32"),
          "z": st_from_torch(torch.tensor([7]), "I64")}
    blob = st_serialize(ts, {"format": "pt"})
    n = struct.unpack("<Q", blob[:8])[0]
    assert n % 8 == 0
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gen_bert_selftest_{os.getpid()}.safetensors")
    with open(tmp, "wb") as f:
        f.write(blob)
    try:
        _, back, order = st_read(tmp)
    finally:
        os.remove(tmp)
    assert order == ["z", "c", "i", "a", "b"], order     # I64 > F32 > I32 > BF16 > F16
    assert np.array_equal(st_to_float(back["c"]), t.numpy())
    assert np.array_equal(st_to_float(back["b"]), t.half().float().numpy())
    assert np.array_equal(st_to_float(back["a"]), t.bfloat16().float().numpy())
    assert st_to_float(back["i"]).tolist() == [1, -2] and st_to_float(back["z"]).tolist() == [7]


# ---------------------------------------------------------------------------
# The fixtures
# ---------------------------------------------------------------------------

SPECS = [
    {
        "name": "bert-tiny-uncased",
        "purpose": "BertModel layout (no name prefix), F32, uncased WordPiece, eps 1e-12, pooler; "
                   "single sequences, pairs, a max-length input, a padded batch, end-to-end text",
        "cfg": Cfg(layers=2, hidden=64, heads=4, intermediate=128, max_pos=64, type_vocab=2, eps=1e-12),
        "vocab": vocab_uncased, "lower": True, "seed": 1234, "dtype": "F32", "torch_dtype": "float32",
        "prefix": "", "arch": "BertModel", "pooler": True, "shards": 1,
        "texts": ["Hello world!",
                  "The quick brown fox jumps over the lazy dog, unbelievably happily.",
                  "Naïve CAFÉ owners in Zürich love 中国 tea 🙂",
                  "tabs\tand\nnew\u00a0lines\u200b here",
                  ("How old are you?", "I am six years old.")],
        "batch_text": "Where is Munich? In Germany.",
    },
    {
        "name": "bert-tiny-cased",
        "purpose": "BertForMaskedLM layout (\"bert.\" prefix, cls.predictions.* head, no pooler, "
                   "old position_ids buffer), F16 weights, cased WordPiece with accents, eps 1e-5, "
                   "3 heads of 16, token types",
        "cfg": Cfg(layers=3, hidden=48, heads=3, intermediate=96, max_pos=40, type_vocab=2, eps=1e-5),
        "vocab": vocab_cased, "lower": False, "seed": 5678, "dtype": "F16", "torch_dtype": "float16",
        "prefix": "bert.", "arch": "BertForMaskedLM", "pooler": False, "shards": 1,
        "mlm_head": True, "position_ids_buffer": True,
        "texts": ["Hello World! The café in Zürich is naïve.",
                  "iPhone users in São Paulo love tea.",
                  ("Where is München?", "It is in Germany."),
                  "Élodie wrote 東京 and 日本語 on her résumé"],
        "batch_text": "Über BERT models, New York.",
    },
    {
        "name": "bert-tiny-sharded",
        "purpose": "same architecture as bert-tiny-uncased, other seed, BF16 weights in 2 shards "
                   "with model.safetensors.index.json",
        "cfg": Cfg(layers=2, hidden=64, heads=4, intermediate=128, max_pos=64, type_vocab=2, eps=1e-12),
        "vocab": vocab_uncased, "lower": True, "seed": 4321, "dtype": "BF16", "torch_dtype": "bfloat16",
        "prefix": "", "arch": "BertModel", "pooler": True, "shards": 2,
        "texts": ["Hello world!", ("Where is Berlin?", "In Germany, I believe.")],
        "batch_text": "The dog jumps over the fox.",
    },
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: test/fixtures)")
    ap.add_argument("--refdata", default=DEFAULT_REFDATA,
                    help="optional ../shared/refdata for self-checks of the tokenizer and writer")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    self_test_codec()
    verify_writer_on_hf_file(args.refdata)
    check_tokenizer_against_golden(args.refdata)

    total = 0
    for spec in SPECS:
        d = build_fixture(args.out, spec)
        extra = verify_fixture(d, spec)
        print(f"{spec['name']}: round trip ok" + (f" (also holds {', '.join(extra)})" if extra else ""))
        for f in sorted(os.listdir(d)):
            size = os.path.getsize(os.path.join(d, f))
            total += size
            print(f"  {f:40s} {size:8d}")
            if size >= MAX_FILE_BYTES:
                raise SystemExit(f"{f} is over 1 MB")
    print(f"total {total} bytes")
    if total >= MAX_TOTAL_BYTES:
        raise SystemExit("fixtures are over 3 MB in total")


if __name__ == "__main__":
    sys.exit(main())
