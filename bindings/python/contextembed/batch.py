"""Whole batches per library call: Model.embed_batch and Tokenizer.encode_batch.

A corpus of short texts spends most of its time in per-call overhead when
each text crosses ctypes several times; here each batch is one call to
tokenize and run (ce_session_run_texts) and one to read every pooled vector
(ce_session_output_all) straight into the result array. ctypes releases the
GIL during both, so other Python threads keep running.
"""
from __future__ import annotations

import array
import ctypes
from typing import TYPE_CHECKING, Any, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import _lib
from ._lib import lib
from ._types import Layers, Mix, Rows, Text
from .arrays import np

if TYPE_CHECKING:
    from .model import Model
    from .tokenizer import Encoding, Tokenizer

_c_char_p_p = ctypes.POINTER(ctypes.c_char_p)


def _utf8_all(texts: Iterable[Text], what: str = "texts") -> List[bytes]:
    out = []
    for i, t in enumerate(texts):
        if isinstance(t, str):
            t = t.encode("utf-8")
        elif not isinstance(t, bytes):
            raise TypeError("%s[%d] must be str or bytes, not %s" % (what, i, type(t).__name__))
        out.append(t)
    return out


def _c_texts(data: Sequence[bytes]) -> Tuple[Any, Any]:
    """(char**, size_t*) arrays for a list of bytes, kept alive by the caller."""
    ptrs = (ctypes.c_char_p * max(len(data), 1))(*data)
    lens = (ctypes.c_size_t * max(len(data), 1))(*[len(d) for d in data])
    return ptrs, lens


def _chunks(data: Sequence[bytes], batch_tokens: int) -> Iterator[Tuple[int, int]]:
    """Consecutive runs of texts holding about @batch_tokens tokens (4 bytes a
    token is the estimate; sequences are packed, so runs need no sorting)."""
    budget, start, size = max(1, batch_tokens) * 4, 0, 0
    for i, d in enumerate(data):
        if i > start and size + len(d) > budget:
            yield start, i
            start, size = i, 0
        size += len(d) + 8
    if start < len(data):
        yield start, len(data)


def encode_batch(tokenizer: Tokenizer, texts: Sequence[Text],
                 pairs: Optional[Sequence[Text]] = None, add_special: bool = True,
                 special_as_text: bool = False,
                 max_length: Optional[int] = None) -> List[Encoding]:
    """Encodings of many texts (and their pairs) from one library call."""
    from .tokenizer import Encoding
    data = _utf8_all(texts)
    pair_data = None if pairs is None else _utf8_all(pairs, "pairs")
    if pair_data is not None and len(pair_data) != len(data):
        raise ValueError("pairs must have one text per text")
    flags = (_lib.ENCODE_ADD_SPECIAL if add_special else 0) | \
            (_lib.ENCODE_SPECIAL_AS_TEXT if special_as_text else 0)
    ptrs, lens = _c_texts(data)
    pptrs, plens = _c_texts(pair_data) if pair_data is not None else (None, None)
    enc = ctypes.c_void_p()
    lib.check(lib.ce_tokenizer_encode_batch(tokenizer._ptr(), len(data), ptrs, lens, pptrs, plens,
                                            flags, max_length or 0, ctypes.byref(enc)))
    try:
        n = lib.ce_encoding_length(enc)
        starts = lib.ce_encoding_text_starts(enc)[:len(data) + 1]
        ids = lib.ce_encoding_ids(enc)[:n] if n else []
        type_ids = lib.ce_encoding_type_ids(enc)[:n] if n else []
        seq_ids = lib.ce_encoding_sequence_ids(enc)[:n] if n else []
        word_ids = lib.ce_encoding_word_ids(enc)[:n] if n else []
        flat = lib.ce_encoding_offsets(enc)[:2 * n] if n else []
    finally:
        lib.ce_encoding_free(enc)
    out = []
    for t in range(len(data)):
        a, b = starts[t], starts[t + 1]
        pair = pair_data[t] if pair_data is not None else None
        sources: Tuple[Any, ...] = (data[t], pair)
        offsets = [(flat[2 * i], flat[2 * i + 1]) for i in range(a, b)]
        tokens = [tokenizer._token(i) if i >= 0 else sources[s][o[0]:o[1]].decode("utf-8", "replace")
                  for i, o, s in zip(ids[a:b], offsets, seq_ids[a:b])]
        out.append(Encoding(ids[a:b], type_ids[a:b], seq_ids[a:b], offsets, tokens, data[t], pair,
                            word_ids[a:b]))
    return out


def embed_batch(model: Model, texts: Sequence[Text], pool: Optional[str],
                normalize: Optional[bool] = None, layers: Layers = None,
                mix: Optional[Mix] = None, batch_tokens: int = 4096,
                truncate: Optional[bool] = None, add_special: bool = True,
                mix_layer_norm: bool = False, windows: bool = False,
                stride: Optional[int] = None) -> Rows:
    """One pooled vector per text: [N, D] (numpy), or a list of lists without numpy."""
    from .session import _Select
    if pool in (None, "none"):
        if "sentence_pooling" not in model.capabilities:
            raise ValueError("embed_batch gives one vector per text: choose a pool "
                             "(\"mean\", \"cls\", ...); embed() gives per-token vectors")
        pool = "default"
    if model.tokenizer is None:
        from .errors import UnsupportedError
        raise UnsupportedError("the model has no tokenizer: pass token ids (embed_ids)")
    if truncate is None:
        truncate = "sentence_pooling" in model.capabilities
    max_length = model._dims["max_seq_length"] if truncate else 0
    flags = _lib.ENCODE_ADD_SPECIAL if add_special else 0
    data = _utf8_all(texts)
    with model._pooled(windows=windows, stride=stride) as session, _Select(model, layers, mix, pool, normalize,
                                             mix_layer_norm) as sel:
        shape = sel.shape(0, model._dims["hidden_size"])
        each = 1
        for s in shape:
            each *= s
        store = np.empty((len(data), each), np.float32) if np is not None else \
            array.array("f", bytes(4 * each * len(data)))
        base = store.ctypes.data if np is not None else store.buffer_info()[0]
        count = ctypes.c_size_t()
        for a, b in _chunks(data, batch_tokens):
            ptrs, lens = _c_texts(data[a:b])
            lib.check(lib.ce_session_run_texts(session._ptr(), b - a, ptrs, lens, flags,
                                               max_length))
            dst = ctypes.cast(base + 4 * each * a, _lib.c_float_p)
            lib.check(lib.ce_session_output_all(session._ptr(), sel.handle, dst,
                                                each * (b - a), ctypes.byref(count)))
    if np is not None:
        return store.reshape((len(data),) + tuple(shape))
    rows = [store[i * each:(i + 1) * each].tolist() for i in range(len(data))]
    if len(shape) == 2:
        rows = [[row[p * shape[1]:(p + 1) * shape[1]] for p in range(shape[0])] for row in rows]
    return rows
