#!/usr/bin/python3
"""Train models/bert-mini-en: a small BERT (masked-language modelling) on the KJV.

    /usr/bin/python3 tools/train/corpus.py --out build-train/work
    nice -n 15 /usr/bin/python3 tools/train/train_bert.py --work build-train/work --out models/bert-mini-en \
        --minutes 38 --first-length 32 --first-steps 1500 --lengths 32,64,128 --batch-tokens 2048 \
        --lr 1e-3 --warmup 300 --pos-init 1.0

Tokenizer: lower-cased WordPiece vocabulary learned here
(tools/train/wordpiece_learn.py) from the training split, encoded with
test/gen/gen_bert.py's port of BERT's tokenizer.  Model: gen_bert's
from-scratch BertModel forward (HF semantics) plus BertForMaskedLM's head
(dense, erf GELU, LayerNorm, decoder tied to the word embeddings, bias),
trained on random windows of the training text: --first-length tokens for the
first --first-steps steps (short windows leave the unigram plateau soonest:
drawing 32, 64 or 128 from the start, the loss was still 5.17 after 2,000
steps), then each step's length drawn from --lengths (the long ones train
every position: a run on 32-token windows until the last 500 steps lost much
of what it had learned when the length changed), with
BERT's masking (--mask-rate of the tokens, 15 % by default; of those 80 %
[MASK], 10 % a random token, 10 % kept).  The position embeddings start as
sinusoids (--pos-init): with BERT's small random start this post-LayerNorm
encoder stayed for thousands of steps at the unigram plateau (loss 5.26 after
1,200 steps, against 4.54 with sinusoids, same seed and data).  A second stage can continue from a first one's
output (--init-from).
Saved as BertForMaskedLM saves itself: "bert."-prefixed encoder tensors and
cls.predictions.{bias,transform.*} (the tied decoder is left out), F16.
"""

import argparse
import json
import math
import os

import torch

import common
import corpus
import wordpiece_learn
import gen_bert as gb

MASK_P = 0.15


def encode_stream(tok, lines):
    ids = []
    for line in lines:
        ids.extend(tok.ids(tok.tokenize(line)))
    return ids


def init_weights(cfg, vocab_size, seed):
    gen = torch.Generator().manual_seed(seed)
    W = gb.make_weights(cfg, vocab_size, seed, with_pooler=False)
    W.update(gb.mlm_head_weights(cfg, vocab_size, seed + 1))
    for k, v in W.items():
        if "LayerNorm.weight" in k:
            v.fill_(1.0)
        elif k.endswith("bias"):
            v.zero_()
        else:
            v.copy_(torch.randn(v.shape, generator=gen) * 0.02)
    return {k: v.requires_grad_(True) for k, v in W.items()}


