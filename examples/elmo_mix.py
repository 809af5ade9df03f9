"""elmo_mix: ELMo's vectors for words. ELMo gives three layers per word (the
character CNN and two biLSTM layers); a task mixes them with softmax-
normalised weights and a scale: gamma * sum_j softmax(w)_j * h_j.

    python3 elmo_mix.py elmo-small "The cat sat on the mat ." 0.2,0.5,0.3 1.0
"""
import math
import sys

import contextembed as ce

model_dir, sentence = sys.argv[1], sys.argv[2]
weights = [float(w) for w in sys.argv[3].split(",")] if len(sys.argv) > 3 else [0.0, 0.0, 0.0]
gamma = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0

with ce.Model(model_dir) as model:
    words = sentence.split()
    mixed = model.embed_words(words, mix=(weights, gamma)).tolist()  # [words, dim]
    layers = model.embed_words(words, layers="all").tolist()  # [3, words, dim]

# the same mix by hand, from the three layers
soft = [math.exp(w) for w in weights]
soft = [gamma * s / sum(soft) for s in soft]
for w, word in enumerate(words):
    by_hand = [sum(soft[l] * layers[l][w][k] for l in range(3)) for k in range(len(mixed[w]))]
    assert max(abs(a - b) for a, b in zip(by_hand, mixed[w])) < 1e-4
    norm = math.sqrt(sum(v * v for v in mixed[w]))
    print("%-12s |v| %8.4f  [%+.4f %+.4f ...]" % (word, norm, mixed[w][0], mixed[w][1]))
