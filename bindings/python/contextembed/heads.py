"""Task heads on a Model: fill-mask, classify, tag and answer, with the same
fields as the CLI commands of those names (contextembed fill-mask, ...).

Each runs the model, reads the head's logits (Session.head_output) and
applies the rules of contextembed.pipelines. Byte offsets keep the CLI's
names ("start", "end", "offsets"); "char_start", "char_end" and
"char_offsets" are the same in code points, for slicing the Python str.
"""
from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, cast

from . import _lib, pipelines
from ._lib import lib
from ._types import Text
from .errors import InvalidArgumentError, NotFoundError
from .tokenizer import _char_positions

if TYPE_CHECKING:
    from .model import Model

__all__ = ["HEADS", "head_names", "head_labels", "fill_mask", "classify", "tag", "answer"]

#: ce_head values by name.
HEADS: Dict[str, int] = _lib.HEADS
_NAMES = {code: name for name, code in HEADS.items()}

# Bounds of one run of question-answering windows (as the CLI's).
_CHUNK_TOKENS, _CHUNK_SEQS = 2048, 64


def head_names(bits: int) -> List[str]:
    """Names of the heads in a CE_INFO_HEADS bit mask, in ce_head order."""
    return [_NAMES[code] for code in sorted(_NAMES) if bits & (1 << code)]


def head_labels(model: Model, head: str) -> List[str]:
    """Names of the outputs of @head (ce_model_head_label, "LABEL_i" where the
    config has none); [] for the masked LM."""
    code = HEADS[head]
    size = ctypes.c_size_t()
    lib.check(lib.ce_model_head_size(model._ptr(), code, ctypes.byref(size)))
    if code == HEADS["masked_lm"]:
        return []
    labels = []
    for i in range(size.value):
        name = lib.ce_model_head_label(model._ptr(), code, i)
        labels.append(name.decode("utf-8", "replace") if name else "LABEL_%d" % i)
    return labels


def _choose(model: Model, wanted: Sequence[str], command: str) -> str:
    """The first of @wanted the model has, else NotFoundError naming its heads."""
    have = model.heads
    for head in wanted:
        if head in have:
            return head
    raise NotFoundError("%s needs a model with a %s head; this one has %s"
                        % (command, " or ".join(wanted),
                           ", ".join(have) if have else "no task heads (a bare encoder)"))


def _floats(array: Any) -> Any:
    """A result array (numpy or FloatArray) as nested lists of Python floats."""
    return array.tolist()


def _run_one(model: Model, ids: List[int], type_ids: List[int], head: str) -> Any:
    with model._pooled() as s:
        s.run([ids], [type_ids])
        return _floats(s.head_output(0, head))


def fill_mask(model: Model, text: Text, top: int = 5, logits: bool = False) -> Dict[str, Any]:
    """The likeliest tokens behind each mask token of @text, as ``contextembed
    fill-mask``: {"ids", "masks": [{"index", "top": [{"id", "token", "prob"}],
    ("logits")}]}. "prob" is the softmax over the vocabulary; "token" the id
    decoded to text. InvalidArgumentError when the text has no mask token."""
    _choose(model, ["masked_lm"], "fill_mask")
    tok = model._need_tokenizer()
    if top < 1:
        raise InvalidArgumentError("fill_mask: top must be >= 1, not %r" % (top,))
    enc = tok.encode(text)
    mask = tok.special_id("mask")
    positions = [t for t, i in enumerate(enc.ids) if i == mask]
    if mask is None or not positions:
        raise InvalidArgumentError("fill_mask: the text has no mask token (%s)"
                                   % (tok.id_to_token(mask) if mask is not None else "none"))
    rows = _run_one(model, enc.ids, enc.type_ids, "masked_lm")
    masks = []
    for t in positions:
        probs = pipelines.softmax(rows[t])
        best = pipelines.top_k(probs, top)
        entry = {"index": t, "top": [{"id": i, "token": tok.decode([i]), "prob": probs[i]}
                                     for i in best]}
        if logits:
            entry["logits"] = rows[t]
        masks.append(entry)
    return {"ids": list(enc.ids), "masks": masks}


