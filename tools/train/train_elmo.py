#!/usr/bin/python3
"""Train models/elmo-mini-en: a small ELMo biLM (char CNN, highway, 2-layer
biLSTM with projection and skip connections) as forward + backward LM on the KJV.

    /usr/bin/python3 tools/train/corpus.py --out build-train/work
    nice -n 15 /usr/bin/python3 tools/train/train_elmo.py --work build-train/work --out models/elmo-mini-en \
        --steps 1567 --decay-from 1254 --threads 1

(the committed run: --minutes 38 --threads 1, next to the BERT run on the other core; the step
numbers above are the ones it recorded in eval.json).

Words: each verse split into words and punctuation marks (the library's ELMo
input is white-space separated words, so a user passes "the bear came ."),
framed by <S> and </S>, each word spelled as bilm-tf's 50 character ids.
Each direction predicts the next (previous) word with a softmax, shared by
both directions, over the most frequent training words (+ <UNK>); the softmax
is not shipped (bilm-tf's weight files leave it out too).

The LSTMs are torch.nn.LSTM with proj_size, i.e. TF's LSTMCell with a
projection and no clipping, so options.json has cell_clip and proj_clip null.
Conversion to bilm-tf tensor names: gates (i, f, g, o) -> (i, j, f, o), the
input and recurrent matrices stacked as W_0 [input; h], the forget bias less
TF's built-in +1.0.  After training, the saved F16 tensors run through
test/gen/gen_elmo.py's independent numpy implementation and must reproduce
the torch model.
"""

import argparse
import json
import math
import os
import re
from collections import Counter

import numpy as np
import torch
from torch import nn

import common
import corpus
import gen_bert as st
import gen_elmo

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[^\sA-Za-z]")
MAX_CHARS = 50


def words_of(line):
    return WORD.findall(line)


class BiLM(nn.Module):
    def __init__(self, o, n_words):
        super().__init__()
        cnn, lstm = o["char_cnn"], o["lstm"]
        edim, P, H = cnn["embedding"]["dim"], lstm["projection_dim"], lstm["dim"]
        n_filters = sum(n for _, n in cnn["filters"])
        self.char = nn.Embedding(cnn["n_characters"], edim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(edim, n, w) for w, n in cnn["filters"])
        self.carry = nn.ModuleList(nn.Linear(n_filters, n_filters) for _ in range(cnn["n_highway"]))
        self.transform = nn.ModuleList(nn.Linear(n_filters, n_filters) for _ in range(cnn["n_highway"]))
        for c in self.carry:
            nn.init.constant_(c.bias, -2.0)          # bilm-tf: start by carrying the input
        self.proj = nn.Linear(n_filters, P)
        self.rnn = nn.ModuleList(nn.ModuleList(nn.LSTM(P, H, proj_size=P, batch_first=True)
                                               for _ in range(lstm["n_layers"])) for _ in range(2))
        self.skip = lstm["use_skip_connections"]
        self.softmax = nn.Linear(P, n_words)

    def token_embedding(self, chars):
        B, T, C = chars.shape
        x = self.char(chars.view(B * T, C)).transpose(1, 2)            # [BT, edim, C]
        h = torch.cat([torch.relu(conv(x).max(dim=2).values) for conv in self.convs], dim=1)
        for carry, transform in zip(self.carry, self.transform):
            g = torch.sigmoid(carry(h))
            h = g * torch.relu(transform(h)) + (1.0 - g) * h
        return self.proj(h).view(B, T, -1)

    def directions(self, chars, lengths):
        """Layers [L + 1] of [B, T, 2P] and the top forward / backward outputs."""
        e = self.token_embedding(chars)
        B, T, _ = e.shape
        t = torch.arange(T)[None].expand(B, T)
        rev = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)   # reverse each row
        layers, tops = [torch.cat([e, e], -1)], []
        outs = [[], []]
        for d in range(2):
            x = e if d == 0 else e.gather(1, rev[..., None].expand_as(e))
            for l, lstm in enumerate(self.rnn[d]):
                packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                y, _ = lstm(packed)
                y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=T)
                if self.skip and l > 0:
                    y = y + x
                x = y
                outs[d].append(y if d == 0 else y.gather(1, rev[..., None].expand_as(y)))
            tops.append(outs[d][-1])
        for l in range(len(self.rnn[0])):
            layers.append(torch.cat([outs[0][l], outs[1][l]], -1))
        return layers, tops

    def loss(self, chars, lengths, targets):
        """Mean next-word (forward) and previous-word (backward) cross-entropy."""
        _, (fw, bw) = self.directions(chars, lengths)
        T = chars.shape[1]
        valid = torch.arange(T)[None] < lengths[:, None]
        fw_mask = valid.clone()
        fw_mask[torch.arange(len(lengths)), lengths - 1] = False           # </S> predicts nothing
        bw_mask = valid.clone()
        bw_mask[:, 0] = False                                               # <S> predicts nothing
        fw_gold = targets[:, 1:][fw_mask[:, :-1]]
        bw_gold = targets[:, :-1][bw_mask[:, 1:]]
        lf = nn.functional.cross_entropy(self.softmax(fw[fw_mask]), fw_gold, reduction="sum")
        lb = nn.functional.cross_entropy(self.softmax(bw[bw_mask]), bw_gold, reduction="sum")
        return lf, lb, len(fw_gold)


