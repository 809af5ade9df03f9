"""word_senses: contextual vectors tell a word's senses apart.

For each word, its last-layer vector in a sentence is compared (cosine) with
its vector in another sentence using the same sense, and in one using another
sense. A static word embedding would give 1.000 for both.

    python3 word_senses.py models/bert-mini-en
    python3 word_senses.py models/gpt2-mini-en
    python3 word_senses.py models/elmo-mini-en

The sentences suit the models in models/, trained on the King James Bible.
"""
import math
import re
import sys

import contextembed as ce

SENSES = [  # word, two sentences with the same sense, one with another sense
    ("bear", "the lion and the bear came out of the wood.",
     "a bear robbed of her whelps met the man.",
     "he shall bear the iniquity of the people."),
    ("lie", "thou shalt lie down in the field and sleep.",
     "he went to lie down upon his bed.",
     "god is not a man, that he should lie."),
    ("bow", "he took his bow and his arrows.",
     "the bow of the mighty men is broken.",
     "they shall bow down before the king."),
    ("left", "he turned to the right hand and to the left hand.",
     "his left hand was under my head.",
     "they left the city and went away."),
    ("light", "god said, let there be light.",
     "the light shineth in darkness.",
     "my yoke is easy and my burden is light."),
]


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def word_vector(model, sentence, word):
    """Mean of the vectors of the tokens inside the first whole `word`."""
    if model.reads_words:               # ELMo: one vector per white-space word
        words = re.findall(r"[A-Za-z]+|[^\sA-Za-z]", sentence)
        return model.embed_words(words).tolist()[words.index(word)]
    start = re.search(r"\b%s\b" % word, sentence).start()
    end = start + len(word)
    enc = model.tokenizer.encode(sentence)
    vectors = model.embed(sentence).tolist()
    rows = [v for v, (b, e) in zip(vectors, enc.char_offsets) if e > b and b < end and e > start]
    return [sum(col) / len(rows) for col in zip(*rows)]


with ce.Model(sys.argv[1]) as model:
    print("%-6s %8s %8s" % ("word", "same", "other"))
    for word, a, b, c in SENSES:
        va, vb, vc = (word_vector(model, s, word) for s in (a, b, c))
        print("%-6s %8.3f %8.3f" % (word, cosine(va, vb), cosine(va, vc)))
