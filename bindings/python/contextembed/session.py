"""Sessions: run a model and read hidden states; decode with a KV cache.

A session holds a backend context, scratch memory, the results of its last
run and (for decoders) the KV cache, or (for ELMo with carry_state) the LSTM
state. Use one session from one thread at a time.
"""
from __future__ import annotations

import ctypes
import numbers
import weakref
from typing import (TYPE_CHECKING, Any, Dict, Iterable, List, MutableMapping, Optional,
                    Sequence, Tuple, Union, cast)

from . import _lib
from ._lib import lib
from ._types import Array, Layers, Mix, Text, TextInput
from .arrays import Buffer
from .errors import InvalidArgumentError, StateError
from .tokenizer import _utf8

if TYPE_CHECKING:
    from .model import Model

__all__ = ["Session", "make_options"]


def make_options(backend: Optional[str] = None, threads: Optional[int] = None,
                 truncate: Optional[bool] = None, carry_state: Optional[bool] = None,
                 sentence_modules: Optional[int] = None, precision: Optional[str] = None,
                 windows: Optional[bool] = None, stride: Optional[int] = None) -> Optional[int]:
    """A ce_options handle with what is not None set (caller frees), or None.
    windows: long sequences run as overlapping windows (CE_LONG_WINDOW),
    stride tokens shared by consecutive ones (None: the library's default)."""
    long_input = _lib.LONG_WINDOW if windows else None
    if (backend is None and threads is None and truncate is None and carry_state is None
            and sentence_modules is None and precision is None and long_input is None):
        return None
    handle = ctypes.c_void_p()
    lib.check(lib.ce_options_create(ctypes.byref(handle)))
    try:
        if backend is not None:
            name = _utf8(backend, "backend")
            lib.check(lib.ce_options_set_string(handle, _lib.OPT_BACKEND, name))
        if precision is not None:
            name = _utf8(precision, "precision")
            lib.check(lib.ce_options_set_string(handle, _lib.OPT_PRECISION, name))
        for key, value in ((_lib.OPT_THREADS, threads), (_lib.OPT_TRUNCATE, truncate),
                           (_lib.OPT_CARRY_STATE, carry_state),
                           (_lib.OPT_SENTENCE_MODULES, sentence_modules),
                           (_lib.OPT_LONG_INPUT, long_input),
                           (_lib.OPT_WINDOW_STRIDE, stride if long_input else None)):
            if value is not None:
                lib.check(lib.ce_options_set_int(handle, key, int(value)))
    except BaseException:
        lib.ce_options_free(handle)
        raise
    return handle.value


def _int32s(values: Iterable[int]) -> Any:
    values = list(values)
    return (ctypes.c_int32 * max(len(values), 1))(*values)


def _sizes(values: Iterable[int]) -> Any:
    values = list(values)
    return (ctypes.c_size_t * max(len(values), 1))(*values)


def _split_mix(mix: Any) -> Tuple[List[float], float]:
    """(weights, gamma) from mix=(weights, gamma) or mix=weights (gamma 1)."""
    if isinstance(mix, tuple) and len(mix) == 2 and not isinstance(mix[0], numbers.Number):
        return [float(w) for w in mix[0]], float(mix[1])
    return [float(w) for w in mix], 1.0


