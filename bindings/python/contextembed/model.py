"""Models: open a checkpoint directory, embed texts, score and generate."""
from __future__ import annotations

import contextlib
import ctypes
import json
import threading
import weakref
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from . import _lib
from ._lib import lib
from ._types import Array, Layers, Mix, PathArg, Rows, Text, TextInput
from .errors import StateError, UnsupportedError
from .session import Session, make_options
from .tokenizer import Encoding, Tokenizer, _utf8

__all__ = ["Model"]


def cpu_features() -> Dict[str, bool]:
    """What the CPU offers for the precisions, as a dict of booleans: "avx2"
    (with FMA), "avx512", "avx512_bf16", "amx_bf16", "vnni", "amx_int8"."""
    bits = int(lib.ce_cpu_features())
    return {name: bool(bits & bit) for name, bit in _lib.CPU_FEATURES}



def _check_windows(truncate: Optional[bool], windows: bool, stride: Optional[int]) -> None:
    if windows and truncate:
        raise ValueError("windows and truncate exclude each other: windows keeps every token")
    if stride is not None and not windows:
        raise ValueError("stride applies to windows=True only")
    if stride is not None and (not isinstance(stride, int) or isinstance(stride, bool)
                               or stride < 1):
        raise ValueError("stride must be a positive int, not %r" % (stride,))

