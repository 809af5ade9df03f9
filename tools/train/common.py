"""Shared helpers of the training scripts: paths, seeds, schedule, timing."""

import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "gen"))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True


def setup(seed, threads=2):
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def lr_at(step, steps, peak, warmup):
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * t)))


def train_step(opt, params, loss, lr, losses, step, clock):
    """One optimiser step on `loss` at learning rate lr (gradient norm clipped
    to 1), recorded in losses, with a progress line every 50 steps."""
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    losses.append(loss.item())
    if step % 50 == 0:
        print(f"step {step} lr {lr:.2e} loss {loss.item():.4f} mean50 "
              f"{sum(losses[-50:]) / len(losses[-50:]):.4f} ({clock.minutes():.2f} min)", flush=True)


class Clock:
    def __init__(self):
        self.t0 = time.time()

    def minutes(self):
        return (time.time() - self.t0) / 60.0


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def clean_dir(d):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))


class Schedule:
    """Warm-up, constant, then linear decay to a tenth of the peak ("WSD").

    With a fixed --steps and --decay-from the run is fully reproducible.  With
    a time budget instead (--minutes), the decay starts once 80 % of the budget
    has passed, and takes a quarter as many steps as came before it; both step
    numbers are recorded, so the same run can be repeated with --steps and
    --decay-from."""

    def __init__(self, peak, warmup, steps=None, decay_from=None, minutes=None):
        self.peak, self.warmup = peak, warmup
        self.steps, self.decay_from, self.minutes = steps, decay_from, minutes
        self.clock = Clock()
        if steps is not None and decay_from is None:
            self.decay_from = int(steps * 0.8)

    def lr(self, step):
        if self.decay_from is None and step >= self.warmup and self.clock.minutes() >= 0.8 * self.minutes:
            self.decay_from = step
            self.steps = step + max(1, step // 4)
        if step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        if self.decay_from is None or step < self.decay_from:
            return self.peak
        t = min(1.0, (step - self.decay_from) / max(1, self.steps - self.decay_from))
        return self.peak * (1.0 - 0.9 * t)

    def done(self, step):
        return self.steps is not None and step >= self.steps
