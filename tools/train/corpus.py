#!/usr/bin/python3
"""The training corpus: the King James Bible as Debian's bible-kjv-text ships it.

`bible -f gen1:1-rev22:21` (package bible-kjv, reading /usr/lib/bible.data of
bible-kjv-text) prints one verse per line as "Ge1:1 In the beginning ...".
Every 25th chapter (counting from Genesis 1 = chapter 0) is held out for
evaluation; whole chapters, so that no held-out verse has its neighbours in
the training text.  Within a split, verses are joined with "\n" in Bible order.

    /usr/bin/python3 tools/train/corpus.py --out WORK [--words FILE]
        -> WORK/train.txt, WORK/heldout.txt, and FILE: the lower-cased words of
           the training split, one per line (test/test-models.py's vocabulary)
"""

import argparse
import hashlib
import os
import re
import subprocess

VERSE = re.compile(r"^([0-9]?[A-Za-z]+)([0-9]+):([0-9]+) (.*)$")
HOLDOUT_EVERY = 25


def read_verses():
    out = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True,
                         capture_output=True, text=True).stdout
    verses = []
    for line in out.split("\n"):
        if not line:
            continue
        m = VERSE.match(line)
        if not m:
            raise SystemExit(f"unexpected line from bible: {line!r}")
        verses.append(((m.group(1), int(m.group(2))), m.group(4).strip()))
    if len(verses) != 31102:
        raise SystemExit(f"expected 31102 verses, got {len(verses)}")
    return verses


def split(verses):
    train, held, chapters = [], [], []
    for key, text in verses:
        if not chapters or chapters[-1] != key:
            chapters.append(key)
        (held if (len(chapters) - 1) % HOLDOUT_EVERY == 0 else train).append(text)
    return train, held


def load(work):
    """(train lines, held-out lines) from WORK, written by main()."""
    with open(os.path.join(work, "train.txt"), encoding="utf-8") as f:
        train = f.read().split("\n")
    with open(os.path.join(work, "heldout.txt"), encoding="utf-8") as f:
        held = f.read().split("\n")
    return train, held


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--words")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    train, held = split(read_verses())
    for name, lines in (("train.txt", train), ("heldout.txt", held)):
        data = "\n".join(lines).encode("utf-8")
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(lines)} verses, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    if a.words:
        words = sorted({w.lower() for line in train for w in re.findall(r"[A-Za-z]+", line)})
        with open(a.words, "w", encoding="utf-8") as f:
            f.write("".join(w + "\n" for w in words))
        print(f"{a.words}: {len(words)} words")


if __name__ == "__main__":
    main()
