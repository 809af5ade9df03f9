#!/usr/bin/python3
"""WordPiece vocabulary learner, the way Hugging Face tokenizers' WordPieceTrainer
does it: words from BERT's basic tokenizer (lower-cased here), each spelled as
its first character followed by "##"-prefixed characters, then BPE merges
(most frequent adjacent pair first) until the vocabulary is full.  The merged
symbol of "a" + "##b" is "ab", of "##a" + "##b" is "##ab".

Vocabulary order: [PAD] [UNK] [CLS] [SEP] [MASK], the characters (word-initial
ones, then "##" ones, each sorted), then merge results in merge order.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "gen"))
sys.dont_write_bytecode = True
import gen_bert  # noqa: E402
import bpe_learn  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _spell(word):
    return (word[0],) + tuple("##" + c for c in word[1:])


def learn(lines, vocab_size, do_lower_case=True):
    basic = gen_bert.BasicTokenizer(do_lower_case)
    counts = {}
    for line in lines:
        for word in basic.tokenize(line):
            if len(word) <= 100:                      # longer words become [UNK] anyway
                s = _spell(word)
                counts[s] = counts.get(s, 0) + 1
    symbols = {c for w in counts for c in w}
    vocab = SPECIALS + sorted(c for c in symbols if not c.startswith("##")) + \
        sorted(c for c in symbols if c.startswith("##"))
    seen = set(vocab)
    merges = bpe_learn.merge_loop(counts, vocab_size - len(vocab) + 64,   # merges may repeat a token
                                  combine=lambda a, b: a + b[2:])
    for a, b in merges:
        t = a + b[2:]
        if t not in seen and len(vocab) < vocab_size:
            vocab.append(t)
            seen.add(t)
    return vocab


if __name__ == "__main__":
    v = learn(["The tide went out.", "And the evening and the morning were the first day."], 60)
    tok = gen_bert.FullTokenizer(v, True)
    print(len(v), v[-20:], tok.tokenize("The evening went out."))
