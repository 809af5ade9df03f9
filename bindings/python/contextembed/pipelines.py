"""The rules that turn task-head logits into answers, as Hugging Face's
pipelines apply them: fill-mask and text-classification (softmax, sigmoid,
top-k), token-classification with aggregation_strategy="simple" (entity
grouping) and question-answering (windows over a long context, span choice).

They are the rules of the C program's tools/contextembed/pipelines.h, on
plain lists, and both are checked on the same hand-made fixtures
(test/fixtures/pipelines/*.json). Standard library only, and no import of the
rest of the package, so a test can load this file alone. Probabilities are
computed in double precision (Hugging Face computes in float32: the last bits
differ, never the choice, save for exact float32 ties).
"""
from __future__ import annotations

import heapq
import math
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

__all__ = ["softmax", "sigmoid", "argmax", "top_k", "group_entities", "qa_windows",
           "qa_window_tokens", "qa_masks", "qa_probs", "qa_spans", "WindowError"]


def softmax(logits: Sequence[float]) -> List[float]:
    """softmax of a list of floats, stable for any finite row."""
    peak = max(logits)
    exps = [math.exp(v - peak) for v in logits]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _sigmoid1(x: float) -> float:
    if x < -700.0:  # exp(-x) overflows a double: the limit
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def sigmoid(logits: Sequence[float]) -> List[float]:
    """1 / (1 + exp(-x)) of each logit (multi-label classification)."""
    return [_sigmoid1(v) for v in logits]


def _rank(values: Sequence[float], i: int) -> Tuple[int, float, int]:
    """Sort key: larger first, NaN last, equal values by lower index."""
    v = values[i]
    return (1, 0.0, i) if v != v else (0, -v, i)


def argmax(values: Sequence[float]) -> int:
    """Index of the largest value; the lowest among equal ones (numpy's argmax)."""
    return min(range(len(values)), key=lambda i: _rank(values, i))


def top_k(values: Sequence[float], k: int) -> List[int]:
    """Indices of the min(k, len) largest values, largest first; equal values
    lower index first."""
    return heapq.nsmallest(k, range(len(values)), key=lambda i: _rank(values, i))


# ---- token classification -------------------------------------------------

def _tag(label: str) -> Tuple[bool, str]:
    """get_tag(): (is a B- label, tag): B-X and I-X have tag X; any other label
    is its own tag and counts as an I- (a continuation)."""
    if label[:2] in ("B-", "I-"):
        return label[0] == "B", label[2:]
    return False, label


def group_entities(probs: Sequence[Sequence[float]], labels: Sequence[str],
                   skip: Sequence[bool], offsets: Sequence[Sequence[int]]) -> List[Dict[str, Any]]:
    """Entities of one sequence, as Hugging Face's TokenClassificationPipeline
    groups them with aggregation_strategy="simple".

    probs: one softmax row per token; labels: the label names; skip: true for
    special tokens; offsets: (start, end) per token. Each token takes its
    argmax label with that probability; a token joins the current group when
    its tag equals the tag of the group's last token and it is not a B-; a
    group is named by its first label after the first '-'
    (label.split("-", 1)[-1]) and scored by the mean of its tokens'
    probabilities; groups named "O" are dropped. Returns dicts with "label",
    "start", "end", "score", "first" and "last" (token indices).
    """
    groups: List[List[Tuple[int, int, float]]] = []
    current: List[Tuple[int, int, float]] = []
    for t, row in enumerate(probs):
        if skip[t]:
            continue
        label = argmax(row)
        token = (t, label, row[label])
        if current:
            begins, tag = _tag(labels[label])
            if not begins and tag == _tag(labels[current[-1][1]])[1]:
                current.append(token)
                continue
            groups.append(current)
        current = [token]
    if current:
        groups.append(current)
    entities = []
    for g in groups:
        name = labels[g[0][1]].split("-", 1)[-1]
        if name == "O":
            continue
        entities.append({"label": name, "start": offsets[g[0][0]][0],
                         "end": offsets[g[-1][0]][1],
                         "score": math.fsum(s for _, _, s in g) / len(g),
                         "first": g[0][0], "last": g[-1][0]})
    return entities


# ---- question answering: windows ------------------------------------------

class WindowError(ValueError):
    """The pair cannot be split into windows. ``reason`` is "no_context",
    "no_room" (the question leaves no room for the context) or "stride" (the
    stride is not below ``room``, the context tokens a window holds)."""

    def __init__(self, message: str, reason: str, room: int) -> None:
        ValueError.__init__(self, message)
        self.reason, self.room = reason, room


