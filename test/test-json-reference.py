#!/usr/bin/env python3
"""The JSON reader (lib/io/json.c over libyaml) against Python's json module.

    test-json-reference.py JSON_DUMP [DOCS [SEED]]

Random documents of the kinds Hugging Face's files and users' JSON lines hold: nested arrays and
objects; strings of every escape and of raw characters YAML treats apart from JSON (U+2028 / U+2029,
NEL and the C1 controls, DEL, U+FEFF, U+FFFE / U+FFFF, astral characters, with the white space
around them), also written with \\u escapes and surrogate pairs; integers up to and past int64;
floats of every exponent, 'E' or 'e', signed or not; spaces, tabs, CR LF and LF between tokens.
json-dump prints each tree as the reader built it; every document must read as Python reads it.
Keys sometimes run past 1024 characters or put a line break before their colon (where YAML ends an
implicit key). Standard library only."""
import json
import random
import subprocess
import sys

SPECIAL = ["\u2028", "\u2029", "\u0085", "\u0080", "\u009f", "\u00a0", "\ufeff", "\u007f", "\uffff",
           "\ufffe", "\ue000", "\U0001f600", "\U0010ffff", "\t", "\n", "\r", "\x00", "\x01", "\x1f",
           '"', "\\", "/", "#", ":", ",", "{", "}", "[", "]", "&", "*", "!", "|", ">", "%", "@", "`",
           "-", "?", "'", " ", "  ", "\u00e9", "\u4e2d", "\u0301"]
# plain scalars YAML 1.1 would read as something else, were they not quoted
YAMLISH = ["true", "null", "1", "0x1F", "~", "yes", "no", "<<", "- a", "a: b", "---", "...", "1e5",
           ".inf", ".NaN", "=", "!!str"]


def rand_string(rnd):
    out = ""
    for _ in range(rnd.randint(0, 8)):
        r = rnd.random()
        if r < 0.4:
            out += rnd.choice(SPECIAL)
        elif r < 0.7:
            out += chr(rnd.randint(0x20, 0x7E))
        elif r < 0.9:
            out += rnd.choice(YAMLISH)
        else:
            c = rnd.randint(0x80, 0x10FFFF)
            out += chr(c if not 0xD800 <= c < 0xE000 else 0x41)
    return out


def rand_number(rnd):
    r = rnd.random()
    if r < 0.3:
        return rnd.randint(-2**63, 2**63 - 1)
    if r < 0.4:
        return rnd.choice([0, -1, 2**63 - 1, -2**63, 2**63, 2**64, 10**30, -10**20])
    if r < 0.8:
        return rnd.uniform(-1e6, 1e6) * 10.0 ** rnd.randint(-300, 300)
    return rnd.choice([0.0, -0.0, 1e-320, 5e-324, 1.7976931348623157e308, 0.1, 1e22, 1.5])


def rand_value(rnd, depth):
    r = rnd.random()
    if depth > 4 or r < 0.5:
        return rnd.choice([None, True, False, rand_number(rnd), rand_number(rnd), rand_string(rnd),
                           rand_string(rnd), rand_string(rnd)])
    if r < 0.75:
        return [rand_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]
    return {rand_key(rnd): rand_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}


def rand_key(rnd):
    if rnd.random() < 0.03:  # past YAML's 1024 characters for an implicit key
        return rnd.choice(["k", "\u00e9", "\u2028", " "]) * rnd.randint(1000, 1100) + rand_string(rnd)
    return rand_string(rnd)


def space(rnd):
    return rnd.choice(["", " ", "\t", " \t", "\n ", "\n\t", "\r\n ", "\r\n"])


def emit(rnd, v):
    """v as JSON text, white space between tokens, non-ASCII raw or escaped at random."""
    if isinstance(v, list):
        items = ("," + space(rnd)).join(emit(rnd, x) for x in v)
        return "[" + space(rnd) + items + space(rnd) + "]"
    if isinstance(v, dict):
        members = ("," + space(rnd)).join(
            emit(rnd, k) + space(rnd) + ":" + space(rnd) + emit(rnd, x)
            for k, x in v.items())
        return "{" + space(rnd) + members + space(rnd) + "}"
    if isinstance(v, float) and "e" in repr(v) and rnd.random() < 0.5:
        mant, exp = repr(v).split("e")
        sign = "-" if exp.startswith("-") else rnd.choice(["", "+"])
        return mant + rnd.choice(["e", "E"]) + sign + exp.lstrip("+-")
    return json.dumps(v, ensure_ascii=rnd.random() < 0.5)


def quoted(s):
    return '"' + "".join(chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else "\\x%02x" % c
                         for c in s.encode("utf-8")) + '"'


def canonical(v):
    if v is None or isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, int):
        return "i%d" % v if -2**63 <= v < 2**63 else "f%.17g" % float(v)
    if isinstance(v, float):
        return "f%.17g" % v
    if isinstance(v, str):
        return quoted(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    return "{" + ",".join(quoted(k) + ":" + canonical(x) for k, x in v.items()) + "}"


def main():
    dump = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261205)
    docs = []
    for _ in range(n):
        v = rand_value(rnd, 0) if rnd.random() < 0.3 else \
            rnd.choice([[rand_value(rnd, 1)], {rand_key(rnd): rand_value(rnd, 1)}])
        docs.append(space(rnd) + emit(rnd, v) + space(rnd))
    want = [canonical(json.loads(d)) for d in docs]
    data = b"\0".join(d.encode("utf-8") for d in docs)
    got = subprocess.run([dump], input=data, capture_output=True, check=True).stdout
    got = got.decode("ascii", "backslashreplace").split("\n")[:-1]
    assert len(got) == n, (len(got), n)
    bad = [i for i in range(n) if got[i] != want[i]]
    for i in bad[:5]:
        print("document %d: %r\n  python: %s\n  reader: %s" % (i, docs[i][:300], want[i][:300],
                                                              got[i][:300]))
    print("%d of %d documents read as Python reads them" % (n - len(bad), n))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