def classify(model: Model, text: Text, pair: Optional[Text] = None) -> Dict[str, Any]:
    """A label for @text (or the pair (@text, @pair)), as ``contextembed
    classify``: {"ids", "labels", "logits", "probs", "label"}. Sequence
    classification when the model has it, else next-sentence prediction
    (index 0 "is_next": @pair follows @text). probs: softmax, or sigmoid for
    multi-label models and single-output ones (Hugging Face's default)."""
    head = _choose(model, ["sequence_classification", "next_sentence"], "classify")
    enc = model._need_tokenizer().encode(text, pair)
    row = _run_one(model, enc.ids, enc.type_ids, head)
    labels = head_labels(model, head)
    multi = head == "sequence_classification" and (model.multi_label or len(row) == 1)
    probs = (pipelines.sigmoid if multi else pipelines.softmax)(row)
    return {"ids": list(enc.ids), "labels": labels, "logits": row, "probs": probs,
            "label": labels[pipelines.argmax(probs)]}


def _text_slice(data: bytes, chars: List[int], start: int, end: int) -> Dict[str, Any]:
    return {"start": start, "end": end, "char_start": chars[start], "char_end": chars[end],
            "text": data[start:end].decode("utf-8", "replace")}


def tag(model: Model, text: Text) -> Dict[str, Any]:
    """Token labels and entities of @text, as ``contextembed tag``: {"ids",
    "offsets", "char_offsets", "labels", "token_labels", "logits": {"shape",
    "data"}, "entities": [{"label", "start", "end", "char_start", "char_end",
    "text", "score"}]} (entities grouped as Hugging Face's
    aggregation_strategy="simple", see contextembed.pipelines.group_entities)."""
    _choose(model, ["token_classification"], "tag")
    enc = model._need_tokenizer().encode(text)
    rows = _run_one(model, enc.ids, enc.type_ids, "token_classification")
    labels = head_labels(model, "token_classification")
    probs = [pipelines.softmax(r) for r in rows]
    skip = [s < 0 for s in enc.sequence_ids]
    chars = _char_positions(enc.text)
    entities = []
    for e in pipelines.group_entities(probs, labels, skip, enc.offsets):
        item = {"label": e["label"]}
        item.update(_text_slice(enc.text, chars, e["start"], e["end"]))
        item["score"] = e["score"]
        entities.append(item)
    return {"ids": list(enc.ids), "offsets": [list(o) for o in enc.offsets],
            "char_offsets": [list(o) for o in enc.char_offsets], "labels": labels,
            "token_labels": [labels[pipelines.argmax(p)] for p in probs],
            "logits": {"shape": [len(rows), len(labels)], "data": [v for r in rows for v in r]},
            "entities": entities}