def qa_windows(sequence_ids: Sequence[int], max_len: int, stride: int) -> List[Tuple[int, int]]:
    """How one (question, context) pair encoding splits into windows of at most
    max_len tokens, consecutive windows sharing @stride context tokens, as
    Hugging Face tokenizers' overflow with truncation="only_second": a list of
    (first, end) ranges of context tokens (sequence id 1). Raises WindowError."""
    n_context = sum(1 for s in sequence_ids if s == 1)
    if not n_context:
        raise WindowError("the context has no tokens", "no_context", 0)
    if len(sequence_ids) <= max_len:
        return [(0, n_context)]
    room = max(0, max_len - (len(sequence_ids) - n_context))
    if not room:
        raise WindowError("the question leaves no room for the context in %d tokens"
                          % max_len, "no_room", 0)
    if stride >= room:
        raise WindowError("doc_stride %d must be below the %d context tokens a window "
                          "holds" % (stride, room), "stride", room)
    step = room - stride
    count = 1 + (n_context - room + step - 1) // step
    return [(k * step, min(k * step + room, n_context)) for k in range(count)]


def qa_window_tokens(sequence_ids: Sequence[int], window: Tuple[int, int]) -> List[int]:
    """Encoding indices of a window's tokens: every token that is not a context
    token, and context tokens window[0] .. window[1] - 1 in their place."""
    first, end = window
    index: List[int] = []
    c = 0
    for i, s in enumerate(sequence_ids):
        if s != 1 or first <= c < end:
            index.append(i)
        c += s == 1
    return index


# ---- question answering: spans --------------------------------------------

def qa_masks(ids: Sequence[int], sequence_ids: Sequence[int],
             cls_id: Optional[int]) -> Tuple[List[bool], List[bool]]:
    """(keep, context) per window token: keep for the tokens whose logits take
    part in the softmax (context tokens, and [CLS] tokens, which Hugging Face's
    p_mask leaves unmasked), context for those an answer may begin or end at."""
    context = [s == 1 for s in sequence_ids]
    keep = [c or (cls_id is not None and cls_id >= 0 and i == cls_id)
            for c, i in zip(context, ids)]
    return keep, context


def qa_probs(logits: Sequence[float], keep: Sequence[bool]) -> List[float]:
    """Start (or end) probabilities of one window: logits of tokens not kept
    become -10000, a softmax over the window, then the first token's ([CLS])
    probability is set to 0."""
    probs = softmax([v if k else -10000.0 for v, k in zip(logits, keep)])
    if probs:
        probs[0] = 0.0
    return probs


def qa_spans(windows: Sequence[Tuple[Sequence[float], Sequence[float], Sequence[bool]]],
             max_answer: int, k: int) -> List[Dict[str, Any]]:
    """The k best answer spans over windows, best first.

    windows: a list of (p_start, p_end, context) per window (see qa_probs and
    qa_masks). A candidate is start <= end < start + max_answer, both context
    tokens, scored p_start[start] * p_end[end]; equal scores rank the earlier
    window, then the lower start, then the lower end first. Returns dicts with
    "window", "start", "end" (window token positions) and "score".
    """
    def candidates() -> Iterator[Tuple[float, int, int, int]]:
        for w, (p_start, p_end, context) in enumerate(windows):
            n = len(context)
            for s in range(n):
                if not context[s]:
                    continue
                for e in range(s, min(n, s + max_answer)):
                    if context[e]:
                        yield (-(p_start[s] * p_end[e]), w, s, e)
    best = heapq.nsmallest(k, candidates())
    return [{"window": w, "start": s, "end": e, "score": -neg} for neg, w, s, e in best]


def qa_word_span(word_ids: Sequence[Optional[int]], sequence_ids: Sequence[int],
                 index: Sequence[int], start: int, end: int) -> Tuple[int, int]:
    """(start, end) window positions widened to whole words, as the pipeline's
    align_to_words: start back to the first, end on to the last token of its
    word among the window's tokens (index: their encoding indices). word_ids
    and sequence_ids are of the whole encoding (None / -1: no word)."""
    def same(a: int, b: int) -> bool:
        wa = word_ids[index[a]]
        return (wa is not None and wa >= 0 and wa == word_ids[index[b]]
                and sequence_ids[index[a]] == sequence_ids[index[b]])
    while start > 0 and same(start, start - 1):
        start -= 1
    while end + 1 < len(index) and same(end, end + 1):
        end += 1
    return start, end
