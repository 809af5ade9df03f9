"""word_vectors: BERT splits words into pieces ("unbelievably" -> "un",
"##believ", "##ably"). The tokens' character offsets say where each piece came
from: pieces with no gap between them belong to one word, and the mean of
their vectors is the word's vector.

    python3 word_vectors.py bert-base-uncased "Unbelievably, the tide went out."
"""
import sys

import contextembed as ce

model_dir, text = sys.argv[1], sys.argv[2]
with ce.Model(model_dir) as model:
    enc = model.tokenizer.encode(text)
    vectors = model.embed_ids(enc.ids).tolist()  # the last layer, [tokens, hidden]

words = []  # [begin, end, [token indices]]
for i, ((begin, end), seq) in enumerate(zip(enc.char_offsets, enc.sequence_ids)):
    if seq < 0:  # [CLS], [SEP]
        continue
    if words and words[-1][1] == begin:
        words[-1][1] = end
        words[-1][2].append(i)
    else:
        words.append([begin, end, [i]])

for begin, end, pieces in words:
    mean = [sum(col) / len(pieces) for col in zip(*(vectors[i] for i in pieces))]
    print("%-16s %d piece%s  [%+.4f %+.4f %+.4f ...]"
          % (text[begin:end], len(pieces), "s" if len(pieces) > 1 else " ", *mean[:3]))
