"""semantic_search: rank a small collection of texts by similarity to a query
(mean-pooled, unit-length vectors; the texts run as one packed batch).

    python3 semantic_search.py bert-base-uncased "where can I buy bread?"
"""
import sys

import contextembed as ce

DOCS = [
    "The bakery on the corner sells fresh bread every morning.",
    "Our train leaves the station at half past nine.",
    "Cats sleep for most of the day.",
    "The museum is closed on Mondays.",
    "You can buy vegetables and cheese at the Saturday market.",
    "He fixed the bicycle with a new chain.",
]

model_dir, query = sys.argv[1], sys.argv[2]
with ce.Model(model_dir) as model:
    q, *docs = [v.tolist() for v in model.embed([query] + DOCS, pool="mean", normalize=True)]

scores = sorted(((sum(a * b for a, b in zip(q, d)), text) for d, text in zip(docs, DOCS)),
                reverse=True)
for rank, (score, text) in enumerate(scores[:3], 1):
    print("%d. %.4f  %s" % (rank, score, text))
