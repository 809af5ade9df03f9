#!/usr/bin/python3
"""Byte-level BPE vocabulary learner (GPT-2 layout), incremental.

Same result as the plain loop in test/gen/gen_gpt2.py's train_bpe (most
frequent adjacent pair, ties broken by the smaller pair in code-point order,
merges never cross GPT-2 pre-token boundaries), but pair counts are updated
only for the words that contain the merged pair and the best pair comes from a
lazily invalidated heap, so a few thousand merges over a 4 MB corpus take
seconds instead of hours.
"""

import heapq
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "gen"))
sys.dont_write_bytecode = True
import gen_gpt2  # noqa: E402



def _word_counts(lines):
    counts = {}
    for line in lines:
        for word in gen_gpt2.pretokenize(line):
            w = tuple(gen_gpt2.BYTE_ENC[b] for b in word.encode("utf-8"))
            counts[w] = counts.get(w, 0) + 1
    return counts


def _merge_word(w, a, b, ab):
    out, i = [], 0
    while i < len(w):
        if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
            out.append(ab)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return out


def merge_loop(counts, n_merges, combine=lambda a, b: a + b):
    """The BPE merge loop over {word as tuple of symbols: count}: `n_merges`
    times, merge the most frequent adjacent pair (ties: the smaller pair).
    combine(a, b) names the merged symbol (WordPiece drops b's "##")."""
    words = [list(w) for w in counts]
    freq = list(counts.values())
    pairs, where = {}, {}
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pairs[p] = pairs.get(p, 0) + freq[i]
            where.setdefault(p, set()).add(i)
    heap = [(-n, p) for p, n in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        neg, best = heapq.heappop(heap)
        if pairs.get(best, 0) != -neg or neg == 0:
            continue                                   # stale entry
        merges.append(best)
        ab, touched = combine(*best), set()
        for i in sorted(where.pop(best, ())):
            w = words[i]
            for p in zip(w, w[1:]):
                pairs[p] -= freq[i]
                touched.add(p)
                if p in where:
                    where[p].discard(i)
            w = words[i] = _merge_word(w, best[0], best[1], ab)
            for p in zip(w, w[1:]):
                pairs[p] = pairs.get(p, 0) + freq[i]
                touched.add(p)
                where.setdefault(p, set()).add(i)
        pairs.pop(best, None)
        for p in touched:
            if pairs.get(p, 0) > 0:
                heapq.heappush(heap, (-pairs[p], p))
    return merges


def learn(lines, vocab_size):
    """vocab (token -> id, GPT-2's id layout) and merges for `vocab_size` ids.
    `lines` are pre-tokenized one by one (a line break is its own pre-token
    when lines are joined with "\n", so nothing is lost)."""
    merges = merge_loop(_word_counts(lines), vocab_size - 256 - 1)
    return gen_gpt2.vocab_from_merges(merges), merges


def _self_test():
    """Agrees with the reference loop on a small text."""
    text = ("And God said, Let there be light: and there was light.\n"
            "And God saw the light, that it was good: and God divided the light from the darkness.")
    ref_vocab, ref_merges = gen_gpt2.train_bpe(text, 60)
    vocab, merges = learn([text], 256 + 60 + 1)
    assert merges == ref_merges, (merges[:10], ref_merges[:10])
    assert vocab == ref_vocab


if __name__ == "__main__":
    _self_test()
    print("bpe_learn self-test passed")