def make_batch(sents, word_ids):
    """chars [B, T, 50], lengths, target word ids for sentences (lists of words)."""
    rows = [["<S>"] + s + ["</S>"] for s in sents]
    T = max(len(r) for r in rows)
    chars = np.zeros((len(rows), T, MAX_CHARS), dtype=np.int64)
    targets = np.zeros((len(rows), T), dtype=np.int64)
    for b, r in enumerate(rows):
        chars[b, :len(r)] = [gen_elmo.word_char_ids(w, MAX_CHARS) for w in r]
        targets[b, :len(r)] = [word_ids.get(w, word_ids["<UNK>"]) for w in r]
    return torch.from_numpy(chars), torch.tensor([len(r) for r in rows]), torch.from_numpy(targets)


def to_bilm_tf(model, o):
    """The trained weights under bilm-tf's names and layouts (float32 tensors)."""
    w = {"char_embed": model.char.weight[1:]}
    for i, conv in enumerate(model.convs):
        w[f"CNN/W_cnn_{i}"] = conv.weight.permute(2, 1, 0)[None]           # (1, width, edim, n)
        w[f"CNN/b_cnn_{i}"] = conv.bias
    for h, (c, t) in enumerate(zip(model.carry, model.transform)):
        w[f"CNN_high_{h}/W_carry"], w[f"CNN_high_{h}/b_carry"] = c.weight.t(), c.bias
        w[f"CNN_high_{h}/W_transform"], w[f"CNN_high_{h}/b_transform"] = t.weight.t(), t.bias
    w["CNN_proj/W_proj"], w["CNN_proj/b_proj"] = model.proj.weight.t(), model.proj.bias
    for d in range(2):
        for l, lstm in enumerate(model.rnn[d]):
            p = f"RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/"

            def ijfo(m):
                i, f, g, o_ = m.chunk(4, 0)
                return torch.cat([i, g, f, o_], 0)
            W0 = torch.cat([lstm.weight_ih_l0, lstm.weight_hh_l0], 1)       # [4H, in + P]
            b = ijfo(lstm.bias_ih_l0 + lstm.bias_hh_l0)
            H = o["lstm"]["dim"]
            b = torch.cat([b[:2 * H], b[2 * H:3 * H] - 1.0, b[3 * H:]])
            w[p + "W_0"] = ijfo(W0).t()
            w[p + "B"] = b
            w[p + "W_P_0"] = lstm.weight_hr_l0.t()
    return {k: v.detach().contiguous().float() for k, v in w.items()}


def evaluate(model, sents, word_ids, unigram_logp):
    lf = lb = n = 0.0
    uni = 0.0
    with torch.no_grad():
        for i in range(0, len(sents), 64):
            chars, lengths, targets = make_batch(sents[i:i + 64], word_ids)
            a, b, k = model.loss(chars, lengths, targets)
            lf, lb, n = lf + a.item(), lb + b.item(), n + k
            for L, row in zip(lengths.tolist(), targets):
                uni -= unigram_logp[row[1:L]].sum().item()
    return {"forward_perplexity": math.exp(lf / n), "backward_perplexity": math.exp(lb / n),
            "unigram_perplexity": math.exp(uni / n), "predicted_words": int(n)}


def check_against_numpy(model, o, w16, sents):
    """The saved (F16) tensors through gen_elmo's numpy biLM == the torch model
    with the same F16-rounded weights, on a few held-out sentences."""
    ref = gen_elmo.Model(o, {k: v.numpy() for k, v in w16.items()})
    worst = 0.0
    with torch.no_grad():
        for s in sents:
            chars, lengths, _ = make_batch([s], {"<UNK>": 0})
            layers, _ = model.directions(chars, lengths)
            got = torch.stack(layers)[:, 0].double().numpy()
            want, _ = ref.run(s)
            worst = max(worst, float(np.abs(got - want).max()))
    return worst


REFERENCE_SENTENCES = [
    "And the lion and the bear came out of the wood .",
    "Thou shalt not bear false witness against thy neighbour .",
]


