"""sentence_similarity: one vector per sentence (mean of the last layer's
token vectors, unit length) and the cosine similarity of every pair.

    python3 sentence_similarity.py bert-base-uncased "A man plays a guitar." "Someone plays music." "It rains."
"""
import itertools
import sys

import contextembed as ce

model_dir, texts = sys.argv[1], sys.argv[2:]
with ce.Model(model_dir) as model:
    vectors = [v.tolist() for v in model.embed(texts, pool="mean", normalize=True)]

for (a, va), (b, vb) in itertools.combinations(zip(texts, vectors), 2):
    print('%.4f  "%s"  "%s"' % (sum(x * y for x, y in zip(va, vb)), a, b))