class _Select:
    """A ce_select built from embed()'s keywords, and the shape to give results."""

    handle: Optional[int]
    planes: Optional[int]

    def __init__(self, model: Model, layers: Layers = None, mix: Optional[Mix] = None,
                 pool: Optional[str] = None, normalize: Optional[bool] = None,
                 mix_layer_norm: bool = False) -> None:
        if pool not in _lib.POOLS:
            raise ValueError("pool must be one of %s, not %r"
                             % (", ".join(repr(p) for p in _lib.POOLS if p), pool))
        if mix is not None and layers is not None:
            raise ValueError("give layers or mix, not both")
        n_output_layers = model._dims["num_output_layers"]
        self.pooled = _lib.POOLS[pool] != 0
        # the model's own pooling concatenates its modes
        self.width = len(model.pooling) if _lib.POOLS[pool] == _lib.POOL_DEFAULT else 1
        handle = ctypes.c_void_p()
        lib.check(lib.ce_select_create(ctypes.byref(handle)))
        self.handle = handle.value
        try:
            self._configure(n_output_layers, layers, mix, pool, normalize, mix_layer_norm)
        except BaseException:
            self.close()
            raise

    def _configure(self, n_output_layers: int, layers: Any, mix: Optional[Mix],
                   pool: Optional[str], normalize: Optional[bool], mix_layer_norm: bool) -> None:
        self.planes = None  # None: one layer or a mix, the layer axis is dropped
        if mix is not None:
            weights, gamma = _split_mix(mix)
            arr = (ctypes.c_float * max(len(weights), 1))(*weights)
            lib.check(lib.ce_select_mix(self.handle, arr, len(weights), gamma))
            lib.check(lib.ce_select_mix_layer_norm(self.handle, int(bool(mix_layer_norm))))
        elif isinstance(layers, str):
            if layers != "all":
                raise ValueError("layers must be None, an int, a list of ints or 'all'")
            lib.check(lib.ce_select_layers(self.handle, None, 0))
            self.planes = n_output_layers
        elif layers is not None:
            one = isinstance(layers, numbers.Integral)
            chosen = [int(layers)] if one else [int(l) for l in layers]
            if not chosen:
                raise ValueError("layers is an empty list")
            lib.check(lib.ce_select_layers(self.handle, _int32s(chosen), len(chosen)))
            if not one:
                self.planes = len(chosen)
        lib.check(lib.ce_select_pool(self.handle, _lib.POOLS[pool]))
        if normalize is not None:  # None: pool="default" follows the model
            lib.check(lib.ce_select_normalize(self.handle, int(bool(normalize))))

    def shape(self, tokens: int, dim: int) -> Tuple[int, ...]:
        inner = (dim * self.width,) if self.pooled else (tokens, dim)
        return inner if self.planes is None else (self.planes,) + inner

    def close(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            lib.ce_select_free(handle)

    def __enter__(self) -> _Select:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _split_words(text: Text) -> Tuple[bytes, List[Tuple[int, int]]]:
    """Whitespace-separated words of @text as (UTF-8 bytes, [(begin, end)])."""
    data = _utf8(text)
    spans, start, pos = [], None, 0
    for ch in data.decode("utf-8"):
        size = len(ch.encode("utf-8", "surrogatepass"))
        if ch.isspace():
            if start is not None:
                spans.append((start, pos))
                start = None
        elif start is None:
            start = pos
        pos += size
    if start is not None:
        spans.append((start, pos))
    return data, spans


class Session:
    """A session on a model: ``model.session(...)`` creates one.

    Encoders: run()/embed()/embed_ids()/embed_words(), then output().
    Decoders: append(), logits(), rewind(), copy(), context_length.
    ELMo: embed()/embed_words() carry each batch row's LSTM state from one
    call to the next when created with carry_state=True; reset_state()
    starts again from zero.
    """

    _handle: Optional[int]

    def __init__(self, model: Model, backend: Optional[str] = None,
                 threads: Optional[int] = None, truncate: Optional[bool] = None,
                 carry_state: Optional[bool] = None, windows: Optional[bool] = None,
                 stride: Optional[int] = None, _pooled: bool = False) -> None:
        # A user's session keeps its model alive; the model's own pooled
        # sessions must not (that would be a reference cycle).
        self._strong = None if _pooled else model
        self._model_ref = weakref.ref(model)
        self._settings: Dict[str, Any] = dict(backend=backend, threads=threads, truncate=truncate,
                              carry_state=carry_state, windows=windows, stride=stride)
        opts = make_options(**self._settings)
        handle = ctypes.c_void_p()
        try:
            lib.check(lib.ce_session_create(model._ptr(), opts, ctypes.byref(handle)))
        finally:
            lib.ce_options_free(opts)
        self._handle = cast(int, handle.value)
        self._live: MutableMapping[int, bool] = model._live_sessions
        self._live_lock = model._live_lock
        with self._live_lock:
            self._live[self._handle] = True

    @property
    def _model(self) -> Model:
        model = self._model_ref()
        if model is None:
            raise StateError("the session's model is gone")
        return model

    def _ptr(self) -> int:
        if self._handle is None:
            raise StateError("the session is closed")
        self._model._ptr()
        return self._handle

    def close(self) -> None:
        """Free the session (done for you when the model closes)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with self._live_lock:  # still the model's to free, or already freed with it
            mine = self._live.pop(handle, None) is not None
        if mine:
            lib.ce_session_free(handle)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def model(self) -> Model:
        """The Model the session runs (StateError once it is gone)."""
        return self._model

    @property
    def backend(self) -> str:
        """Name of the backend the session runs on ("blis", "ref", ...)."""
        return lib.ce_session_backend(self._ptr()).decode()

    @property
    def threads(self) -> int:
        """Compute threads the session uses."""
        return lib.ce_session_threads(self._ptr())

    # ---- encoders: run, then read ----

    def run(self, sequences: Sequence[Sequence[int]],
            type_ids: Optional[Sequence[Sequence[int]]] = None) -> None:
        """Run a packed batch: @sequences is a list of id lists (one per
        sequence), @type_ids None or parallel to it."""
        sequences = [list(s) for s in sequences]
        flat = [i for s in sequences for i in s]
        types = None
        if type_ids is not None:
            type_ids = [list(t) for t in type_ids]
            if [len(t) for t in type_ids] != [len(s) for s in sequences]:
                raise InvalidArgumentError("type_ids must have one value per token id")
            types = _int32s(t for s in type_ids for t in s)
        lib.check(lib.ce_session_run(self._ptr(), len(sequences),
                                     _sizes(len(s) for s in sequences), _int32s(flat), types))

    def run_words(self, sentences: Sequence[Union[Text, Sequence[Text]]]) -> None:
        """Run a batch of sentences given as words (ELMo). Each sentence is a
        list of words, or a str split at whitespace (by the model's tokenizer
        when it has one)."""
        text, offsets, counts = bytearray(), [], []
        for sentence in sentences:
            if isinstance(sentence, (str, bytes)):
                data, spans = self._words_of(sentence)
            else:
                parts = [_utf8(w, "word") for w in sentence]
                data, spans, pos = b" ".join(parts), [], 0
                for part in parts:
                    spans.append((pos, pos + len(part)))
                    pos += len(part) + 1
            base = len(text)
            text += data
            offsets += [v + base for span in spans for v in span]
            counts.append(len(spans))
        lib.check(lib.ce_session_run_words(self._ptr(), len(counts), _sizes(counts), bytes(text),
                                           len(text), _sizes(offsets)))

    def _words_of(self, sentence: Text) -> Tuple[bytes, List[Tuple[int, int]]]:
        tok = self._model.tokenizer
        if tok is None:
            return _split_words(sentence)
        enc = tok.encode(sentence, add_special=False)
        return enc.text, [o for o, s in zip(enc.offsets, enc.sequence_ids) if s == 0]

    @property
    def num_sequences(self) -> int:
        """Sequences in the last successful run (0 before any)."""
        return lib.ce_session_num_sequences(self._ptr())

    def sequence_length(self, seq: int = 0) -> int:
        """Tokens (or words) of sequence @seq in the last run, after truncation."""
        out = ctypes.c_size_t()
        lib.check(lib.ce_session_sequence_length(self._ptr(), seq, ctypes.byref(out)))
        return out.value

    def output(self, seq: int = 0, layers: Layers = None, mix: Optional[Mix] = None,
               pool: Optional[str] = None, normalize: Optional[bool] = None,
               mix_layer_norm: bool = False) -> Array:
        """Hidden states of sequence @seq of the last run (see Model.embed for
        the keywords and the shapes)."""
        with _Select(self._model, layers, mix, pool, normalize,
                     mix_layer_norm) as sel:
            return self._read(seq, sel)

    def _read(self, seq: int, sel: _Select) -> Array:
        ptr = self._ptr()
        tokens = self.sequence_length(seq)
        shape = sel.shape(tokens, self._model._dims["hidden_size"])
        buf = Buffer(max(1, _count(shape)))
        count = ctypes.c_size_t()
        lib.check(lib.ce_session_output(ptr, seq, sel.handle, buf.ptr, buf.count,
                                        ctypes.byref(count)))
        if count.value != _count(shape):
            raise AssertionError("library wrote %d floats for shape %r" % (count.value, shape))
        return buf.result(shape)

    def head_output(self, seq: int = 0, head: str = "masked_lm") -> Array:
        """Raw logits of task head @head for sequence @seq of the last run:
        [T, vocab] ("masked_lm"), [2] ("next_sentence"), [labels]
        ("sequence_classification"), [T, labels] ("token_classification"),
        [T, 2] ("question_answering": start, end). NotFoundError when the model
        has no such head (Model.heads lists those it has)."""
        if head not in _lib.HEADS:
            raise ValueError("head must be one of %s, not %r"
                             % (", ".join(repr(h) for h in _lib.HEADS), head))
        ptr, code = self._ptr(), _lib.HEADS[head]
        dims, ndim = (ctypes.c_size_t * 2)(), ctypes.c_size_t()
        lib.check(lib.ce_session_head_shape(ptr, seq, code, dims, ctypes.byref(ndim)))
        shape = tuple(dims[:ndim.value])
        buf = Buffer(max(1, _count(shape)))
        count = ctypes.c_size_t()
        lib.check(lib.ce_session_head_output(ptr, seq, code, buf.ptr, buf.count,
                                             ctypes.byref(count)))
        if count.value != _count(shape):
            raise AssertionError("library wrote %d floats for shape %r" % (count.value, shape))
        return buf.result(shape)

    def embed(self, texts: Union[TextInput, Sequence[TextInput]], layers: Layers = None,
              mix: Optional[Mix] = None, pool: Optional[str] = None,
              normalize: Optional[bool] = None, truncate: Optional[bool] = None,
              batch_size: int = 32, mix_layer_norm: bool = False,
              add_special: bool = True) -> Union[Array, List[Array]]:
        """Embed one text (returns one array) or a list of texts (returns a
        list); see Model.embed."""
        single = isinstance(texts, (str, bytes, tuple))
        items: List[Any] = [texts] if single else list(texts)
        results: List[Array] = []
        with _Select(self._model, layers, mix, pool, normalize,
                     mix_layer_norm) as sel:
            for start in range(0, len(items), max(1, batch_size)):
                chunk = items[start:start + max(1, batch_size)]
                if self._model.reads_words:
                    self.run_words(chunk)
                else:
                    encs = [self._model._encode(t, truncate, add_special) for t in chunk]
                    self.run([e.ids for e in encs], [e.type_ids for e in encs])
                results += [self._read(i, sel) for i in range(len(chunk))]
        return results[0] if single else results

    def embed_ids(self, ids: Union[Sequence[int], Sequence[Sequence[int]]],
                  type_ids: Union[None, Sequence[int], Sequence[Sequence[int]]] = None,
                  layers: Layers = None, mix: Optional[Mix] = None, pool: Optional[str] = None,
                  normalize: Optional[bool] = None,
                  mix_layer_norm: bool = False) -> Union[Array, List[Array]]:
        """Embed token ids as given: one list of ids (one array back) or a
        list of lists (a list back). No special tokens are added."""
        single = len(ids) == 0 or isinstance(ids[0], numbers.Integral)
        seqs: Any = [ids] if single else ids
        types: Any = None if type_ids is None else ([type_ids] if single else type_ids)
        with _Select(self._model, layers, mix, pool, normalize,
                     mix_layer_norm) as sel:
            self.run(seqs, types)
            results = [self._read(i, sel) for i in range(len(seqs))]
        return results[0] if single else results

    def embed_words(self, words: Union[Sequence[Text], Sequence[Sequence[Text]]],
                    layers: Layers = None, mix: Optional[Mix] = None, pool: Optional[str] = None,
                    normalize: Optional[bool] = None,
                    mix_layer_norm: bool = False) -> Union[Array, List[Array]]:
        """Embed pre-split words (ELMo): one list of words (one array back,
        one vector per word) or a list of such lists (a list back)."""
        single = len(words) > 0 and isinstance(words[0], (str, bytes))
        sentences: Any = [words] if single else words
        with _Select(self._model, layers, mix, pool, normalize,
                     mix_layer_norm) as sel:
            self.run_words(sentences)
            results = [self._read(i, sel) for i in range(len(sentences))]
        return results[0] if single else results

    def reset_state(self) -> None:
        """Forget the carried LSTM state (carry_state=True sessions)."""
        lib.check(lib.ce_session_reset_state(self._ptr()))

    # ---- decoders: the KV cache ----

    def append(self, ids: Union[int, Iterable[int]], all_logits: bool = False) -> None:
        """Append token ids to the context and compute their logits; with
        all_logits, logits() then has one row per appended token."""
        ids = [int(ids)] if isinstance(ids, (int, numbers.Integral)) else [int(i) for i in ids]
        flags = _lib.APPEND_ALL_LOGITS if all_logits else 0
        lib.check(lib.ce_session_append(self._ptr(), _int32s(ids), len(ids), flags))
        self._all_logits = bool(all_logits)

    def logits(self) -> Array:
        """Next-token logits of the last append: [vocab] for the last
        position, or [appended, vocab] after append(..., all_logits=True)."""
        ptr = self._ptr()
        rows = lib.ce_session_logits_rows(ptr)
        vocab = self._model._dims["vocab_size"]
        buf = Buffer(max(1, rows * vocab))
        count = ctypes.c_size_t()
        lib.check(lib.ce_session_logits(ptr, buf.ptr, buf.count, ctypes.byref(count)))
        all_rows = getattr(self, "_all_logits", False)
        return buf.result((rows, vocab) if all_rows else (vocab,))

    @property
    def context_length(self) -> int:
        """Tokens in the context (the KV cache)."""
        return lib.ce_session_context_length(self._ptr())

    def rewind(self, length: int) -> None:
        """Keep the first @length tokens of the context (and their cache)."""
        lib.check(lib.ce_session_rewind(self._ptr(), length))

    def copy(self) -> Session:
        """A new session on the same model and options that continues exactly
        where this one is (context, KV cache, last logits)."""
        other = Session(self._model, **self._settings)
        try:
            lib.check(lib.ce_session_copy_state(other._ptr(), self._ptr()))
        except BaseException:
            other.close()
            raise
        other._all_logits = getattr(self, "_all_logits", False)
        return other


def _count(shape: Iterable[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
