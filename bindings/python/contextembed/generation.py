"""Decoder helpers on a Model: score a text, generate a continuation."""
from __future__ import annotations

import ctypes
import math
from typing import (TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union,
                    cast, overload)

from ._lib import c_float_p, lib
from ._types import Text
from .errors import InvalidArgumentError, UnsupportedError

if TYPE_CHECKING:
    from .model import Model
    from .session import Session
    from .tokenizer import StreamDecoder, Tokenizer

__all__ = ["Sampler", "score", "generate"]


class Sampler:
    """ce_sampler: greedy (temperature 0), temperature, top-k and top-p
    sampling with its own seeded generator. One thread at a time."""

    _handle: Optional[int]

    def __init__(self, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0) -> None:
        handle = ctypes.c_void_p()
        lib.check(lib.ce_sampler_create(seed, ctypes.byref(handle)))
        self._handle = handle.value
        try:
            lib.check(lib.ce_sampler_configure(self._handle, temperature, top_k, top_p))
        except BaseException:
            self.close()
            raise
        self._rows: Any = None

    def sample(self, session: Session) -> int:
        """Draw the next id from the logits of @session's last appended token."""
        ptr = session._ptr()
        vocab = session.model._dims["vocab_size"]
        rows = max(1, lib.ce_session_logits_rows(ptr))
        if self._rows is None or len(self._rows) < rows * vocab:
            self._rows = (ctypes.c_float * (rows * vocab))()
        count = ctypes.c_size_t()
        lib.check(lib.ce_session_logits(ptr, self._rows, len(self._rows), ctypes.byref(count)))
        last = ctypes.cast(ctypes.addressof(self._rows) + (rows - 1) * vocab * 4, c_float_p)
        token = ctypes.c_int32()
        lib.check(lib.ce_sampler_sample(self._handle, last, vocab, ctypes.byref(token)))
        return token.value

    def close(self) -> None:
        """Free the sampler (also done when it is garbage-collected)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.ce_sampler_free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


@overload
def _need_decoder(model: Model) -> Tokenizer: ...
@overload
def _need_decoder(model: Model, need_tokenizer: bool) -> Optional[Tokenizer]: ...


def _need_decoder(model: Model, need_tokenizer: bool = True) -> Optional[Tokenizer]:
    if not model.is_decoder:
        raise UnsupportedError("%s models are not decoders: score and generate need one "
                               "(GPT-2)" % model.architecture)
    return model._need_tokenizer() if need_tokenizer else model.tokenizer


def _logsumexp(row: Sequence[float]) -> float:
    peak = max(row)
    return peak + math.log(math.fsum(math.exp(v - peak) for v in row))


def score(model: Model, text: Union[Text, Sequence[int]]) -> Dict[str, Any]:
    """How likely the model finds @text, token by token, as the CLI's
    ``contextembed score`` reports it.

    @text is a str (encoded without added special tokens) or a list of ids.
    Returns {"ids", "tokens", "logprobs", "perplexity"}: "tokens" are the ids
    decoded one by one, "logprobs" the natural log-probability of each token
    after the first given the ones before it (one fewer than the ids: nothing
    predicts the first; start the ids with the end-of-text token to score it
    too), perplexity = exp(-mean(logprobs)).
    """
    tok = _need_decoder(model, need_tokenizer=isinstance(text, (str, bytes)))
    ids = cast("Tokenizer", tok).encode(text, add_special=False).ids \
        if isinstance(text, (str, bytes)) else [int(i) for i in text]
    if len(ids) < 2:
        raise InvalidArgumentError("score: %d token(s): nothing to score (start with the "
                                   "end-of-text token to score the first)" % len(ids))
    with model._pooled() as s:
        s.rewind(0)
        s.append(ids, all_logits=True)
        rows = s.logits()
    logprobs = []
    for i in range(1, len(ids)):
        row = rows[i - 1]
        row = row.tolist() if hasattr(row, "tolist") else list(row)
        logprobs.append(row[ids[i]] - _logsumexp(row))
    tokens: List[Optional[str]] = [tok.decode([i]) for i in ids] if tok is not None \
        else [None] * len(ids)
    return {"ids": ids, "tokens": tokens, "logprobs": logprobs,
            "perplexity": math.exp(-math.fsum(logprobs) / len(logprobs))}


def _split_stop(text: str, stops: Sequence[str]) -> Tuple[str, str, bool]:
    """(text safe to emit, text held back, stopped): emit up to the first stop
    string; hold back a tail that could still begin one."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    if cut >= 0:
        return text[:cut], "", True
    hold = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), hold, -1):
            if text.endswith(s[:k]):
                hold = k
                break
    return text[:len(text) - hold], text[len(text) - hold:], False


def generate(model: Model, prompt: Union[Text, Sequence[int]], max_tokens: int = 32,
             temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 0,
             stop: Union[None, str, Sequence[str]] = None) -> Iterator[str]:
    """Continue @prompt (a str, encoded without added special tokens, or a
    list of ids) with up to @max_tokens tokens: yields text pieces as they
    complete (whole UTF-8 characters, from the streaming decoder).

    temperature 0 is greedy; top_k 0 and top_p 1 disable those cuts; seed
    makes sampling repeatable. Generation ends at the tokenizer's EOS token,
    at the model's maximum length, or before the first of the @stop strings
    (a str or a list; text that may begin a stop string is held back until it
    is known not to). The prompt itself is not yielded.
    """
    tok = _need_decoder(model)
    stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if s]
    if isinstance(prompt, (str, bytes)):
        ids = list(tok.encode(prompt, add_special=False).ids)
    else:
        ids = [int(i) for i in prompt]
    eos = tok.special_id("eos")
    if not ids:  # start from the beginning-of-text token, as GPT-2 was trained
        start = tok.special_id("bos")
        first = start if start is not None else eos
        if first is None:
            raise InvalidArgumentError("empty prompt, and no BOS/EOS token to start from")
        ids = [first]
    sampler = Sampler(seed, temperature, top_k, top_p)
    session = model.session()
    decoder = tok.stream_decoder()
    try:
        yield from _generate_loop(model, session, sampler, decoder, ids, eos, max_tokens, stops)
    finally:
        decoder.close()
        session.close()
        sampler.close()


def _generate_loop(model: Model, session: Session, sampler: Sampler, decoder: StreamDecoder,
                   ids: List[int], eos: Optional[int], max_tokens: int,
                   stops: Sequence[str]) -> Iterator[str]:
    limit = model._dims["max_positions"]
    session.append(ids)
    held = ""
    for step in range(max_tokens):
        token = sampler.sample(session)
        if token == eos:
            break
        emit, held, stopped = _split_stop(held + decoder.push(token), stops)
        if emit:
            yield emit
        if stopped:
            return
        if step + 1 == max_tokens or session.context_length >= limit:
            break
        session.append([token])
    emit, held, stopped = _split_stop(held + decoder.flush(), stops)
    if emit:
        yield emit
    if held and not stopped:
        yield held
