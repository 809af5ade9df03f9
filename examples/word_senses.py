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
    ("bear", "And the lion and the bear came out of the wood.",
     "Then came a bear out of the forest, and slew them.",
     "Thou shalt not bear false witness against thy neighbour."),
    ("lie", "Thou shalt lie down in the field and sleep.",
     "And he went to lie down upon his bed.",
     "God is not a man, that he should lie."),
    ("bow", "And he took his bow and his arrows.",
     "The bow of the mighty men is broken.",
     "They shall bow down before the king."),
    ("left", "He turned to the right hand and to the left hand.",
     "His left hand is under my head.",
     "And they left the city and went away."),
    ("light", "And God said, Let there be light.",
     "The light shineth in darkness.",
     "For my yoke is easy, and my burden is light."),
    ("host", "And all the host of Pharaoh went into the sea.",
     "The captain of the host of the king came.",
     "And he was the host of the feast in his house."),
    ("rest", "And on the seventh day he shall rest.",
     "Come unto me, and I will give you rest.",
     "And the rest of the people went away."),
    ("lead", "They sank as lead in the mighty waters.",
     "The tin, and the lead, and the iron.",
     "Lead me in thy truth, and teach me."),
]


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def word_vector(model, sentence, word):
    """Mean of the vectors of the tokens inside the first whole `word`."""
    if model.reads_words:               # ELMo: one vector per white-space word
        words = re.findall(r"[A-Za-z]+|[^\sA-Za-z]", sentence)
        lower = [w.lower() for w in words]
        return model.embed_words(words).tolist()[lower.index(word)]
    start = re.search(r"\b%s\b" % word, sentence, re.IGNORECASE).start()
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
