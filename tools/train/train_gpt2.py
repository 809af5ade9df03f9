#!/usr/bin/python3
"""Train models/gpt2-mini-en: a small GPT-2 (next-token prediction) on the KJV.

    /usr/bin/python3 tools/train/corpus.py --out build-train/work
    nice -n 15 /usr/bin/python3 tools/train/train_gpt2.py --work build-train/work --out models/gpt2-mini-en

Tokenizer: byte-level BPE learned here (tools/train/bpe_learn.py) from the
training split.  Model: test/gen/gen_gpt2.py's from-scratch GPT2LMHeadModel
forward (HF semantics, gelu_new, tied head), trained with AdamW on random
windows of the training text.  Weights are stored as F16; the held-out
evaluation runs on the F16-rounded weights, as the library sees them.
"""

import argparse
import math
import os

import torch

import common
import corpus
import bpe_learn
import gen_bert as st
import gen_gpt2 as g2

EOT = g2.EOT


def encode_lines(enc, lines):
    return enc.encode("\n".join(lines), specials=False)[1]


def eval_chunks(enc, lines, max_tokens):
    """Held-out verses packed, in order, into texts of at most max_tokens tokens
    (each text is encoded on its own, exactly as `contextembed score` will)."""
    chunks, cur = [], []
    for line in lines:
        trial = cur + [line]
        if cur and len(enc.encode("\n".join(trial), specials=False)[1]) > max_tokens:
            chunks.append("\n".join(cur))
            trial = [line]
        cur = trial
    if cur:
        chunks.append("\n".join(cur))
    return chunks


def init_weights(cfg, seed):
    """GPT-2's initialisation: N(0, 0.02), residual projections / sqrt(2 L)."""
    gen = torch.Generator().manual_seed(seed)
    W = g2.make_weights(cfg, seed)
    for k, v in W.items():
        if k.endswith("ln_1.weight") or k.endswith("ln_2.weight") or k == "ln_f.weight":
            v.fill_(1.0)
        elif k.endswith(".bias"):
            v.zero_()
        else:
            std = 0.02 / math.sqrt(2 * cfg.n_layer) if k.endswith("c_proj.weight") else 0.02
            v.copy_(torch.randn(v.shape, generator=gen) * std)
    return {k: v.requires_grad_(True) for k, v in W.items()}


def batch_loss(W, cfg, x):
    _, logits, _ = g2.gpt2_forward(W, cfg, x[:, :-1])
    return torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.vocab_size), x[:, 1:].reshape(-1))


def score_chunks(W, cfg, enc, chunks):
    """Per chunk: (sum of log p(token | before) over tokens 2..n, n - 1)."""
    out = []
    with torch.no_grad():
        for text in chunks:
            ids = torch.tensor([enc.encode(text, specials=False)[1]])
            _, logits, _ = g2.gpt2_forward(W, cfg, ids)
            lp = torch.log_softmax(logits[0, :-1].double(), -1).gather(1, ids[0, 1:, None])
            out.append((lp.sum().item(), ids.shape[1] - 1))
    return out


def unigram_scores(train_ids, vocab_size, enc, chunks):
    counts = torch.bincount(torch.tensor(train_ids), minlength=vocab_size).double() + 1.0
    logp = torch.log(counts / counts.sum())
    out = []
    for text in chunks:
        ids = enc.encode(text, specials=False)[1]
        out.append((logp[ids[1:]].sum().item(), len(ids) - 1))
    return out


def ppl(scores):
    return math.exp(-sum(s for s, _ in scores) / sum(n for _, n in scores))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=128, help="training window (tokens)")
    ap.add_argument("--positions", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--time-only", type=int, default=0, help="time this many steps, write nothing")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    a = ap.parse_args()
    common.setup(a.seed, a.threads)
    clock = common.Clock()

    train, held = corpus.load(a.work)
    vocab, merges = bpe_learn.learn(train, a.vocab)
    enc = g2.ByteBpe(vocab, merges)
    ids = torch.tensor(encode_lines(enc, train))
    print(f"tokenizer: {len(vocab)} ids, {len(merges)} merges; train {len(ids)} tokens "
          f"({clock.minutes():.1f} min)", flush=True)

    cfg = g2.Cfg(vocab_size=len(vocab), n_embd=a.n_embd, n_layer=a.layers, n_head=a.heads,
                 n_positions=a.positions)
    W = init_weights(cfg, a.seed)
    n_params = sum(v.numel() for v in W.values())
    decay = [v for k, v in W.items() if v.dim() == 2]
    no_decay = [v for k, v in W.items() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(a.seed + 1)
    steps = a.time_only or a.steps
    t_train, losses = common.Clock(), []
    for step in range(steps):
        start = torch.randint(0, len(ids) - a.ctx - 1, (a.batch,), generator=gen)
        x = torch.stack([ids[s:s + a.ctx + 1] for s in start.tolist()])
        loss = batch_loss(W, cfg, x)
        lr = common.lr_at(step, a.steps, a.lr, max(1, a.steps // 30))
        common.train_step(opt, list(W.values()), loss, lr, losses, step, t_train)
    train_minutes = t_train.minutes()
    if a.time_only:
        print(f"{a.time_only} steps: {train_minutes * 60 / a.time_only:.3f} s/step, params {n_params}")
        return

    W16 = g2.round_to({k: v.detach() for k, v in W.items()}, "F16")
    chunks = eval_chunks(enc, held, a.positions)
    model = score_chunks(W16, cfg, enc, chunks)
    uni = unigram_scores(ids.tolist(), len(vocab), enc, chunks)
    final_loss = sum(losses[-100:]) / len(losses[-100:])
    print(f"held-out perplexity {ppl(model):.3f} (unigram {ppl(uni):.3f}); "
          f"final train loss {final_loss:.4f}", flush=True)

    d = a.out
    common.clean_dir(d)
    tensors = {"transformer." + k: st.st_from_torch(v.detach(), "F16") for k, v in W.items()}
    st.st_write(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    st.write_json(os.path.join(d, "config.json"), g2.hf_config(cfg, vocab[EOT], "float16"))
    st.write_json(os.path.join(d, "generation_config.json"), {
        "_from_model_config": True, "bos_token_id": vocab[EOT], "eos_token_id": vocab[EOT],
        "transformers_version": g2.TRANSFORMERS_VERSION})
    g2.write_tokenizer_files(d, vocab, merges, cfg.n_positions, merges_as_pairs=False)
    with open(os.path.join(d, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write("\n\f\n".join(chunks) + "\n")
    common.write_json(os.path.join(d, "eval.json"), {
        "heldout_file": "heldout.txt (texts separated by a line holding a form feed)",
        "heldout_texts": len(chunks),
        "scored_tokens": sum(n for _, n in model),
        "perplexity": ppl(model),
        "unigram_perplexity": ppl(uni),
        "per_text": [{"logprob_sum": s, "scored": n} for s, n in model],
        "unigram_per_text": [{"logprob_sum": s, "scored": n} for s, n in uni],
        "params": n_params,
        "train_tokens": len(ids),
        "steps": a.steps, "batch": a.batch, "ctx": a.ctx, "lr": a.lr, "seed": a.seed,
        "final_train_loss_mean_last_100": final_loss,
        "train_minutes": train_minutes,
        "total_minutes": clock.minutes(),
    })
    print(f"wrote {d} ({clock.minutes():.1f} min)")


if __name__ == "__main__":
    main()
