"""complete: continue a prompt with a decoder model (GPT-2), one token at a
time. The session's KV cache keeps the context, so each step computes only the
new token; a streaming decoder turns ids into whole characters.
(model.generate(prompt, ...) does all of this, with sampling and stop strings.)

    python3 complete.py gpt2 "The meaning of life is" 20
"""
import sys

import contextembed as ce

model_dir, prompt = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20

with ce.Model(model_dir) as model:
    tok = model.tokenizer
    session = model.session()
    session.append(tok.encode(prompt, add_special=False).ids)  # the prompt, at once
    decoder = tok.stream_decoder()
    eos = tok.special_id("eos")
    print(prompt, end="", flush=True)
    for _ in range(steps):
        logits = session.logits().tolist()  # next-token scores, [vocab]
        token = max(range(len(logits)), key=logits.__getitem__)  # greedy
        if token == eos:
            break
        print(decoder.push(token), end="", flush=True)
        if session.context_length >= model.info["max_positions"]:
            break
        session.append([token])  # one new token: cheap
    print(decoder.flush())
