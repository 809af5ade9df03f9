"""Tokenizers: text to ids with byte and character offsets, ids to text."""
from __future__ import annotations

import ctypes
import os
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence,
                    Tuple, cast)

from . import _lib
from ._lib import lib
from ._types import PathArg, Text
from .errors import StateError

if TYPE_CHECKING:
    from .model import Model

__all__ = ["Tokenizer", "Encoding", "StreamDecoder"]


def _utf8(text: Any, what: str = "text") -> bytes:
    if what == "path" and hasattr(text, "__fspath__"):
        text = os.fspath(text)
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(text).__name__))


def _char_positions(data: bytes) -> List[int]:
    """For each byte offset 0..len(data), the number of characters before it."""
    index = [0] * (len(data) + 1)
    chars = 0
    for i, byte in enumerate(data):
        index[i] = chars
        if byte & 0xC0 != 0x80:  # not a continuation byte: a character starts here
            chars += 1
    index[len(data)] = chars
    return index


class Encoding:
    """Tokens of one text (or text pair), copied out of the library.

    ``ids``, ``type_ids`` (0 first text, 1 pair), ``sequence_ids`` (0, 1, or -1
    for added special tokens), ``word_ids`` (the word of the text each token
    came from, counted from 0 in each text as Hugging Face's ``word_ids()``;
    None for added special tokens), ``tokens`` (vocabulary strings; the word itself
    for tokenizers without a vocabulary (ELMo's), whose ids are -1), ``offsets``
    ([begin, end) UTF-8 byte offsets in the text the token came from; (0, 0)
    for added special tokens) and ``char_offsets`` (the same in code points,
    for slicing the Python str).
    """

    __slots__ = ("ids", "type_ids", "sequence_ids", "word_ids", "offsets", "char_offsets",
                 "tokens", "text", "pair")

    ids: List[int]
    type_ids: List[int]
    sequence_ids: List[int]
    word_ids: List[Optional[int]]
    offsets: List[Tuple[int, int]]
    char_offsets: List[Tuple[int, int]]
    tokens: List[str]
    text: bytes  #: the first text, UTF-8
    pair: Optional[bytes]  #: the second text, UTF-8, or None

    def __init__(self, ids: List[int], type_ids: List[int], sequence_ids: List[int],
                 offsets: List[Tuple[int, int]], tokens: List[str], text: bytes,
                 pair: Optional[bytes], word_ids: Optional[Sequence[int]] = None) -> None:
        self.ids, self.type_ids, self.sequence_ids = ids, type_ids, sequence_ids
        self.word_ids = [None if w < 0 else w for w in word_ids] if word_ids is not None \
            else [None] * len(ids)
        self.offsets, self.tokens, self.text, self.pair = offsets, tokens, text, pair
        maps = [_char_positions(text), _char_positions(pair or b"")]
        self.char_offsets = [(b, e) if s < 0 else (maps[s][b], maps[s][e])
                             for (b, e), s in zip(offsets, sequence_ids)]

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return "Encoding(%r)" % (self.tokens,)