def sinusoid_positions(W, scale):
    """Start the learned position embeddings as sinusoids (Vaswani et al.) of
    `scale` times the word embeddings' norm: relative offsets are then linear
    maps of the embeddings, so attention to neighbours can be learned early
    (with small random positions a post-LN BERT sits long at the unigram
    plateau)."""
    P = W["embeddings.position_embeddings.weight"]
    n, d = P.shape
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float64) / d)
    s = torch.zeros(n, d, dtype=torch.float64)
    s[:, 0::2], s[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    target = W["embeddings.word_embeddings.weight"].norm(dim=1).mean() * scale
    with torch.no_grad():
        P.copy_((s / s.norm(dim=1, keepdim=True) * target).float())


def mlm_logits(W, cfg, h):
    """BertOnlyMLMHead on hidden states h [N, D]."""
    t = gb._linear(h, W["cls.predictions.transform.dense.weight"], W["cls.predictions.transform.dense.bias"])
    t = gb._layer_norm(gb._gelu_erf(t), W["cls.predictions.transform.LayerNorm.weight"],
                       W["cls.predictions.transform.LayerNorm.bias"], cfg.eps)
    return t @ W["embeddings.word_embeddings.weight"].t() + W["cls.predictions.bias"]


def encoder(W, cfg, ids):
    ones = torch.ones_like(ids)
    hs, _ = gb.bert_forward({k: v for k, v in W.items() if not k.startswith("cls.")}, cfg,
                            ids, torch.zeros_like(ids), ones)
    return hs[-1]


def mask_batch(x, gen, vocab_size, specials, mask_id, eval_mode=False, rate=MASK_P):
    """(input ids, positions chosen [bool]) with BERT's 80/10/10 ([MASK] only
    when evaluating)."""
    cand = ~torch.isin(x, specials)
    chosen = (torch.rand(x.shape, generator=gen) < rate) & cand
    inp = x.clone()
    if eval_mode:
        inp[chosen] = mask_id
        return inp, chosen
    r = torch.rand(x.shape, generator=gen)
    inp[chosen & (r < 0.8)] = mask_id
    rnd = chosen & (r >= 0.8) & (r < 0.9)
    inp[rnd] = torch.randint(len(specials), vocab_size, (int(rnd.sum()),), generator=gen)
    return inp, chosen


def windows(ids, n, cls_id, sep_id):
    """The stream cut into consecutive [CLS] + n-2 tokens + [SEP] windows."""
    body = n - 2
    return torch.stack([torch.tensor([cls_id] + ids[i:i + body] + [sep_id])
                        for i in range(0, len(ids) - body + 1, body)])


def evaluate(W, cfg, x, gen, vocab_size, specials, mask_id, unigram_logp):
    """Masked-token accuracy, top-5 accuracy and perplexity on held-out windows
    (every chosen token replaced by [MASK]); the unigram baseline on the same
    tokens: the most frequent training token, and its perplexity."""
    inp, chosen = mask_batch(x, gen, vocab_size, specials, mask_id, eval_mode=True)
    correct = top5 = 0
    nll = 0.0
    with torch.no_grad():
        for i in range(0, len(x), 16):
            h = encoder(W, cfg, inp[i:i + 16])
            sel = chosen[i:i + 16]
            logits = mlm_logits(W, cfg, h[sel]).double()
            gold = x[i:i + 16][sel]
            nll -= torch.log_softmax(logits, -1).gather(1, gold[:, None]).sum().item()
            correct += (logits.argmax(-1) == gold).sum().item()
            top5 += (logits.topk(5, -1).indices == gold[:, None]).any(-1).sum().item()
    gold = x[chosen]
    n = len(gold)
    return {"masked_tokens": n, "accuracy": correct / n, "top5_accuracy": top5 / n,
            "perplexity": math.exp(nll / n),
            "unigram_accuracy": (gold == unigram_logp.argmax()).double().mean().item(),
            "unigram_perplexity": math.exp(-unigram_logp[gold].sum().item() / n)}


REFERENCE_SENTENCES = [
    "And the lion and the bear came out of the wood.",
    "Thou shalt not bear false witness against thy neighbour.",
]


def add_reference_outputs(d):
    """Record in d/eval.json what the shipped files compute: the training
    forward (gen_bert's from-scratch BertModel, float64) on the weights as
    written (F16 read back), every layer of each token of two sentences
    ([CLS] ... [SEP]), for the library's tests to compare with."""
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    cfg = gb.Cfg(layers=c["num_hidden_layers"], hidden=c["hidden_size"], heads=c["num_attention_heads"],
                 intermediate=c["intermediate_size"], max_pos=c["max_position_embeddings"],
                 type_vocab=c["type_vocab_size"], eps=c["layer_norm_eps"])
    with open(os.path.join(d, "vocab.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")[:-1]
    tok = gb.FullTokenizer(vocab, True)
    _, saved, _ = gb.st_read(os.path.join(d, "model.safetensors"))
    W = {k[len("bert."):]: torch.from_numpy(gb.st_to_float(v)) for k, v in saved.items()
         if k.startswith("bert.")}
    out = []
    for text in REFERENCE_SENTENCES:
        ids = torch.tensor([[vocab.index("[CLS]")] + tok.ids(tok.tokenize(text)) + [vocab.index("[SEP]")]])
        hs, _ = gb.bert_forward(W, cfg, ids, torch.zeros_like(ids), torch.ones_like(ids), torch.float64)
        layers = hs[:, 0]
        out.append({"text": text, "ids": ids[0].tolist(), "shape": list(layers.shape),
                    "layers": [float(f"{x:.7g}") for x in layers.flatten().tolist()]})
    with open(os.path.join(d, "eval.json"), encoding="utf-8") as f:
        ev = json.load(f)
    ev["reference_outputs"] = out
    common.write_json(os.path.join(d, "eval.json"), ev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--positions", type=int, default=128)
    ap.add_argument("--steps", type=int, help="total steps (or use --minutes)")
    ap.add_argument("--decay-from", type=int, help="step where the lr decay starts (default 80 %%)")
    ap.add_argument("--minutes", type=float, help="time budget instead of --steps")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--mask-rate", type=float, default=MASK_P,
                    help="share of the tokens to predict in training (evaluation always masks 15 %%)")
    ap.add_argument("--init-from", help="start from the weights of an earlier run's output directory "
                    "(same vocabulary and shapes), e.g. to continue training in a second stage")
    ap.add_argument("--lengths", default="128", help="window lengths in tokens, one drawn at random "
                    "per step (each at most --positions)")
    ap.add_argument("--first-length", type=int, help="window length of the first --first-steps steps")
    ap.add_argument("--first-steps", type=int, default=0)
    ap.add_argument("--batch-tokens", type=int, default=4096, help="tokens per step: a step of length "
                    "L has batch-tokens / L windows")
    ap.add_argument("--pos-init", type=float, default=0.0,
                    help="start the position embeddings as sinusoids of this many times the word "
                    "embeddings' norm (0: random, as BERT)")
    ap.add_argument("--time-only", type=int, default=0, help="time this many steps, write nothing")
    ap.add_argument("--reference-only", action="store_true",
                    help="only (re)compute eval.json's reference_outputs for the model in --out")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    a = ap.parse_args()
    common.setup(a.seed, a.threads)
    if a.reference_only:
        add_reference_outputs(a.out)
        return
    clock = common.Clock()

    train, held = corpus.load(a.work)
    vocab = wordpiece_learn.learn(train, a.vocab)
    tok = gb.FullTokenizer(vocab, True)
    ids = encode_stream(tok, train)
    V = len(vocab)
    cls_id, sep_id, mask_id = vocab.index("[CLS]"), vocab.index("[SEP]"), vocab.index("[MASK]")
    specials = torch.tensor([vocab.index(t) for t in wordpiece_learn.SPECIALS])
    print(f"tokenizer: {V} ids; train {len(ids)} tokens ({clock.minutes():.1f} min)", flush=True)

    cfg = gb.Cfg(layers=a.layers, hidden=a.hidden, heads=a.heads, intermediate=a.intermediate,
                 max_pos=a.positions, type_vocab=2, eps=1e-12)
    lengths = [int(n) for n in a.lengths.split(",")]
    assert all(4 <= n <= a.positions for n in lengths), "--lengths: each between 4 and --positions"
    W = init_weights(cfg, V, a.seed)
    if a.pos_init:
        sinusoid_positions(W, a.pos_init)
    if a.init_from:
        with open(os.path.join(a.init_from, "vocab.txt"), encoding="utf-8") as f:
            assert f.read().split("\n")[:-1] == vocab, "--init-from: another vocabulary"
        _, saved, _ = gb.st_read(os.path.join(a.init_from, "model.safetensors"))
        with torch.no_grad():
            for k, v in W.items():
                v.copy_(torch.from_numpy(gb.st_to_float(saved[k if k.startswith("cls.") else "bert." + k])))
    n_encoder = sum(v.numel() for k, v in W.items() if not k.startswith("cls."))
    n_head = sum(v.numel() for k, v in W.items() if k.startswith("cls."))
    decay = [v for v in W.values() if v.dim() == 2]
    no_decay = [v for v in W.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(a.seed + 1)
    sched = common.Schedule(a.lr, a.warmup, a.time_only or a.steps, a.decay_from, a.minutes)
    t_train, losses, step = common.Clock(), [], 0
    while not sched.done(step):
        lr = sched.lr(step)
        n = lengths[torch.randint(0, len(lengths), (1,), generator=gen).item()]
        if step < a.first_steps:
            n = a.first_length
        body = n - 2
        start = torch.randint(0, len(ids) - body, (a.batch_tokens // n,), generator=gen).tolist()
        x = torch.tensor([[cls_id] + ids[s:s + body] + [sep_id] for s in start])
        inp, chosen = mask_batch(x, gen, V, specials, mask_id, rate=a.mask_rate)
        h = encoder(W, cfg, inp)
        loss = torch.nn.functional.cross_entropy(mlm_logits(W, cfg, h[chosen]), x[chosen])
        common.train_step(opt, list(W.values()), loss, lr, losses, step, t_train)
        step += 1
    train_minutes = t_train.minutes()
    if a.time_only:
        print(f"{a.time_only} steps: {train_minutes * 60 / a.time_only:.3f} s/step, "
              f"params {n_encoder} + head {n_head}")
        return

    W16 = gb.round_to({k: v.detach() for k, v in W.items()}, "F16")
    counts = torch.bincount(torch.tensor(ids), minlength=V).double() + 1.0
    counts[specials] = 0.0
    unigram_logp = torch.log(counts / counts.sum())
    held_x = windows(encode_stream(tok, held), a.positions, cls_id, sep_id)
    ev = evaluate(W16, cfg, held_x, torch.Generator().manual_seed(99), V, specials, mask_id, unigram_logp)
    final_loss = sum(losses[-100:]) / len(losses[-100:])
    print(f"held-out {ev}; final train loss {final_loss:.4f}", flush=True)

    d = a.out
    common.clean_dir(d)
    tensors = {}
    for k, v in W.items():
        tensors[k if k.startswith("cls.") else "bert." + k] = gb.st_from_torch(v.detach(), "F16")
    gb.st_write(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    gb.write_json(os.path.join(d, "config.json"), gb.hf_config(cfg, V, "BertForMaskedLM", "float16"))
    gb.write_tokenizer_files(d, vocab, True, cfg.max_pos)
    common.write_json(os.path.join(d, "tokenizer.json"), tokenizer_json(vocab))
    common.write_json(os.path.join(d, "eval.json"), dict(ev, **{
        "heldout": "held-out split of tools/train/corpus.py, cut into 128-token windows; "
                   "15% of the non-special tokens (seed 99) replaced by [MASK]",
        "params_encoder": n_encoder, "params_mlm_head": n_head, "train_tokens": len(ids),
        "init_from": a.init_from, "mask_rate": a.mask_rate, "lengths": lengths, "first_length": a.first_length, "first_steps": a.first_steps,
        "pos_init": a.pos_init,
        "steps": sched.steps, "decay_from": sched.decay_from, "warmup": a.warmup, "batch_tokens": a.batch_tokens, "lr": a.lr, "seed": a.seed,
        "final_train_loss_mean_last_100": final_loss,
        "train_minutes": train_minutes, "total_minutes": clock.minutes()}))
    add_reference_outputs(d)
    print(f"wrote {d} ({clock.minutes():.1f} min)")


def tokenizer_json(vocab):
    """tokenizer.json as Hugging Face tokenizers writes BertTokenizerFast's."""
    def added(t):
        return {"id": vocab.index(t), "content": t, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True}

    def special(t, type_id):
        return {"SpecialToken": {"id": t, "type_id": type_id}}

    def seq(name, type_id):
        return {"Sequence": {"id": name, "type_id": type_id}}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(t) for t in wordpiece_learn.SPECIALS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)],
            "pair": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)],
            "special_tokens": {t: {"id": t, "ids": [vocab.index(t)], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(vocab)}},
    }


if __name__ == "__main__":
    main()
