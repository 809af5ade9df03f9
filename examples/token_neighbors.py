"""token_neighbors: one contextual vector per token, and each token's nearest
other token in the same text by cosine similarity.

    python3 token_neighbors.py bert-base-uncased "The bank raised rates; we sat on the river bank."
"""
import sys

import contextembed as ce

model_dir, text = sys.argv[1], sys.argv[2]
with ce.Model(model_dir) as model:
    tokens = model.tokenizer.encode(text).tokens
    # last layer, [tokens, hidden], each vector of unit length: dot product = cosine
    vectors = model.embed(text, normalize=True).tolist()

for i, v in enumerate(vectors):
    cos, j = max((sum(a * b for a, b in zip(v, w)), j)
                 for j, w in enumerate(vectors) if j != i)
    print("%3d %-14s nearest: %3d %-14s cos %.3f" % (i, tokens[i], j, tokens[j], cos))