class Tokenizer:
    """An immutable tokenizer, safe to share between threads.

    ``Tokenizer(path)`` opens a tokenizer.json, a vocab.txt or a model
    directory; a model's own tokenizer is ``model.tokenizer``. Close it with
    close() or a ``with`` block (a model's tokenizer closes with the model).
    """

    _handle: Optional[int]
    _model: Optional[Model]

    def __init__(self, path: PathArg) -> None:
        handle = ctypes.c_void_p()
        lib.check(lib.ce_tokenizer_open(_utf8(path, "path"), ctypes.byref(handle)))
        self._handle = handle.value
        self._model = None

    @classmethod
    def _borrow(cls, handle: int, model: Model) -> Tokenizer:
        tok = cls.__new__(cls)
        tok._handle = handle
        tok._model = model
        return tok

    def _ptr(self) -> int:
        if self._handle is None or (self._model is not None and self._model._handle is None):
            raise StateError("the tokenizer is closed")
        return self._handle

    def close(self) -> None:
        """Free the tokenizer (a model's tokenizer is freed with the model).
        No other thread may be using it at that moment."""
        handle, self._handle = self._handle, None
        if handle is not None and self._model is None:
            lib.ce_tokenizer_free(handle)

    def __enter__(self) -> Tokenizer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def kind(self) -> str:
        """"wordpiece", "bpe", ... (the library's name for the algorithm)."""
        return lib.ce_tokenizer_kind(self._ptr()).decode()

    @property
    def vocab_size(self) -> int:
        """Number of ids: the vocabulary and the added tokens."""
        return lib.ce_tokenizer_vocab_size(self._ptr())

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: Text, pair: Optional[Text] = None, add_special: bool = True,
               special_as_text: bool = False, max_length: Optional[int] = None) -> Encoding:
        """Tokenize @text (and the optional second text @pair) into an Encoding.

        add_special adds the model's special tokens ([CLS] A [SEP] B [SEP]);
        special_as_text reads "[MASK]" etc. in the text as plain text;
        max_length cuts the encoding to that many tokens, longest text first.
        """
        data = _utf8(text)
        pair_data = None if pair is None else _utf8(pair, "pair")
        flags = (_lib.ENCODE_ADD_SPECIAL if add_special else 0) | \
                (_lib.ENCODE_SPECIAL_AS_TEXT if special_as_text else 0)
        enc = ctypes.c_void_p()
        lib.check(lib.ce_tokenizer_encode(self._ptr(), data, len(data), pair_data,
                                          len(pair_data) if pair_data else 0, flags,
                                          max_length or 0, ctypes.byref(enc)))
        try:
            n = lib.ce_encoding_length(enc)
            ids = lib.ce_encoding_ids(enc)[:n]
            type_ids = lib.ce_encoding_type_ids(enc)[:n]
            seq_ids = lib.ce_encoding_sequence_ids(enc)[:n]
            word_ids = lib.ce_encoding_word_ids(enc)[:n]
            flat = lib.ce_encoding_offsets(enc)[:2 * n] if n else []
        finally:
            lib.ce_encoding_free(enc)
        offsets = [(flat[2 * i], flat[2 * i + 1]) for i in range(n)]
        texts: Tuple[Any, ...] = (data, pair_data)
        # a "whitespace" tokenizer (ELMo) has no vocabulary: its ids are -1
        tokens = [self.id_to_token(i) if i >= 0 else
                  texts[s][b:e].decode("utf-8", "replace")
                  for i, (b, e), s in zip(ids, offsets, seq_ids)]
        return Encoding(ids, type_ids, seq_ids, offsets, tokens, data, pair_data, word_ids)

    def decode(self, ids: Iterable[int], skip_special: bool = False) -> str:
        """Text of @ids as the tokenizer's decoder makes it (specials kept
        unless skip_special)."""
        ids = list(ids)
        arr = (ctypes.c_int32 * len(ids))(*ids)
        flags = _lib.DECODE_SKIP_SPECIAL if skip_special else 0
        needed = ctypes.c_size_t(0)
        buf = ctypes.create_string_buffer(64 + 16 * len(ids))
        st = lib.ce_tokenizer_decode(self._ptr(), arr, len(ids), flags, buf, len(buf),
                                     ctypes.byref(needed))
        if st == 8:  # CE_ERR_BUFFER_TOO_SMALL: needed holds the size
            buf = ctypes.create_string_buffer(needed.value)
            st = lib.ce_tokenizer_decode(self._ptr(), arr, len(ids), flags, buf, len(buf),
                                         ctypes.byref(needed))
        lib.check(st)
        return buf.raw[:needed.value].decode("utf-8", "replace")

    def id_to_token(self, token_id: int) -> str:
        """The vocabulary string of @token_id (e.g. "##ing")."""
        ptr, length = ctypes.c_void_p(), ctypes.c_size_t()
        lib.check(lib.ce_tokenizer_id_to_token(self._ptr(), token_id, ctypes.byref(ptr),
                                               ctypes.byref(length)))
        return ctypes.string_at(cast(int, ptr.value), length.value).decode("utf-8", "replace")

    def _token(self, token_id: int) -> str:
        """id_to_token, remembered: a batch repeats the same ids many times."""
        cache = self.__dict__.setdefault("_tokens", {})
        tok = cache.get(token_id)
        if tok is None:
            tok = cache[token_id] = self.id_to_token(token_id)
        return tok

    def encode_batch(self, texts: Sequence[Text], pairs: Optional[Sequence[Text]] = None,
                     add_special: bool = True, special_as_text: bool = False,
                     max_length: Optional[int] = None) -> List[Encoding]:
        """encode() of every text of @texts (with pairs[i] when given), in one
        library call: a list of Encoding."""
        from .batch import encode_batch
        return encode_batch(self, texts, pairs, add_special, special_as_text, max_length)

    def token_to_id(self, token: Text) -> int:
        """The id of the vocabulary string @token (NotFoundError when absent)."""
        data = _utf8(token, "token")
        out = ctypes.c_int32()
        lib.check(lib.ce_tokenizer_token_to_id(self._ptr(), data, len(data), ctypes.byref(out)))
        return out.value

    def special_id(self, role: str) -> Optional[int]:
        """Id of a special token role ("unk", "cls", "sep", "pad", "mask",
        "bos", "eos"), or None when the tokenizer has none."""
        if role not in _lib.SPECIALS:
            raise ValueError("unknown special token role %r (one of %s)"
                             % (role, ", ".join(_lib.SPECIALS)))
        out = ctypes.c_int32()
        st = lib.ce_tokenizer_special_id(self._ptr(), _lib.SPECIALS[role], ctypes.byref(out))
        if st == 10:  # CE_ERR_NOT_FOUND
            return None
        lib.check(st)
        return out.value

    @property
    def special_ids(self) -> Dict[str, int]:
        """{role: id} for every special token role the tokenizer has."""
        found = {role: self.special_id(role) for role in _lib.SPECIALS}
        return {k: v for k, v in found.items() if v is not None}

    def stream_decoder(self, skip_special: bool = False) -> StreamDecoder:
        """A StreamDecoder: ids in, complete characters out."""
        return StreamDecoder(self, skip_special)


