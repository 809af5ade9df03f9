#!/usr/bin/python3
"""Hand-made logit fixtures for the task pipelines' rules (test/fixtures/pipelines/).

The rules are Hugging Face's: fill-mask and text-classification (softmax or
sigmoid, top-k), token-classification with aggregation_strategy="simple"
(entity grouping), question-answering (windows over a long context from the
tokenizer's overflow with a stride, span choice per window, best over all
windows). The C program (tools/contextembed/pipelines.h) and the Python
binding (bindings/python/contextembed/pipelines.py) implement them; their
tests (test/test-pipelines.c, bindings/python/tests/test_pipelines.py) read
the files written here.

Every case is written by hand with what it must give (the "want" fields
below: labels, spans, windows). The numbers (probabilities, scores) come from
the reference functions in this file, which transcribe Hugging Face's code
(transformers 4.36 pipelines, tokenizers' Encoding::truncate) in numpy, and
each case is checked against its hand-written expectation before anything is
written. Logits are multiples of 1/64 or 1/8, exact in float32, so C and
Python read the same values.

Run from anywhere:  /usr/bin/python3 test/gen/gen_pipelines.py  (needs numpy)
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "pipelines"))
ABOUT = "written by test/gen/gen_pipelines.py: hand-made logits, numbers from numpy " \
        "transcriptions of Hugging Face's pipeline code"


# ---------------------------------------------------------------------------
# Reference: Hugging Face's code, transcribed
# ---------------------------------------------------------------------------

def hf_softmax(logits):
    """text-classification's softmax (numpy, here in float64)."""
    x = np.asarray(logits, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def hf_sigmoid(logits):
    with np.errstate(over="ignore"):  # exp(800) is inf: the limit 0 is right
        return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def ranked(probs, k):
    """torch.topk leaves the order of equal values open: the library ranks the
    lower index first (numpy's argmax does the same for k = 1)."""
    return sorted(range(len(probs)), key=lambda i: (-probs[i], i))[:k]


def hf_get_tag(entity_name):
    if entity_name.startswith("B-"):
        return "B", entity_name[2:]
    if entity_name.startswith("I-"):
        return "I", entity_name[2:]
    return "I", entity_name  # not in B-/I- format: a continuation


def hf_group_sub_entities(entities):
    entity = entities[0]["entity"].split("-", 1)[-1]
    scores = np.nanmean([e["score"] for e in entities])
    return {"entity_group": entity, "score": float(np.mean(scores)),
            "start": entities[0]["start"], "end": entities[-1]["end"],
            "first": entities[0]["index"], "last": entities[-1]["index"]}


def hf_group_entities(entities):
    groups, disagg = [], []
    for entity in entities:
        if not disagg:
            disagg.append(entity)
            continue
        bi, tag = hf_get_tag(entity["entity"])
        _, last_tag = hf_get_tag(disagg[-1]["entity"])
        if tag == last_tag and bi != "B":
            disagg.append(entity)
        else:
            groups.append(hf_group_sub_entities(disagg))
            disagg = [entity]
    if disagg:
        groups.append(hf_group_sub_entities(disagg))
    return groups


def hf_token_classification(logits, labels, special, offsets):
    """gather_pre_entities + aggregate(SIMPLE) + the ignore_labels=["O"] filter."""
    scores = hf_softmax(logits)
    pre = []
    for idx, row in enumerate(scores):
        if special[idx]:
            continue
        best = int(row.argmax())
        pre.append({"entity": labels[best], "score": float(row[best]), "index": idx,
                    "start": offsets[idx][0], "end": offsets[idx][1]})
    groups = hf_group_entities(pre)
    return [g for g in groups if g["entity_group"] not in ["O"]], scores


def tokenizers_overflow(n_context, max_len, stride):
    """tokenizers' Encoding::truncate (direction Right) of the context
    sequence to max_len tokens: the ranges of the main encoding and its
    overflowing parts."""
    if max_len >= n_context:
        return [(0, n_context)]
    assert stride < max_len, "stride must be strictly less than max_len"
    offset = max_len - stride
    parts, end = [], False
    for start in range(0, n_context, offset):
        if end:
            break
        stop = min(start + max_len, n_context)
        end = stop == n_context
        parts.append((start, stop))
    return parts


def hf_windows(sequence_ids, max_seq_len, stride):
    """What the question-answering pipeline's tokenizer call (truncation
    "only_second", return_overflowing_tokens, stride) makes of one pair."""
    n_context = sequence_ids.count(1)
    if not n_context:
        return {"error": "no_context", "room": 0}
    if len(sequence_ids) <= max_seq_len:
        return {"windows": [[0, n_context]]}
    room = max_seq_len - (len(sequence_ids) - n_context)
    if room <= 0:
        return {"error": "no_room", "room": 0}
    if stride >= room:
        return {"error": "stride", "room": room}
    return {"windows": [list(p) for p in tokenizers_overflow(n_context, room, stride)]}


def window_tokens(sequence_ids, window):
    first, end = window
    out, c = [], 0
    for i, s in enumerate(sequence_ids):
        if s == 1:
            if first <= c < end:
                out.append(i)
            c += 1
        else:
            out.append(i)
    return out


def hf_select_starts_ends(start, end, p_mask, top_k, max_answer_len):
    """select_starts_ends + decode_spans of transformers 4.36 (no attention
    mask: windows are not padded; handle_impossible_answer False)."""
    undesired_tokens = np.abs(np.array(p_mask) - 1)
    undesired_tokens_mask = undesired_tokens == 0.0
    start = np.where(undesired_tokens_mask, -10000.0, np.asarray(start, dtype=np.float64))
    end = np.where(undesired_tokens_mask, -10000.0, np.asarray(end, dtype=np.float64))
    start = np.exp(start - start.max(axis=-1, keepdims=True))
    start = start / start.sum()
    end = np.exp(end - end.max(axis=-1, keepdims=True))
    end = end / end.sum()
    start, end = start[None], end[None]
    start[0, 0] = end[0, 0] = 0.0
    outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
    candidates = np.tril(np.triu(outer), max_answer_len - 1)
    scores_flat = candidates.flatten()
    if top_k == 1:
        idx_sort = [np.argmax(scores_flat)]
    else:  # HF: argpartition then argsort, whose order of ties is open; ties ranked by index
        idx_sort = np.argsort(-scores_flat, kind="stable")[:top_k]
    starts, ends = np.unravel_index(idx_sort, candidates.shape)[1:]
    allowed = undesired_tokens.nonzero()
    desired = np.isin(starts, allowed) & np.isin(ends, allowed)
    starts, ends = starts[desired], ends[desired]
    return [(int(s), int(e), float(candidates[0, s, e])) for s, e in zip(starts, ends)], \
        start[0], end[0]


def hf_p_mask(ids, sequence_ids, cls_id):
    """question_first: 1 for tokens that are not context; [CLS] kept (0)."""
    p_mask = [0 if s == 1 else 1 for s in sequence_ids]
    for i, tok in enumerate(ids):
        if cls_id is not None and tok == cls_id:
            p_mask[i] = 0
    return p_mask


def hf_answer_spans(windows, cls_id, top_k, max_answer_len):
    """postprocess: every window's candidates, then sorted by score (stable)."""
    answers = []
    for w, win in enumerate(windows):
        p_mask = hf_p_mask(win["ids"], win["sequence_ids"], cls_id)
        spans, _, _ = hf_select_starts_ends(win["start_logits"], win["end_logits"], p_mask,
                                            top_k, max_answer_len)
        # only spans of context tokens (HF's filter also lets [CLS] through, at score 0)
        answers += [{"window": w, "start": s, "end": e, "score": sc} for s, e, sc in spans
                    if win["sequence_ids"][s] == 1 and win["sequence_ids"][e] == 1]
    return sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

def check(cond, what):
    if not cond:
        sys.exit("gen_pipelines: case check failed: %s" % what)


def check_no_near_ties(values, k, what):
    """Among the k + 1 largest values, two are either equal (a tie the rules
    break by index) or clearly apart: never apart by rounding alone, where
    float32 (Hugging Face), numpy, C and Python could order them differently."""
    top = sorted(values, reverse=True)[:k + 1]
    for a, b in zip(top, top[1:]):
        check(a == b or a - b > 1e-9 * max(abs(a), 1e-300), "%s: near tie %r / %r" % (what, a, b))


def all_span_scores(windows, cls_id, max_answer_len):
    """Every candidate's score, from the reference's own probabilities."""
    scores = []
    for win in windows:
        p_mask = hf_p_mask(win["ids"], win["sequence_ids"], cls_id)
        _, ps, pe = hf_select_starts_ends(win["start_logits"], win["end_logits"], p_mask, 1,
                                          max_answer_len)
        ctx = [s == 1 for s in win["sequence_ids"]]
        scores += [float(ps[s] * pe[e]) for s in range(len(ctx)) for e in
                   range(s, min(len(ctx), s + max_answer_len)) if ctx[s] and ctx[e]]
    return scores


def score_cases():
    cases = []

    def add(name, function, logits, k, want_top):
        probs = (hf_softmax if function == "softmax" else hf_sigmoid)(logits)
        top = ranked(list(probs), k)
        check_no_near_ties(list(probs), k, name)
        check(top == want_top, "%s: top %r, wanted %r" % (name, top, want_top))
        cases.append({"name": name, "function": function, "logits": logits, "k": k,
                      "expected": {"probs": [float(p) for p in probs], "top": top,
                                   "argmax": int(np.argmax(probs))}})

    add("softmax_top3", "softmax", [0.5, 2.25, -1.0, 3.0, 0.0], 3, [3, 1, 0])
    add("ties_lower_index_first", "softmax", [1.0, 3.0, 3.0, 0.0, 3.0], 2, [1, 2])
    add("all_equal", "softmax", [0.25, 0.25, 0.25, 0.25], 4, [0, 1, 2, 3])
    add("k_above_n", "softmax", [-0.5, 0.75], 5, [1, 0])
    add("large_logits_stable", "softmax", [1000.0, 999.0, 1000.0, -1000.0], 3, [0, 2, 1])
    add("negative_only", "softmax", [-12.5, -3.0, -7.25], 1, [1])
    add("sigmoid_multi_label", "sigmoid", [2.0, -1.5, 0.0, 2.0], 4, [0, 3, 2, 1])
    add("sigmoid_one_output", "sigmoid", [-0.625], 1, [0])
    add("sigmoid_extremes", "sigmoid", [-800.0, 800.0, 40.0], 3, [1, 2, 0])
    # more than 64: the sorting path (a vocabulary row with repeated values)
    row = [float((i * 37) % 11) / 8.0 for i in range(100)]
    want = sorted(range(100), key=lambda i: (-row[i], i))[:70]
    add("vocabulary_row_k70", "softmax", row, 70, want)
    add("vocabulary_row_k5", "softmax", row, 5, want[:5])
    return cases


def entity_cases():
    cases = []
    ner = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

    def one_hot(names, labels, specials=(), weak=None):
        """Logits whose argmax is each named label (4.0 against 0.0; weak[t]
        lowers the winner so scores differ)."""
        rows = []
        for t, name in enumerate(names):
            row = [0.0] * len(labels)
            row[labels.index(name)] = 4.0 - (weak or {}).get(t, 0.0)
            rows.append(row)
        return rows

    def add(name, labels, logits, special, offsets, text, want):
        entities, scores = hf_token_classification(logits, labels, special, offsets)
        got = [(e["entity_group"], e["start"], e["end"]) for e in entities]
        check(got == want, "%s: %r, wanted %r" % (name, got, want))
        data = text.encode("utf-8")
        cases.append({
            "name": name, "labels": labels, "logits": logits, "special": special,
            "offsets": offsets, "text": text,
            "expected": {
                "token_labels": [labels[int(r.argmax())] for r in scores],
                "entities": [{"label": e["entity_group"], "start": e["start"], "end": e["end"],
                              "text": data[e["start"]:e["end"]].decode("utf-8"),
                              "score": e["score"], "first": e["first"], "last": e["last"]}
                             for e in entities]}})

    # [CLS] John lives in Berlin [SEP]
    text = "John lives in Berlin"
    offs = [[0, 0], [0, 4], [5, 10], [11, 13], [14, 20], [0, 0]]
    spec = [1, 0, 0, 0, 0, 1]
    add("basic", ner, one_hot(["B-LOC", "B-PER", "O", "O", "B-LOC", "B-PER"], ner, weak={4: 1.5}),
        spec, offs, text, [("PER", 0, 4), ("LOC", 14, 20)])
    # B- after I- of the same type starts a new entity
    text = "Ann Lee Bob"
    offs = [[0, 0], [0, 3], [4, 7], [8, 11], [0, 0]]
    add("b_after_i", ner, one_hot(["O", "B-PER", "I-PER", "B-PER", "O"], ner, weak={2: 2.0}),
        [1, 0, 0, 0, 1], offs, text, [("PER", 0, 7), ("PER", 8, 11)])
    # I- without a B- opens an entity; an I- of another type closes it
    text = "in Paris France now"
    offs = [[0, 0], [0, 2], [3, 8], [9, 15], [16, 19], [0, 0]]
    add("i_without_b", ner, one_hot(["O", "O", "I-LOC", "I-LOC", "I-PER", "O"], ner),
        [1, 0, 0, 0, 0, 1], offs, text, [("LOC", 3, 15), ("PER", 16, 19)])
    # "O" runs give nothing; an O between two I-PER splits them
    text = "a b c d e"
    offs = [[0, 0], [0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [0, 0]]
    add("o_runs", ner, one_hot(["O", "O", "O", "I-PER", "O", "I-PER", "O"], ner),
        [1, 0, 0, 0, 0, 0, 1], offs, text, [("PER", 4, 5), ("PER", 8, 9)])
    add("only_o", ner, one_hot(["O"] * 7, ner), [1, 0, 0, 0, 0, 0, 1], offs, text, [])
    # word pieces: Wash ##ing ##ton are one entity (B I I), the text spans them
    text = "Washington é Zürich"
    offs = [[0, 0], [0, 4], [4, 7], [7, 10], [11, 13], [14, 17], [17, 21], [0, 0]]
    add("subwords", ner, one_hot(["O", "B-LOC", "I-LOC", "I-LOC", "O", "B-LOC", "B-LOC", "O"], ner,
                                 weak={2: 1.0, 3: 0.5, 6: 3.0}),
        [1, 0, 0, 0, 0, 0, 0, 1], offs, text,
        [("LOC", 0, 10), ("LOC", 14, 17), ("LOC", 17, 21)])
    # equal logits: the lower label index wins (B-PER before I-PER)
    ties = [[0.0] * 5, [1.0, 3.0, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 3.0, 3.0], [0.0] * 5]
    add("argmax_ties", ner, ties, [1, 0, 0, 1], [[0, 0], [0, 3], [4, 7], [0, 0]], "Ann Lee",
        [("PER", 0, 7)])
    # a special token inside is skipped: the tokens around it still group
    offs = [[0, 0], [0, 3], [0, 0], [4, 7], [0, 0]]
    add("special_inside", ner, one_hot(["O", "B-PER", "O", "I-PER", "O"], ner),
        [1, 0, 1, 0, 1], offs, "Ann Lee", [("PER", 0, 7)])
    # labels without B-/I- (IO scheme) continue each other; "B-PER" then "PER"
    # share the tag PER and a bare label counts as I-
    io = ["O", "PER", "LOC", "B-PER"]
    offs = [[0, 0], [0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [0, 0]]
    add("io_scheme", io, one_hot(["O", "PER", "PER", "LOC", "B-PER", "PER", "O"], io),
        [1, 0, 0, 0, 0, 0, 1], offs, "a b c d e", [("PER", 0, 3), ("LOC", 4, 5), ("PER", 6, 9)])
    # BIOES: "E-PER" is not a B-/I- label, so its tag is "E-PER" (no merge with
    # B-PER) but its name is "PER"; "S-LOC" likewise
    bioes = ["O", "B-PER", "E-PER", "S-LOC"]
    add("bioes_names", bioes, one_hot(["O", "B-PER", "E-PER", "S-LOC", "O"], bioes),
        [1, 0, 0, 0, 1], [[0, 0], [0, 3], [4, 7], [8, 11], [0, 0]], "Ann Lee Rio",
        [("PER", 0, 3), ("PER", 4, 7), ("LOC", 8, 11)])
    return cases


def window_cases():
    cases = []

    def seq(question, context, template="bert"):
        if template == "bert":  # [CLS] Q [SEP] C [SEP]
            return [-1] + [0] * question + [-1] + [1] * context + [-1]
        return [-1] + [0] * question + [-1, -1] + [1] * context + [-1]  # <s> Q </s></s> C </s>

    def add(name, sequence_ids, max_len, stride, want):
        got = hf_windows(sequence_ids, max_len, stride)
        check(got.get("windows", got.get("error")) == want, "%s: %r, wanted %r" % (name, got, want))
        expected = dict(got)
        if "windows" in got:
            expected["tokens"] = [window_tokens(sequence_ids, w) for w in got["windows"]]
            for toks in expected["tokens"]:
                check(len(toks) <= max_len, "%s: a window is too long" % name)
        cases.append({"name": name, "sequence_ids": sequence_ids, "max_len": max_len,
                      "stride": stride, "expected": expected})

    add("fits", seq(3, 8), 16, 128, [[0, 8]])  # stride is not checked when nothing is cut
    add("exactly_full", seq(3, 10), 16, 2, [[0, 10]])
    add("bert_stride_2", seq(3, 20), 14, 2, [[0, 8], [6, 14], [12, 20]])
    add("roberta_template", seq(2, 12, "roberta"), 12, 3, [[0, 6], [3, 9], [6, 12]])
    add("last_window_short", seq(1, 10), 9, 1, [[0, 5], [4, 9], [8, 10]])
    add("stride_0", seq(1, 9), 7, 0, [[0, 3], [3, 6], [6, 9]])
    add("one_over", seq(2, 6), 10, 3, [[0, 5], [2, 6]])
    add("stride_equals_room", seq(3, 20), 14, 8, "stride")
    add("stride_too_large", seq(3, 20), 14, 9, "stride")
    add("no_room", seq(12, 5), 14, 2, "no_room")
    add("no_context", [-1, 0, 0, -1], 14, 2, "no_context")
    return cases


def qa_window(question, context_logits, cls_id=101, sep=102, template="bert"):
    """A window: [CLS] Q [SEP] C [SEP] with given (start, end) logits per context
    token; question and special tokens get the logits given in 'question'."""
    q_ids = [2000 + i for i in range(len(question))]
    c_ids = [3000 + i for i in range(len(context_logits))]
    ids = [cls_id] + q_ids + [sep] + c_ids + [sep]
    seq_ids = [-1] + [0] * len(q_ids) + [-1] + [1] * len(c_ids) + [-1]
    start = [0.0] + [q[0] for q in question] + [0.0] + [c[0] for c in context_logits] + [0.0]
    end = [0.0] + [q[1] for q in question] + [0.0] + [c[1] for c in context_logits] + [0.0]
    return {"ids": ids, "sequence_ids": seq_ids, "start_logits": start, "end_logits": end}


def span_cases():
    cases = []

    def add(name, windows, top, max_answer, want, cls_id=101, cls_logits=None):
        if cls_logits is not None:
            for w in windows:
                w["start_logits"][0], w["end_logits"][0] = cls_logits
        spans = hf_answer_spans(windows, cls_id, top, max_answer)
        check_no_near_ties(all_span_scores(windows, cls_id, max_answer), top, name)
        got = [(s["window"], s["start"], s["end"]) for s in spans]
        check(got == want, "%s: %r, wanted %r" % (name, got, want))
        cases.append({"name": name, "cls_id": cls_id, "top": top, "max_answer": max_answer,
                      "windows": windows, "expected": spans})

    q = [(9.0, 9.0), (8.0, 8.0)]  # question tokens with the largest logits: masked
    # context tokens at window positions 4..: (start, end) logits
    add("simple", [qa_window(q, [(0.0, 0.0), (3.0, 0.5), (0.5, 1.0), (0.0, 2.5), (0.0, 0.0)])],
        1, 15, [(0, 5, 7)])
    # the end's argmax (position 4) lies before the start's (6): the best
    # valid span is neither argmax pair
    add("end_before_start", [qa_window(q, [(0.0, 3.0), (1.0, 0.0), (3.0, 0.0), (0.0, 1.0)])],
        1, 15, [(0, 6, 7)])
    # start at 4, end at 10 is 7 tokens: too long for max_answer 5
    ctx = [(4.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 1.0), (0.0, 0.0), (0.0, 4.0)]
    add("span_longer_than_n", [qa_window(q, ctx)], 1, 5, [(0, 4, 8)])
    add("span_fits_n", [qa_window(q, ctx)], 1, 7, [(0, 4, 10)])
    # top 3 in one window, no ties
    add("top3", [qa_window(q, [(2.0, 0.0), (0.75, 0.25), (0.0, 2.0), (0.5, 1.0)])], 3, 15,
        [(0, 4, 6), (0, 4, 7), (0, 5, 6)])
    # equal scores: the lower start, then the lower end
    add("tie_lower_start", [qa_window(q, [(2.0, 2.0), (0.0, 0.0), (2.0, 2.0)])], 1, 15,
        [(0, 4, 4)])
    add("tie_lower_end", [qa_window(q, [(2.0, 0.0), (0.0, 2.0), (0.0, 2.0)])], 1, 15,
        [(0, 4, 5)])
    # [CLS] with a large logit takes part in the softmax (lower scores) but is
    # never an answer
    add("cls_in_softmax", [qa_window(q, [(1.0, 0.0), (0.0, 1.0)])], 1, 15, [(0, 4, 5)],
        cls_logits=(6.0, 6.0))
    add("cls_not_answer", [qa_window(q, [(1.0, 0.0), (0.0, 1.0)])], 1, 15, [(0, 4, 5)],
        cls_logits=(30.0, 30.0))
    # two windows: the best span is in the second
    w0 = qa_window(q, [(1.0, 0.0), (0.0, 1.0), (0.0, 0.0), (0.0, 0.0)])
    w1 = qa_window(q, [(0.0, 0.0), (0.0, 0.0), (3.0, 0.0), (0.0, 3.0)])
    add("best_in_second_window", [w0, w1], 1, 15, [(1, 6, 7)])
    add("top3_over_windows", [qa_window(q, [(1.0, 0.0), (0.0, 1.0), (0.0, 0.0), (0.0, 0.0)]),
                              qa_window(q, [(0.0, 0.0), (0.0, 0.0), (3.0, 0.0), (0.0, 3.0)])],
        3, 15, [(1, 6, 7), (0, 4, 5), (0, 4, 4)])
    # the same logits in both windows: the earlier window wins the tie
    same = [(0.0, 0.0), (2.0, 0.0), (0.0, 2.0)]
    add("tie_earlier_window", [qa_window(q, same), qa_window(q, same)], 1, 15, [(0, 5, 6)])
    # RoBERTa's template: <s> Q </s></s> C </s>, [CLS] is <s> = 0
    rob = {"ids": [0, 50, 51, 2, 2, 60, 61, 62, 2], "sequence_ids": [-1, 0, 0, -1, -1, 1, 1, 1, -1],
           "start_logits": [5.0, 9.0, 9.0, 9.0, 9.0, 0.0, 2.0, 0.0, 9.0],
           "end_logits": [5.0, 9.0, 9.0, 9.0, 9.0, 0.0, 0.0, 2.0, 9.0]}
    add("roberta_template", [rob], 1, 15, [(0, 6, 7)], cls_id=0)
    return cases


def hf_word_to_chars(window_words, window_seqs, window_offsets, token):
    """tokenizers' Encoding.word_to_chars(token_to_word(token), sequence 1) on
    one window's encoding: the characters from the first to the last token of
    the token's word among the window's own tokens."""
    word = window_words[token]
    toks = [i for i, (w, s) in enumerate(zip(window_words, window_seqs)) if w == word and s == 1]
    return window_offsets[toks[0]][0], window_offsets[toks[-1]][1]


def answer_cases():
    """Whole chain: one pair encoding, windows, per-window logits, offsets of
    the answer's first and last words (align_to_words, the pipeline's default)."""
    cases = []
    context = "Ann met Bob in old Zürich town by the lake"
    # (offsets, word) of the context tokens: "Zürich" is two tokens, "Zü" "##rich"
    tokens_of = [((0, 3), 0), ((4, 7), 1), ((8, 11), 2), ((12, 14), 3), ((15, 18), 4),
                 ((19, 22), 5), ((22, 26), 5), ((27, 31), 6), ((32, 34), 7), ((35, 38), 8),
                 ((39, 43), 9)]
    ids = [101, 2001, 2002, 102] + [3000 + i for i in range(len(tokens_of))] + [102]
    seq_ids = [-1, 0, 0, -1] + [1] * len(tokens_of) + [-1]
    word_ids = [-1, 0, 1, -1] + [w for _, w in tokens_of] + [-1]
    offsets = [[0, 0], [0, 5], [6, 9], [0, 0]] + [list(o) for o, _ in tokens_of] + [[0, 0]]
    ZU, RICH = 4 + 5, 4 + 6  # encoding indices of "Zü" and "##rich"

    def add(name, max_len, stride, top, max_answer, logits_of, want):
        win = hf_windows(seq_ids, max_len, stride)
        tokens = [window_tokens(seq_ids, w) for w in win["windows"]]
        windows = []
        for k, toks in enumerate(tokens):
            start = [logits_of(k, i)[0] for i in toks]
            end = [logits_of(k, i)[1] for i in toks]
            windows.append({"ids": [ids[i] for i in toks],
                            "sequence_ids": [seq_ids[i] for i in toks],
                            "start_logits": start, "end_logits": end})
        spans = hf_answer_spans(windows, 101, top, max_answer)
        check_no_near_ties(all_span_scores(windows, 101, max_answer), top, name)
        data = context.encode("utf-8")
        answers = []
        for s in spans:
            toks = tokens[s["window"]]
            ww, ws, wo = ([word_ids[i] for i in toks], [seq_ids[i] for i in toks],
                          [offsets[i] for i in toks])
            b = hf_word_to_chars(ww, ws, wo, s["start"])[0]
            e = hf_word_to_chars(ww, ws, wo, s["end"])[1]
            answers.append({"answer": data[b:e].decode("utf-8"), "start": b, "end": e,
                            "score": s["score"], "window": s["window"]})
        got = [(a["answer"], a["window"]) for a in answers]
        check(got == want, "%s: %r, wanted %r" % (name, got, want))
        cases.append({"name": name, "context": context, "question": "who where",
                      "encoding": {"ids": ids, "sequence_ids": seq_ids, "word_ids": word_ids,
                                   "offsets": offsets},
                      "cls_id": 101, "max_seq_len": max_len, "stride": stride, "top": top,
                      "max_answer": max_answer,
                      "window_logits": [{"start": w["start_logits"], "end": w["end_logits"]}
                                        for w in windows],
                      "expected": {"windows": win["windows"], "answers": answers}})

    # Windows of max_len 9 hold 4 context tokens ([CLS] q q [SEP] c c c c [SEP]);
    # with stride 2: context tokens [0,4) [2,6) [4,8) [6,10) [8,11).
    def across(k, i):
        """'old Zürich' (tokens 4-6) is whole in window 2 only ([4,8))."""
        if i == 4 + 4:
            return (2.0 + (k == 2), 0.0)
        if i == RICH:
            return (0.0, 2.0 + (k == 2))
        return (0.0, 0.0)
    add("across_window_boundary", 9, 2, 1, 15, across, [("old Zürich", 2)])

    def cut(k, i):
        """'Bob in old' (tokens 2-4): window 0 ([0,4)) holds its start only;
        window 1 ([2,6)) holds all of it."""
        return {6: (3.0, 0.0), 7: (0.0, 0.5), 8: (0.0, 3.0)}.get(i, (0.0, 0.0))
    add("cut_by_window_end", 9, 2, 2, 15, cut, [("Bob in old", 1), ("Bob in", 0)])

    def second(k, i):
        """Only the second window ([3,6) with stride 1) is sure: 'in old'."""
        if k == 1 and i == 7:
            return (4.0, 0.0)
        if k == 1 and i == 8:
            return (0.0, 4.0)
        return (0.0, 0.0)
    add("best_in_second_window", 8, 0, 1, 15, second, [("in old", 1)])

    def inside_word(k, i):
        """Start and end both on '##rich': the answer is the whole word."""
        return (3.0, 3.0) if i == RICH else (0.0, 0.0)
    add("widened_to_word", 20, 2, 1, 15, inside_word, [("Zürich", 0)])

    def ends_mid_word(k, i):
        """'old Zü': the end widens to the end of 'Zürich'; then 'Zü' alone."""
        return {8: (3.0, 0.0), ZU: (1.0, 3.0)}.get(i, (0.0, 0.0))
    add("end_widened", 20, 2, 2, 15, ends_mid_word, [("old Zürich", 0), ("Zürich", 0)])

    def cut_word(k, i):
        """Window 3 ([6,10)) starts at '##rich' without 'Zü': the word is
        widened only over the window's own tokens, so the answer is 'rich town'."""
        if k == 3 and i == RICH:
            return (4.0, 0.0)
        if k == 3 and i == RICH + 1:
            return (0.0, 4.0)
        return (0.0, 0.0)
    add("word_cut_by_window", 9, 2, 1, 15, cut_word, [("rich town", 3)])
    return cases


def write(name, cases, rules):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    head = json.dumps({"about": ABOUT, "rules": rules}, ensure_ascii=False)
    lines = ",\n  ".join(json.dumps(c, ensure_ascii=False) for c in cases)
    with open(path, "w", encoding="utf-8") as f:  # one case per line
        f.write(head[:-1] + ',\n "cases": [\n  ' + lines + "\n ]\n}\n")
    with open(path, encoding="utf-8") as f:
        check(json.load(f)["cases"] == cases, "%s does not read back" % name)
    print("wrote %s (%d cases)" % (path, len(cases)))


def main():
    write("scores.json", score_cases(),
          "fill-mask / text-classification: probs = softmax (or sigmoid) of the logits; top = "
          "the k most probable indices, equal ones lower index first; argmax the first maximum")
    write("entities.json", entity_cases(),
          "token-classification, aggregation_strategy simple: softmax per token, special tokens "
          "skipped, argmax label per token, group while tag (B-/I- stripped) equals the last "
          "token's and the label is not B-; name = first label split('-', 1)[-1]; score = mean; "
          "groups named O dropped; offsets are UTF-8 bytes of text")
    write("windows.json", window_cases(),
          "question-answering windows: sequence_ids of one (question, context) pair encoding; "
          "room = max_len - (tokens that are not context); windows of room context tokens every "
          "room - stride (tokenizers' overflow); tokens = encoding indices of each window")
    write("spans.json", span_cases(),
          "question-answering spans: per window, logits of tokens neither context nor cls_id "
          "-> -10000, softmax, probability 0 at index 0; spans start <= end < start + max_answer "
          "of context tokens, score p_start * p_end; top over windows, equal scores: earlier "
          "window, lower start, lower end")
    write("answer.json", answer_cases(),
          "question-answering, the whole chain: windows of the encoding, the given logits per "
          "window, spans, byte offsets into context of the words (within the window) of the "
          "answer's first and last tokens (align_to_words)")


if __name__ == "__main__":
    main()