class Model:
    """An open model: immutable, and safe to use from many threads at once.

    ``Model(path, backend="auto", threads=None, sentence_modules=True, precision="f32")``
    opens a Hugging Face directory (config.json, model.safetensors,
    tokenizer), a sentence-transformers one (modules.json: its pooling,
    normalisation and max_seq_length become the model's, see embed's
    pool="default"; sentence_modules=False opens its Transformer alone) or an
    ELMo one. backend is "auto", "ref", "blis", "onednn" or a registered name;
    threads is the compute threads of each session (None: all CPUs).
    precision is "f32", "bf16" (CPUs with AVX512-BF16 or AMX-BF16) or "int8"
    (weight-only, for decoding): the weights are prepared in it once, and a
    precision the CPU or backend cannot run raises UnsupportedError (never
    another precision). Close it with close() or a ``with`` block; that also
    closes every session made on it.
    """

    _handle: Optional[int]

    def __init__(self, path: PathArg, backend: str = "auto", threads: Optional[int] = None,
                 sentence_modules: bool = True, precision: Optional[str] = None) -> None:
        opts = make_options(backend=backend, threads=threads,
                            sentence_modules=None if sentence_modules else 0,
                            precision=precision)
        handle = ctypes.c_void_p()
        try:
            lib.check(lib.ce_model_open(_utf8(path, "path"), opts, ctypes.byref(handle)))
        finally:
            lib.ce_options_free(opts)
        self._setup(cast(int, handle.value))

    @classmethod
    def random(cls, config: Union[str, bytes, Mapping[str, Any]], seed: int = 0,
               backend: str = "auto", threads: Optional[int] = None,
               precision: Optional[str] = None) -> Model:
        """A model with random weights built from a config.json text or dict
        (no files, no tokenizer): for benchmarks and tests."""
        text = config if isinstance(config, (str, bytes)) else json.dumps(config)
        data = _utf8(text, "config")
        opts = make_options(backend=backend, threads=threads, precision=precision)
        handle = ctypes.c_void_p()
        try:
            lib.check(lib.ce_model_open_random(data, len(data), seed, opts, ctypes.byref(handle)))
        finally:
            lib.ce_options_free(opts)
        model = cls.__new__(cls)
        model._setup(cast(int, handle.value))
        return model

    def _setup(self, handle: int) -> None:
        self._handle = handle
        # Handles of the sessions still open on this model, shared with them:
        # whichever is finalised first (the garbage collector picks the order
        # at interpreter exit, after clearing weak references), each session
        # is freed once, and before the model.
        self._live_sessions: Dict[int, bool] = {}
        # Reentrant and its own: a session's __del__ may run in the middle of
        # any code of this thread (the garbage collector), even under _lock.
        self._live_lock = threading.RLock()
        self._pool: Dict[Tuple[bool, bool, Optional[int]], List[Session]] = {}
        self._lock = threading.Lock()
        self._tokenizer_ref: Optional[weakref.ReferenceType[Tokenizer]] = None
        self._extra: Optional[Dict[str, Any]] = None
        #: The architecture ("bert", "roberta", "distilbert", "gpt2", "elmo", ...).
        self.architecture: str = lib.ce_model_architecture(handle).decode()
        self._dims: Dict[str, int] = {}
        for key, code in _lib.INFO_KEYS:
            value = ctypes.c_int64()
            lib.check(lib.ce_model_get_info(handle, code, ctypes.byref(value)))
            self._dims[key] = value.value

    def _ptr(self) -> int:
        if self._handle is None:
            raise StateError("the model is closed")
        return self._handle

    def close(self) -> None:
        """Free the model and every session on it. No other thread may be
        using the model or its sessions at that moment."""
        with self._lock:
            handle, self._handle = self._handle, None
            self._pool = {}
        if handle is None:
            return
        while True:  # one at a time: a session closing itself meanwhile takes its own
            with self._live_lock:
                if not self._live_sessions:
                    break
                session_handle, _ = self._live_sessions.popitem()
            lib.ce_session_free(session_handle)
        lib.ce_model_free(handle)

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else "%d layers" % self._dims["num_layers"]
        return "Model(%s, %s)" % (self.architecture, state)

    # ---- facts ----

    @property
    def info(self) -> Dict[str, Any]:
        """The model's shape as a dict (the keys of ``contextembed info``)."""
        self._ptr()
        if self._extra is None:
            with self._pooled() as s:
                backend, threads = s.backend, s.threads
            tok = self.tokenizer
            self._extra = {"tokenizer": None if tok is None else tok.kind,
                           "backend": backend, "threads": threads, "version": lib.version}
        info: Dict[str, Any] = {"architecture": self.architecture}
        info.update(self._dims)
        info.update(self._extra)
        info["capabilities"] = self.capabilities
        info["pooling"] = self.pooling
        info["normalize"] = bool(self._dims["normalize"])
        info["heads"] = self.heads
        info["labels"] = self._classifier_labels()
        info["precision"] = self.precision
        info["cpu"] = cpu_features()
        return info

    @property
    def precision(self) -> str:
        """The precision the model's weight products run in: "f32", "bf16" or "int8"."""
        value = ctypes.c_int64()
        lib.check(lib.ce_model_get_info(self._ptr(), _lib.INFO_PRECISION, ctypes.byref(value)))
        return _lib.PRECISIONS.get(value.value, str(value.value))

    def _info_value(self, key: int) -> int:
        """One ce_model_get_info() value read on demand (see _lib.INFO_HEADS)."""
        value = ctypes.c_int64()
        lib.check(lib.ce_model_get_info(self._ptr(), key, ctypes.byref(value)))
        return value.value

    @property
    def heads(self) -> List[str]:
        """The task heads the checkpoint carries, as names: "masked_lm",
        "next_sentence", "sequence_classification", "token_classification",
        "question_answering" ([] for a bare encoder)."""
        from .heads import head_names
        return head_names(self._info_value(_lib.INFO_HEADS))

    @property
    def multi_label(self) -> bool:
        """True when the sequence classifier's labels are independent
        (config problem_type "multi_label_classification": sigmoid scores)."""
        return bool(self._info_value(_lib.INFO_MULTI_LABEL))

    def head_labels(self, head: str) -> List[str]:
        """Names of the outputs of @head (one of Model.heads): the config's
        id2label ("LABEL_i" where it has none), "is_next" / "not_next",
        "start" / "end"; [] for "masked_lm" (its outputs are the vocabulary)."""
        from .heads import head_labels
        return head_labels(self, head)

    def _classifier_labels(self) -> List[str]:
        """The labels `contextembed info` reports: those of the sequence
        classifier, else the token classifier, else next-sentence; []."""
        have = self.heads
        for head in ("sequence_classification", "token_classification", "next_sentence"):
            if head in have:
                return self.head_labels(head)
        return []

    @property
    def capabilities(self) -> List[str]:
        """What the model can do, as names: "token_ids", "words", "decoder",
        "bidirectional", "token_types", "carry_state", "sentence_pooling"."""
        bits = self._dims["capabilities"]
        return [name for name, bit in _lib.CAPABILITIES if bits & bit]

    @property
    def pooling(self) -> List[str]:
        """The model's own sentence pooling (a sentence-transformers
        directory's), as pool names in the order they are concatenated; []
        when it has none."""
        bits = self._dims["pooling"]
        order = ["cls", "max", "mean", "mean_sqrt_len", "weighted_mean", "last"]
        return [name for name in order if bits & (1 << _lib.POOLS[name])]

    @property
    def tokenizer(self) -> Optional[Tokenizer]:
        """The model's Tokenizer (None when it has none); closes with the model."""
        handle = lib.ce_model_tokenizer(self._ptr())
        tok = self._tokenizer_ref() if self._tokenizer_ref else None
        if tok is None:
            if not handle:
                return None
            tok = Tokenizer._borrow(handle, self)
            self._tokenizer_ref = weakref.ref(tok)
        return tok

    @property
    def reads_words(self) -> bool:
        """True for models that read words rather than token ids (ELMo)."""
        return "words" in self.capabilities

    @property
    def is_decoder(self) -> bool:
        """True for models with a KV cache and logits (GPT-2)."""
        return "decoder" in self.capabilities

    # ---- sessions ----

    def session(self, backend: Optional[str] = None, threads: Optional[int] = None,
                truncate: bool = False, carry_state: bool = False, windows: bool = False,
                stride: Optional[int] = None) -> Session:
        """A new Session (one thread at a time) with the model's backend and
        threads unless given. truncate cuts over-long id sequences instead of
        failing; windows (encoders) runs them as overlapping windows instead
        (see embed); carry_state (ELMo) keeps each batch row's LSTM state from
        one run to the next."""
        _check_windows(truncate, windows, stride)
        return Session(self, backend=backend, threads=threads, truncate=truncate or None,
                       carry_state=carry_state or None, windows=windows or None,
                       stride=stride if windows else None)

    @contextlib.contextmanager
    def _pooled(self, truncate: Optional[bool] = False, windows: bool = False,
                stride: Optional[int] = None) -> Iterator[Session]:
        """A session for one call, reused across calls and threads."""
        key: Tuple[bool, bool, Optional[int]] = (bool(truncate), bool(windows),
                                                 stride if windows else None)
        with self._lock:
            self._ptr()
            free = self._pool.setdefault(key, [])
            session = free.pop() if free else None
        if session is None:
            session = Session(self, truncate=key[0] or None, windows=key[1] or None,
                              stride=key[2], _pooled=True)
        try:
            yield session
        finally:
            with self._lock:
                if self._handle is not None:
                    self._pool.setdefault(key, []).append(session)
                    session = None
            if session is not None:
                session.close()

    def _need_tokenizer(self) -> Tokenizer:
        tok = self.tokenizer
        if tok is None:
            raise UnsupportedError("the model has no tokenizer: pass token ids (embed_ids)")
        return tok

    def _encode(self, text: TextInput, truncate: Optional[bool] = False,
                add_special: bool = True) -> Encoding:
        pair: Optional[Text] = None
        if isinstance(text, tuple):
            text, pair = text
        if truncate is None:  # sentence-transformers always cuts to its max_seq_length
            truncate = "sentence_pooling" in self.capabilities
        limit = self._dims["max_seq_length"] if truncate else None
        return self._need_tokenizer().encode(text, pair, add_special=add_special,
                                             max_length=limit)

    # ---- embeddings ----

    def embed(self, texts: Union[TextInput, Sequence[TextInput]], layers: Layers = None,
              mix: Optional[Mix] = None, pool: Optional[str] = None,
              normalize: Optional[bool] = None, truncate: Optional[bool] = None,
              batch_size: int = 32, mix_layer_norm: bool = False, add_special: bool = True,
              windows: bool = False, stride: Optional[int] = None) -> Union[Array, List[Array]]:
        """Contextual embeddings of one text (one array back) or a list of
        texts (a list back). A text may be a (text, pair) tuple.

        layers: None (the last layer), an int (0 = embedding output, -1 = last),
          a list of ints, or "all".
        mix: (weights, gamma) or weights: ELMo's scalar mix of all layers,
          gamma * sum softmax(weights)_j h_j (mix_layer_norm normalises each
          layer first).
        pool: None (one vector per token), "cls", "mean", "max",
          "mean_sqrt_len", "weighted_mean", "last", or "default": the model's
          own sentence embedding (a sentence-transformers directory: its
          pooling modes concatenated, normalised when it says so).
        normalize: True / False scale every vector to unit length or not;
          None (default) normalises only pool="default" on a model whose
          sentence embedding is normalised.
        truncate: cut texts to the model's maximum length (max_seq_length)
          instead of failing; None (default) cuts only for
          sentence-transformers models, as sentence-transformers does.
        windows: a text longer than the model takes runs as overlapping
          windows of its maximum length, each with the special tokens, and
          every token gets its vector from the window where it has the most
          context on both sides (Hugging Face's max-context rule); pooling
          covers the whole text. A text that fits is computed as without.
          stride: tokens shared by consecutive windows (None: a quarter of the
          maximum). Not with truncate=True.

        Shapes: [T, D] for one layer or a mix, [L, T, D] for a list or "all";
        pooled [D] or [L, D]. T counts tokens with the special ones (ELMo: words).
        """
        _check_windows(truncate, windows, stride)
        with self._pooled(windows=windows, stride=stride) as s:
            return s.embed(texts, layers, mix, pool, normalize, False if windows else truncate,
                           batch_size, mix_layer_norm, add_special)

    def embed_ids(self, ids: Union[Sequence[int], Sequence[Sequence[int]]],
                  type_ids: Union[None, Sequence[int], Sequence[Sequence[int]]] = None,
                  layers: Layers = None, mix: Optional[Mix] = None, pool: Optional[str] = None,
                  normalize: Optional[bool] = None, truncate: bool = False,
                  mix_layer_norm: bool = False) -> Union[Array, List[Array]]:
        """Embeddings of token ids as given (no special tokens added): one list
        of ids (one array back) or a list of lists (a list back)."""
        with self._pooled(truncate) as s:
            return s.embed_ids(ids, type_ids, layers, mix, pool, normalize, mix_layer_norm)

    def embed_batch(self, texts: Sequence[Text], pool: Optional[str] = None,
                    normalize: Optional[bool] = None, layers: Layers = None,
                    mix: Optional[Mix] = None, batch_tokens: int = 4096,
                    truncate: Optional[bool] = None, add_special: bool = True,
                    mix_layer_norm: bool = False, windows: bool = False,
                    stride: Optional[int] = None) -> Rows:
        """One pooled vector per text for many texts, fast: [N, D] as a numpy
        array ([N, L, D] for several layers; a list of lists without numpy).
        Each batch of about @batch_tokens tokens is one library call to
        tokenize and run and one to read, with the GIL released. pool is
        required, except on sentence-transformers models (their own pooling);
        the other keywords as embed()."""
        from .batch import embed_batch
        _check_windows(truncate, windows, stride)
        return embed_batch(self, texts, pool, normalize, layers, mix, batch_tokens,
                           False if windows else truncate, add_special, mix_layer_norm,
                           windows, stride)

    def embed_words(self, words: Union[Sequence[Text], Sequence[Sequence[Text]]],
                    layers: Layers = None, mix: Optional[Mix] = None, pool: Optional[str] = None,
                    normalize: Optional[bool] = None,
                    mix_layer_norm: bool = False) -> Union[Array, List[Array]]:
        """ELMo: embeddings of pre-split words, one vector per word: a list of
        words (one array back) or a list of such lists (a list back)."""
        with self._pooled() as s:
            return s.embed_words(words, layers, mix, pool, normalize, mix_layer_norm)

    # ---- task heads (contextembed.heads) ----

    def fill_mask(self, text: Text, top: int = 5, logits: bool = False) -> Dict[str, Any]:
        """The @top likeliest tokens behind each mask token of @text, as
        ``contextembed fill-mask``: {"ids", "masks": [{"index", "top": [{"id",
        "token", "prob"}, ...]}, ...]} (with logits=True each mask also holds
        its "logits" row). Needs a "masked_lm" head."""
        from .heads import fill_mask
        return fill_mask(self, text, top, logits)

    def classify(self, text: Text, pair: Optional[Text] = None) -> Dict[str, Any]:
        """A label for @text, or for the pair (@text, @pair), as ``contextembed
        classify``: {"ids", "labels", "logits", "probs", "label"}. Uses the
        "sequence_classification" head, else "next_sentence"."""
        from .heads import classify
        return classify(self, text, pair)

    def tag(self, text: Text) -> Dict[str, Any]:
        """A label per token of @text and the entities they make, as
        ``contextembed tag`` (byte offsets, plus "char_offsets" and entities'
        "char_start" / "char_end" for str indexing). Needs a
        "token_classification" head."""
        from .heads import tag
        return tag(self, text)

    def answer(self, question: Text, context: Text, top: int = 1, max_answer_tokens: int = 15,
               doc_stride: Optional[int] = None,
               max_seq_len: Optional[int] = None) -> Dict[str, Any]:
        """The span of @context that answers @question, as ``contextembed
        answer`` (see contextembed.heads.answer): {"answer", "start", "end",
        "char_start", "char_end", "score", "start_logits", "end_logits"}, plus
        "answers" when top > 1. max_seq_len defaults to min(384, the model's
        positions), doc_stride to min(128, max_seq_len // 2), as Hugging Face's
        question-answering pipeline. Needs a "question_answering" head."""
        from .heads import answer
        return answer(self, question, context, top, max_answer_tokens, doc_stride, max_seq_len)

    # ---- decoders ----

    def score(self, text: Union[Text, Sequence[int]]) -> Dict[str, Any]:
        """Log-probabilities of the tokens of @text (a str or a list of ids),
        as ``contextembed score``: {"ids", "tokens", "logprobs", "perplexity"}
        (see contextembed.generation.score)."""
        from .generation import score
        return score(self, text)

    def generate(self, prompt: Union[Text, Sequence[int]], max_tokens: int = 32,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 0,
                 stop: Union[None, str, Sequence[str]] = None) -> Iterator[str]:
        """Continue @prompt: an iterator of text pieces (see
        contextembed.generation.generate)."""
        from .generation import generate
        return generate(self, prompt, max_tokens, temperature, top_k, top_p, seed, stop)