def add_reference_outputs(d):
    """Record in d/eval.json what the shipped files compute, by gen_elmo's
    independent numpy biLM on the weights as written (F16 read back): every
    layer of each word (sentence boundaries left out, zero start state), for
    the library's tests to compare with."""
    with open(os.path.join(d, "options.json"), encoding="utf-8") as f:
        o = json.load(f)
    _, saved, _ = st.st_read(os.path.join(d, "model.safetensors"))
    ref = gen_elmo.Model(o, {k: st.st_to_float(v) for k, v in saved.items()})
    out = []
    for text in REFERENCE_SENTENCES:
        layers, _ = ref.run(text.split())
        out.append({"text": text, "shape": list(layers[:, 1:-1].shape),
                    "layers": [float(f"{x:.7g}") for x in layers[:, 1:-1].ravel()]})
    with open(os.path.join(d, "eval.json"), encoding="utf-8") as f:
        ev = json.load(f)
    ev["reference_outputs"] = out
    common.write_json(os.path.join(d, "eval.json"), ev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--words", type=int, default=4096, help="softmax vocabulary")
    ap.add_argument("--char-dim", type=int, default=16)
    ap.add_argument("--filters", default="1:32,2:32,3:64,4:128,5:256")
    ap.add_argument("--highway", type=int, default=1)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--proj", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--decay-from", type=int)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=2024)
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
    train_s, held_s = [words_of(x) for x in train], [words_of(x) for x in held]
    counts = Counter(w for s in train_s for w in s)
    vocab = ["<S>", "</S>", "<UNK>"] + [w for w, _ in counts.most_common(a.words - 3)]
    word_ids = {w: i for i, w in enumerate(vocab)}
    filters = [[int(x) for x in f.split(":")] for f in a.filters.split(",")]
    o = {"lstm": {"cell_clip": None, "use_skip_connections": True, "n_layers": 2, "proj_clip": None,
                  "projection_dim": a.proj, "dim": a.dim},
         "char_cnn": {"embedding": {"dim": a.char_dim}, "filters": filters, "n_highway": a.highway,
                      "n_characters": 262, "max_characters_per_token": MAX_CHARS, "activation": "relu"}}
    model = BiLM(o, len(vocab))
    n_params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("softmax"))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed + 1)
    sched = common.Schedule(a.lr, a.warmup, a.steps, a.decay_from, a.minutes)
    t_train, losses, step = common.Clock(), [], 0
    print(f"{len(train_s)} train sentences, {n_params} params (+ softmax)", flush=True)
    while not sched.done(step):
        lr = sched.lr(step)
        pick = torch.randint(0, len(train_s), (a.batch,), generator=gen).tolist()
        chars, lengths, targets = make_batch([train_s[i] for i in pick], word_ids)
        lf, lb, n = model.loss(chars, lengths, targets)
        loss = (lf + lb) / (2 * n)
        common.train_step(opt, list(model.parameters()), loss, lr, losses, step, t_train)
        step += 1
    train_minutes = t_train.minutes()

    w32 = to_bilm_tf(model, o)
    w16 = {k: v.half().float() for k, v in w32.items()}
    with torch.no_grad():                       # evaluate what is shipped: the F16-rounded weights
        for p in model.parameters():
            if p is not model.softmax.weight and p is not model.softmax.bias:
                p.copy_(p.half().float())
    model.eval()
    uc = torch.tensor([counts.get(w, 0) for w in vocab], dtype=torch.float64) + 1.0
    uc[word_ids["<UNK>"]] += sum(c for w, c in counts.items() if w not in word_ids)
    uc[word_ids["<S>"]] = uc[word_ids["</S>"]] = len(train_s)
    unigram_logp = torch.log(uc / uc.sum())
    ev = evaluate(model, held_s, word_ids, unigram_logp)
    worst = check_against_numpy(model, o, w16, held_s[:3])
    final_loss = sum(losses[-100:]) / len(losses[-100:])
    print(f"held-out {ev}; numpy reference max abs diff {worst:.2e}; final train loss {final_loss:.4f}",
          flush=True)
    if worst > 1e-3:
        raise SystemExit("the bilm-tf tensors do not reproduce the torch model")

    d = a.out
    common.clean_dir(d)
    with open(os.path.join(d, "options.json"), "w") as f:
        json.dump(o, f, indent=1)
        f.write("\n")
    st.st_write(os.path.join(d, "model.safetensors"),
                {k: st.st_from_torch(v, "F16") for k, v in w32.items()}, {"format": "pt"})
    common.write_json(os.path.join(d, "eval.json"), dict(ev, **{
        "heldout": "held-out split of tools/train/corpus.py, one verse per sentence, <S> ... </S>",
        "softmax_words": len(vocab), "params": n_params, "numpy_reference_max_abs_diff": worst,
        "steps": sched.steps, "decay_from": sched.decay_from, "warmup": a.warmup, "batch": a.batch,
        "lr": a.lr, "seed": a.seed, "final_train_loss_mean_last_100": final_loss,
        "train_minutes": train_minutes, "total_minutes": clock.minutes()}))
    add_reference_outputs(d)
    print(f"wrote {d} ({clock.minutes():.1f} min)")


if __name__ == "__main__":
    main()