def _answer_settings(model: Model, max_answer_tokens: int, doc_stride: Optional[int],
                     max_seq_len: Optional[int], top: int) -> Tuple[int, int]:
    """Checked (max_seq_len, doc_stride) with Hugging Face's defaults:
    min(384, the model's positions) and min(128, max_seq_len // 2)."""
    positions = model._dims["max_positions"]
    if max_seq_len is None:
        max_seq_len = min(384, positions)
    if doc_stride is None:
        doc_stride = min(128, max_seq_len // 2)
    for name, value, low in (("top", top, 1), ("max_answer_tokens", max_answer_tokens, 1),
                             ("max_seq_len", max_seq_len, 1), ("doc_stride", doc_stride, 0)):
        if value < low:
            raise InvalidArgumentError("answer: %s must be >= %d, not %r" % (name, low, value))
    if max_seq_len > positions:
        raise InvalidArgumentError("answer: max_seq_len %d exceeds the model's %d positions"
                                   % (max_seq_len, positions))
    if doc_stride > max_seq_len:
        raise InvalidArgumentError("answer: doc_stride %d is larger than max_seq_len %d"
                                   % (doc_stride, max_seq_len))
    return max_seq_len, doc_stride


def _window_logits(model: Model, windows: Sequence[Tuple[List[int], List[int]]]
                   ) -> List[Tuple[List[float], List[float]]]:
    """(start logits, end logits) of each window, [(ids, type_ids)], run in batches."""
    out = []
    with model._pooled() as s:
        i = 0
        while i < len(windows):
            j, tokens = i + 1, len(windows[i][0])
            while (j < len(windows) and j - i < _CHUNK_SEQS
                   and tokens + len(windows[j][0]) <= _CHUNK_TOKENS):
                tokens += len(windows[j][0])
                j += 1
            s.run([w[0] for w in windows[i:j]], [w[1] for w in windows[i:j]])
            for k in range(j - i):
                rows = _floats(s.head_output(k, "question_answering"))
                out.append(([r[0] for r in rows], [r[1] for r in rows]))
            i = j
    return out


def answer(model: Model, question: Text, context: Text, top: int = 1,
           max_answer_tokens: int = 15, doc_stride: Optional[int] = None,
           max_seq_len: Optional[int] = None) -> Dict[str, Any]:
    """The span of @context that answers @question, as ``contextembed answer``
    chooses it (Hugging Face's question-answering pipeline): {"answer",
    "start", "end", "char_start", "char_end", "score", "start_logits",
    "end_logits"}, and with top > 1 "answers" (the top best, same fields but
    the logits). start/end are UTF-8 byte offsets into @context of the whole
    words holding the span's first and last tokens (align_to_words); the logits
    are those of the window holding the best answer."""
    _choose(model, ["question_answering"], "answer")
    max_seq_len, doc_stride = _answer_settings(model, max_answer_tokens, doc_stride,
                                               max_seq_len, top)
    tok = model._need_tokenizer()
    enc = tok.encode(question, context)
    if 0 not in enc.sequence_ids:
        raise InvalidArgumentError("answer: the question is empty (it has no tokens)")
    try:
        ranges = pipelines.qa_windows(enc.sequence_ids, max_seq_len, doc_stride)
    except pipelines.WindowError as err:
        raise InvalidArgumentError("answer: %s" % err) from None
    index = [pipelines.qa_window_tokens(enc.sequence_ids, r) for r in ranges]
    windows = [([enc.ids[i] for i in ix], [enc.type_ids[i] for i in ix]) for ix in index]
    logits = _window_logits(model, windows)
    cls_id = tok.special_id("cls")
    scored = []
    for ix, (ids, _), (start, end) in zip(index, windows, logits):
        keep, ctx = pipelines.qa_masks(ids, [enc.sequence_ids[i] for i in ix], cls_id)
        scored.append((pipelines.qa_probs(start, keep), pipelines.qa_probs(end, keep), ctx))
    spans = pipelines.qa_spans(scored, max_answer_tokens, top)
    context_data = cast(bytes, enc.pair)  # the pair of the encoding: the context
    chars = _char_positions(context_data)
    found = []
    for s in spans:
        ix = index[s["window"]]
        first, last = pipelines.qa_word_span(enc.word_ids, enc.sequence_ids, ix, s["start"],
                                             s["end"])
        b, e = enc.offsets[ix[first]][0], enc.offsets[ix[last]][1]
        item = _text_slice(context_data, chars, b, e)
        found.append({"answer": item["text"], "start": b, "end": e,
                      "char_start": item["char_start"], "char_end": item["char_end"],
                      "score": s["score"]})
    best = dict(found[0])
    best["start_logits"], best["end_logits"] = logits[spans[0]["window"]]
    if top > 1:
        best["answers"] = found
    return best