class StreamDecoder:
    """Streaming detokenizer (ce_decoder_*): push(id) returns the text that id
    completes, holding back the bytes of a character the next id completes;
    flush() returns what is held back. One thread at a time."""

    _handle: Optional[int]

    def __init__(self, tokenizer: Tokenizer, skip_special: bool = False) -> None:
        handle = ctypes.c_void_p()
        lib.check(lib.ce_decoder_create(tokenizer._ptr(),
                                        _lib.DECODE_SKIP_SPECIAL if skip_special else 0,
                                        ctypes.byref(handle)))
        self._tokenizer = tokenizer  # must outlive the decoder
        self._handle = handle.value
        self._buf = ctypes.create_string_buffer(256)

    def _call(self, fn: Callable[..., int], *args: Any) -> str:
        if self._handle is None:
            raise StateError("the stream decoder is closed")
        self._tokenizer._ptr()
        written = ctypes.c_size_t()
        st = fn(self._handle, *args, self._buf, len(self._buf), ctypes.byref(written))
        if st == 8:  # too small: the decoder is unchanged, retry with the size it needs
            self._buf = ctypes.create_string_buffer(written.value)
            st = fn(self._handle, *args, self._buf, len(self._buf), ctypes.byref(written))
        lib.check(st)
        return self._buf.raw[:written.value].decode("utf-8", "replace")

    def push(self, token_id: int) -> str:
        """Feed one id: the text it completes ("" while a character is incomplete)."""
        return self._call(lib.ce_decoder_push, token_id)

    def flush(self) -> str:
        """End of stream: the text held back (an incomplete character becomes
        U+FFFD); the decoder starts afresh."""
        return self._call(lib.ce_decoder_flush)

    def close(self) -> None:
        """Free the decoder (also done when it is garbage-collected)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.ce_decoder_free(handle)

    def __enter__(self) -> StreamDecoder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
