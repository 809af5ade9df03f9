#!/usr/bin/env python3
"""End-to-end tests of the contextembed program on GPT-2 (Python 3 standard library only).

Usage: test-cli-gpt2.py CONTEXTEMBED_EXE [FIXTURES_DIR]

The decoder commands (logits, score, generate, bench --decode/--gpt2) and the
shared ones (info, tokenize, embed) on
- ../shared/refdata/models/tiny-random-gpt2 (Hugging Face's checkpoint; its
  golden greedy ids come from Hugging Face itself, its logits from an
  independent numpy forward pass), whole and copied without tokenizer files
  (so that the --ids paths print ids);
- test/fixtures/gpt2-tiny (test/gen/gen_gpt2.py's PyTorch reference).
Cases whose data is absent are skipped; exit code 0 when nothing failed, 1
otherwise, 77 when everything was skipped.
"""
import array
import ast
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

EXE = sys.argv[1] if len(sys.argv) > 1 else "contextembed"
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
    "CE_FIXTURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
REFDATA = os.environ.get("CE_REFDATA", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "refdata"))
TINY = os.path.join(REFDATA, "models", "tiny-random-gpt2")
FIXTURE = os.path.join(FIXTURES, "gpt2-tiny")
BERT = os.path.join(FIXTURES, "bert-tiny-uncased")
PROMPT = "Hello I believe in"
PROMPT_IDS = [40, 416, 79, 266, 993, 478, 711, 221]  # README.md of the refdata
GREEDY_ID, GREEDY_TEXT = 641, " fe"                  # Hugging Face's expectation


class Skip(Exception):
    pass


# ---- running the program ---------------------------------------------------

def cmdline(args):
    return " ".join(map(str, args))[:200]


def run(args, stdin=b"", rc=0, quiet=True):
    """Run the program; check its exit code; return (stdout bytes, stderr text)."""
    p = subprocess.run([EXE] + [str(a) for a in args], input=stdin, capture_output=True,
                       timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != rc:
        raise AssertionError("%s: exit %d, expected %d; stderr: %s"
                             % (cmdline(args), p.returncode, rc, err.strip()[:500]))
    if rc == 0 and quiet and err:
        raise AssertionError("%s: success but stderr: %s" % (cmdline(args), err[:500]))
    return p.stdout, err


def fails(args, rc, want=None, stdin=b""):
    """The program must fail with @rc and a "contextembed: ..." message."""
    _, err = run(args, stdin, rc)
    assert err.startswith("contextembed: "), "message: %r" % err
    assert "Sanitizer" not in err and "runtime error" not in err, err
    if want:
        assert want in err, "%r not in %r" % (want, err)
    return err


def one_json(out):
    def refuse(name):
        raise AssertionError("non-JSON constant %s in output" % name)
    text = out.decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 1, "not one JSON line: %r" % text[:200]
    return json.loads(text, parse_constant=refuse)


def ids_arg(values):
    return ",".join(str(v) for v in values)


# ---- reference data ----------------------------------------------------------

def need(path):
    if not os.path.exists(path):
        raise Skip("%s is absent" % path)
    return path


def load_safetensors(path):
    """{name: (shape, array)} for F32 and I32 tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] not in ("F32", "I32"):
            continue
        b, e = t["data_offsets"]
        a = array.array("f" if t["dtype"] == "F32" else "i")
        a.frombytes(blob[8 + n + b:8 + n + e])
        if sys.byteorder == "big":
            a.byteswap()
        out[name] = (t["shape"], a)
    return out


def parse_npy(blob):
    """(shape, floats) of a version 1.0 .npy holding little-endian float32 in C order."""
    assert blob[:8] == b"\x93NUMPY\x01\x00", blob[:8]
    (hlen,) = struct.unpack("<H", blob[8:10])
    assert (10 + hlen) % 64 == 0, "header not padded to 64 bytes"
    d = ast.literal_eval(blob[10:10 + hlen].decode("latin1").strip())
    assert d == {"descr": "<f4", "fortran_order": False, "shape": d["shape"]}, d
    data = array.array("f")
    data.frombytes(blob[10 + hlen:])
    if sys.byteorder == "big":
        data.byteswap()
    assert len(data) == math.prod(d["shape"]), (len(data), d["shape"])
    return tuple(d["shape"]), data


def rows(flat, width):
    return [list(flat[i:i + width]) for i in range(0, len(flat), width)]


def log_softmax(row):
    m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    return [x - lse for x in row]


def assert_close(got, want, tol, what):
    assert len(got) == len(want), "%s: %d values, expected %d" % (what, len(got), len(want))
    worst = max((abs(g - w) for g, w in zip(got, want)), default=0.0)
    assert worst <= tol, "%s differ by %g (tolerance %g)" % (what, worst, tol)


_notok = []


def notok():
    """tiny-random-gpt2 without its tokenizer files (config.json + weights only)."""
    if not _notok:
        need(TINY)
        d = tempfile.mkdtemp(prefix="ce-gpt2-notok-")
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(TINY, f), d)
        _notok.append(d)
    return _notok[0]


def tiny():
    """tiny-random-gpt2 with its tokenizer (byte-level BPE)."""
    return need(TINY)


def tiny_logits():
    t = load_safetensors(need(os.path.join(
        TINY, "derived_numpy_forward_hello_i_believe_in.safetensors")))
    shape, a = t["logits"]
    assert list(t["input_ids"][1]) == PROMPT_IDS
    return rows(a, shape[1])


# ---- cases -------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def help_and_usage_errors():
    for cmd in ("logits", "score", "generate"):
        out, _ = run([cmd, "--help"])
        assert out.startswith(b"Usage: contextembed " + cmd.encode()), out[:80]
        fails([cmd, "--ids", "1"], 2, "missing -m")
        fails([cmd, "-m", "x"], 2, "missing TEXT")
        fails([cmd, "-m", "x", "--ids", "1", "text"], 2, "not both")
        fails([cmd, "-m", "x", "--bogus", "t"], 2, "unknown option '--bogus'")
        fails([cmd, "-m", "x", "--ids", "1,a"], 2, "--ids")
        fails([cmd, "-m", "x", "--ids", ""], 2, "--ids")
        fails([cmd, "-m", "x", "a", "b"], 2, "one TEXT")
    out, _ = run(["--help"])
    assert b"generate" in out and b"logits" in out and b"score" in out
    out, _ = run(["bench", "--gpt2", "--help"])
    assert b"--decode" in out
    for bad, want in ((["--temperature", "-1"], "--temperature"),
                      (["--temperature", "x"], "--temperature"),
                      (["--top-p", "0"], "--top-p"), (["--top-p", "1.5"], "--top-p"),
                      (["--top-k", "-2"], "--top-k"), (["-n", "-1"], "-n"),
                      (["--seed", "-4"], "--seed"), (["--stop", ""], "--stop")):
        fails(["generate", "-m", "x", "--ids", "1"] + bad, 2, want)
    fails(["logits", "-m", "x", "--top", "0", "t"], 2, "--top")
    fails(["logits", "-m", "x", "--format", "csv", "t"], 2, "--format")
    fails(["bench", "--gpt2", "-m", "x"], 2, "--gpt2")
    fails(["bench", "--decode"], 2, "-m MODEL")
    fails(["bench", "--gpt2", "--runs", "0"], 2, "--runs")
    fails(["logits", "-m", "/nonexistent/model", "--ids", "1"], 1, "/nonexistent/model")


@test
def generate_greedy_ids_matches_hugging_face():
    out, _ = run(["generate", "-m", notok(), "--temperature", "0", "-n", "12", "--ids",
                  ids_arg(PROMPT_IDS)])
    assert out == (" ".join([str(GREEDY_ID)] * 12) + "\n").encode(), out
    # top-k 1 is greedy whatever the temperature and seed
    out2, _ = run(["generate", "-m", notok(), "--top-k", "1", "--seed", "9", "-n", "12",
                   "--ids", ids_arg(PROMPT_IDS)])
    assert out2 == out, out2
    out, _ = run(["generate", "-m", notok(), "-n", "0", "--ids", "1"])
    assert out == b"\n", out


@test
def generate_seed_reproducibility():
    base = ["generate", "-m", notok(), "-n", "16", "--ids", ids_arg(PROMPT_IDS)]
    outs = {}
    for seed in (1, 2, 3):
        a, _ = run(base + ["--seed", seed])
        b, _ = run(base + ["--seed", seed])
        assert a == b, (seed, a, b)
        ids = [int(x) for x in a.split()]
        assert len(ids) == 16 and all(0 <= i < 1000 for i in ids), a
        outs[seed] = a
    # A random-weight model is close to uniform over 1000 ids: seeds must differ.
    assert len(set(outs.values())) == 3, outs
    a, _ = run(base + ["--seed", 1, "--top-k", "3", "--top-p", "0.5", "--temperature", "0.7"])
    b, _ = run(base + ["--seed", 1, "--top-k", "3", "--top-p", "0.5", "--temperature", "0.7"])
    assert a == b


@test
def generate_context_overflow_and_bad_prompts():
    d = notok()
    prompt = [PROMPT_IDS[i % 8] for i in range(510)]
    out, err = run(["generate", "-m", d, "--temperature", "0", "-n", "10",
                    "--ids", ids_arg(prompt)], quiet=False)
    assert len(out.split()) == 3 and out.endswith(b"\n"), out  # 510 + 2 appended, the 3rd printed
    assert "context is full" in err and "512" in err, err
    fails(["generate", "-m", d, "--ids", ids_arg(prompt + [1, 2, 3])], 1, "512")
    fails(["generate", "-m", d, "--ids", "40,1000"], 1, "vocabulary")
    fails(["generate", "-m", d, "--ids", "-1"], 1, "vocabulary")
    fails(["generate", "-m", d, "hello"], 1, "--ids")        # no tokenizer: text is refused
    fails(["generate", "-m", d, "--stop", "x", "--ids", "1"], 2, "tokenizer")
    fails(["logits", "-m", d, "--ids", "5,99999"], 1, "vocabulary")
    fails(["score", "-m", d, "--ids", "5,1000"], 1, "vocabulary")
    fails(["score", "-m", d, "--ids", "5"], 2, "one token")
    fails(["logits", "-m", d, "--ids", ids_arg([1] * 513)], 1, "512")
    if os.path.exists(BERT):
        fails(["logits", "-m", BERT, "--ids", "1,2"], 1, "not decoders")


def check_top(arr, k, full_row=None):
    """A top-k list: well-formed, sorted, logprob <= 0, consistent with the full row."""
    assert isinstance(arr, list) and len(arr) == k, arr
    for i, o in enumerate(arr):
        assert set(o) == {"id", "token", "logit", "logprob"}, o
        assert isinstance(o["id"], int) and o["logprob"] <= 0, o
        assert abs((o["logit"] - arr[0]["logit"]) - (o["logprob"] - arr[0]["logprob"])) < 1e-5
        if i:
            prev = arr[i - 1]
            assert (prev["logit"], -prev["id"]) > (o["logit"], -o["id"]), (prev, o)
    if full_row is not None:
        ls = log_softmax(full_row)
        order = sorted(range(len(full_row)), key=lambda i: (-full_row[i], i))[:k]
        assert [o["id"] for o in arr] == order, ([o["id"] for o in arr], order)
        assert_close([o["logprob"] for o in arr], [ls[i] for i in order], 1e-4, "logprobs")


@test
def logits_match_reference():
    ref = tiny_logits()
    d, ids = notok(), ids_arg(PROMPT_IDS)
    out, _ = run(["logits", "-m", d, "--top", "3", "--ids", ids])
    top = one_json(out)
    check_top(top, 3, ref[-1])
    assert top[0]["id"] == GREEDY_ID and all(o["token"] is None for o in top), top
    out, _ = run(["logits", "-m", d, "--ids", ids])
    check_top(one_json(out), 10, ref[-1])
    out, _ = run(["logits", "-m", d, "--top", "2", "--all-positions", "--ids", ids])
    allpos = one_json(out)
    assert len(allpos) == 8, len(allpos)
    for t, arr in enumerate(allpos):
        check_top(arr, 2, ref[t])
    out, _ = run(["logits", "-m", d, "--top", "5000", "--ids", "40"])   # capped at the vocabulary
    assert len(one_json(out)) == 1000
    out, _ = run(["logits", "-m", d, "--format", "npy", "--ids", ids])
    shape, data = parse_npy(out)
    assert shape == (1000,), shape
    assert_close(data, ref[-1], 1e-4, "logits [V]")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "l.npy")
        out, _ = run(["logits", "-m", d, "--all-positions", "--format", "npy", "-o", path,
                      "--ids", ids])
        assert out == b""
        with open(path, "rb") as f:
            shape, data = parse_npy(f.read())
        assert shape == (8, 1000), shape
        assert_close(data, [v for r in ref for v in r], 1e-4, "logits [T, V]")
        js = os.path.join(tmp, "top.json")
        run(["logits", "-m", d, "--top", "3", "-o", js, "--ids", ids])
        with open(js, "rb") as f:
            check_top(one_json(f.read()), 3, ref[-1])


@test
def score_matches_reference():
    ref = tiny_logits()
    out, _ = run(["score", "-m", notok(), "--ids", ids_arg(PROMPT_IDS)])
    o = one_json(out)
    assert set(o) == {"ids", "tokens", "logprobs", "perplexity"}, o
    assert o["ids"] == PROMPT_IDS and o["tokens"] == [None] * 8, o
    lp = o["logprobs"]
    assert len(lp) == 7 and all(v <= 0 for v in lp), lp
    want = [log_softmax(ref[t])[PROMPT_IDS[t + 1]] for t in range(7)]
    assert_close(lp, want, 1e-4, "score logprobs")
    ppl = math.exp(-sum(lp) / len(lp))
    assert abs(o["perplexity"] - ppl) <= 1e-6 * ppl, (o["perplexity"], ppl)
    # Random weights: about as perplexed as a uniform guess over 1000 ids.
    assert 300 < o["perplexity"] < 3000, o["perplexity"]


@test
def info_and_embed_on_gpt2():
    d = notok()
    with open(os.path.join(TINY, "config.json")) as f:
        cfg = json.load(f)
    out, _ = run(["info", "-m", d])
    o = one_json(out)
    want = {"architecture": "gpt2", "num_layers": cfg["n_layer"], "hidden_size": cfg["n_embd"],
            "num_heads": cfg["n_head"], "vocab_size": cfg["vocab_size"],
            "max_positions": cfg["n_positions"], "num_output_layers": cfg["n_layer"] + 1,
            "tokenizer": None}
    for k, v in want.items():
        assert o.get(k) == v, "%s: %r, expected %r" % (k, o.get(k), v)
    t = load_safetensors(os.path.join(TINY, "derived_numpy_forward_hello_i_believe_in.safetensors"))
    shape, h = t["last_hidden_state_after_ln_f"]
    out, _ = run(["embed", "-m", d, "--ids", ids_arg(PROMPT_IDS)])
    e = one_json(out)
    assert e["shape"] == [1, 8, shape[1]] and e["ids"] == PROMPT_IDS, e["shape"]
    assert_close(e["data"], h, 1e-4, "embed last layer vs ln_f output")
    out, _ = run(["embed", "-m", d, "--layers", "all", "--pool", "mean",
                  "--ids", ids_arg(PROMPT_IDS)])
    assert one_json(out)["shape"] == [cfg["n_layer"] + 1, shape[1]]


def text_model():
    return tiny()


@test
def text_paths_on_tiny_random_gpt2():
    d = text_model()
    out, _ = run(["info", "-m", d])
    assert one_json(out)["tokenizer"] == "bpe", out
    out, _ = run(["tokenize", "-m", d, PROMPT])
    tok = one_json(out)
    assert tok["ids"] == PROMPT_IDS, tok
    out, _ = run(["tokenize", "-m", d, "--add-special", PROMPT])
    assert one_json(out)["ids"] == PROMPT_IDS, out    # GPT-2 adds no special tokens
    out, _ = run(["generate", "-m", d, "--temperature", "0", "-n", "12", PROMPT])
    assert out == (GREEDY_TEXT * 12 + "\n").encode(), out
    out2, _ = run(["generate", "-m", d, "--temperature", "0", "-n", "12", "-"], PROMPT.encode())
    assert out2 == out, out2
    out, _ = run(["logits", "-m", d, "--top", "3", PROMPT])
    top = one_json(out)
    check_top(top, 3, tiny_logits()[-1])
    assert top[0]["id"] == GREEDY_ID and top[0]["token"] == GREEDY_TEXT, top
    out, _ = run(["score", "-m", d, PROMPT])
    o = one_json(out)
    assert o["ids"] == PROMPT_IDS and "".join(o["tokens"]) == PROMPT, o
    e_text = one_json(run(["embed", "-m", d, PROMPT])[0])
    e_ids = one_json(run(["embed", "-m", d, "--ids", ids_arg(PROMPT_IDS)])[0])
    assert e_text["data"] == e_ids["data"] and len(e_text["offsets"]) == 8
    assert e_text["offsets"][3] == [5, 7], e_text["offsets"]         # "H ell o| I|"
    assert e_text["offsets"][-1][1] == len(PROMPT), e_text["offsets"]
    fails(["generate", "-m", d, ""], 2, "--ids")
    fails(["score", "-m", d, ""], 2, "--ids")


@test
def stop_strings():
    d = text_model()
    base = ["generate", "-m", d, "--temperature", "0", "-n", "12", PROMPT]
    # " fe fe" spans two tokens: the first " fe" must be held back, then dropped.
    assert run(base + ["--stop", " fe fe"])[0] == b"\n"
    assert run(base + ["--stop", "fe fe"])[0] == b" \n"
    assert run(base + ["--stop", "e f"])[0] == b" f\n"
    assert run(base + ["--stop", "zzz", "--stop", "fe f"])[0] == b" \n"
    # Never completed (13 times " fe" in 12 tokens): held back, then all printed.
    assert run(base + ["--stop", GREEDY_TEXT * 13])[0] == (GREEDY_TEXT * 12 + "\n").encode()
    assert run(base + ["--stop", "x"])[0] == (GREEDY_TEXT * 12 + "\n").encode()


# ---- test/fixtures/gpt2-tiny* (test/gen/gen_gpt2.py) -------------------------

FIXTURE_NAMES = ("gpt2-tiny", "gpt2-tiny-untied")
_stripped = {}


def fixtures():
    """[(directory, cases.json, expected tensors)] of the fixtures present."""
    out = []
    for name in FIXTURE_NAMES:
        d = os.path.join(FIXTURES, name)
        if os.path.exists(os.path.join(d, "cases.json")):
            with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
                cases = json.load(f)
            out.append((d, cases, load_safetensors(os.path.join(d, "expected.safetensors"))))
    if not out:
        raise Skip("no test/fixtures/gpt2-tiny*")
    return out


def stripped(d):
    """A copy of fixture @d without tokenizer files: --ids in, ids out."""
    if d not in _stripped:
        t = tempfile.mkdtemp(prefix="ce-gpt2-fixture-")
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(d, f), t)
        _stripped[d] = t
        _notok.append(t)
    return _stripped[d]


@test
def fixture_ids_paths():
    for d, cases, exp in fixtures():
        m = stripped(d)
        V, L, D = (cases["model"]["vocab_size"], cases["model"]["n_layer"] + 1,
                   cases["model"]["n_embd"])
        tol = cases["noise"]["suggested_tolerance_abs"]
        o = one_json(run(["bench", "-m", m, "--decode", "--runs", "2", "--threads", "1"])[0])
        assert o["ctx"] == min(128, cases["model"]["n_positions"] - 1), o   # default --ctx
        for c in cases["cases"]:
            ids, name = c["input_ids"], "%s %s" % (os.path.basename(d), c["name"])
            ref = rows(exp[c["name"] + ".logits"][1], V)
            out, _ = run(["logits", "-m", m, "--all-positions", "--format", "npy",
                          "--ids", ids_arg(ids)])
            shape, data = parse_npy(out)
            assert shape == (len(ids), V), (name, shape)
            assert_close(data, [v for r in ref for v in r], tol["logits"], name + " logits")
            check_top(one_json(run(["logits", "-m", m, "--top", "4", "--ids", ids_arg(ids)])[0]),
                      4, ref[-1])
            if len(ids) >= 2:
                o = one_json(run(["score", "-m", m, "--ids", ids_arg(ids)])[0])
                want = [log_softmax(ref[t])[ids[t + 1]] for t in range(len(ids) - 1)]
                assert_close(o["logprobs"], want, 1e-3, name + " score")
            out, _ = run(["embed", "-m", m, "--layers", "all", "--ids", ids_arg(ids)])
            e = one_json(out)
            assert e["shape"] == [L, len(ids), D], (name, e["shape"])
            assert_close(e["data"], list(exp[c["name"] + ".hidden_states"][1]),
                         tol["hidden_states"], name + " hidden states")
            if c.get("greedy_ids"):
                out, _ = run(["generate", "-m", m, "--temperature", "0", "-n", "12",
                              "--ids", ids_arg(ids)])
                assert [int(x) for x in out.split()] == c["greedy_ids"], (name, out)
            elif len(ids) == cases["model"]["n_positions"]:
                out, err = run(["generate", "-m", m, "--temperature", "0", "-n", "5",
                                "--ids", ids_arg(ids)], quiet=False)
                assert len(out.split()) == 1 and "context is full" in err, (out, err)


@test
def fixture_text_paths():
    for d, cases, exp in fixtures():
        eot = cases["tokenizer"]["eot_id"]
        out, _ = run(["info", "-m", d])
        assert one_json(out)["tokenizer"] == "bpe"
        for c in cases["cases"]:
            ids, name = c["input_ids"], "%s %s" % (os.path.basename(d), c["name"])
            if "text" in c:
                out, _ = run(["tokenize", "-m", d, "--", c["text"]])
                assert one_json(out)["ids"] == ids, name
            gen = c.get("greedy_ids")
            if not gen:
                continue
            out, _ = run(["generate", "-m", d, "--temperature", "0", "-n", "12",
                          "--ids", ids_arg(ids)])
            if eot in gen:                       # generate stops at end-of-text
                gen = gen[:gen.index(eot)]
            want = byte_level_decode(d, gen)
            if len(gen) == len(c["greedy_ids"]):
                assert want == c["greedy_text"], (name, want, c["greedy_text"])
            assert out == (want + "\n").encode(), (name, out, want)


def byte_level_decode(d, ids):
    """GPT-2's decoder: token strings to bytes (inverse of bytes_to_unicode), lossy UTF-8."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars = {}
    extra = 0
    for b in range(256):
        chars[chr(b) if b in bs else chr(256 + extra)] = b
        extra += b not in bs
    with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
        inv = {i: t for t, i in json.load(f).items()}
    return bytes(chars[ch] for i in ids for ch in inv[i]).decode("utf-8", "replace")


@test
def bench_decode_and_gpt2():
    d = notok()
    out, _ = run(["bench", "-m", d, "--decode", "--ctx", "16", "--runs", "3", "--threads", "1"])
    o = one_json(out)
    for k in ("median_ms", "min_ms", "runs", "threads", "weight_bytes", "ctx"):
        assert k in o, k
    assert o["runs"] == 3 and o["threads"] == 1 and o["ctx"] == 16, o
    assert 0 < o["min_ms"] <= o["median_ms"] and o["weight_bytes"] > 400000, o
    fails(["bench", "-m", d, "--decode", "--ctx", "512"], 2, "--ctx")
    out, _ = run(["bench", "--gpt2", "--ctx", "4", "--runs", "1", "--threads", "1"])
    o = one_json(out)
    for k in ("prompt_median_ms", "prompt_tokens_per_s", "decode_median_ms", "weight_bytes",
              "copy_gbps", "bound_ms", "ratio"):
        assert isinstance(o.get(k), (int, float)) and o[k] > 0, (k, o)
    assert o["weight_bytes"] == 4 * 124439808, o    # GPT-2 small, LM head tied


@test
def score_stride_windows():
    """score --stride: Hugging Face's sliding-window perplexity on a text longer than
    the model (gpt2-tiny: 64 positions): every token scored once, each window's
    tokens as a plain score of that window gives them."""
    d = need(FIXTURE)
    n_pos = 64
    ids = [(i * 37 + 11) % 577 for i in range(150)]
    fails(["score", "-m", d, "--ids", ids_arg(ids)], 1, "--stride")
    fails(["score", "-m", d, "--stride", "64", "--ids", ids_arg(ids)], 2, "--stride")
    fails(["score", "-m", d, "--stride", "0", "--ids", ids_arg(ids)], 2, "--stride")
    plain = {}

    def plain_score(begin, end):
        if (begin, end) not in plain:
            plain[begin, end] = one_json(run(["score", "-m", d, "--ids",
                                              ids_arg(ids[begin:end])])[0])["logprobs"]
        return plain[begin, end]

    for stride in (1, 23, 50, 63):
        o = one_json(run(["score", "-m", d, "--stride", stride, "--ids", ids_arg(ids)])[0])
        assert o["ids"] == ids and len(o["logprobs"]) == len(ids) - 1, stride
        lp = o["logprobs"]
        assert all(isinstance(v, float) and v <= 0 for v in lp), stride
        assert abs(o["perplexity"] - math.exp(-sum(lp) / len(lp))) <= 1e-6 * o["perplexity"]
        # The first window is a plain score of the first 64 tokens, exactly.
        assert lp[:n_pos - 1] == plain_score(0, n_pos), stride
        begin, prev_end, scored = 0, 0, []
        while True:  # transformers' loop: trg_len = end - prev_end
            end = min(begin + n_pos, len(ids))
            first = max(prev_end, begin + 1)
            want = plain_score(begin, end)[first - begin - 1:]
            assert_close(lp[first - 1:end - 1], want, 1e-4, "stride %d window %d" % (stride, begin))
            if begin:  # context of a later window's first scored token
                assert first - begin == n_pos - stride, (stride, begin)
            scored += range(first, end)
            if end == len(ids):
                break
            prev_end, begin = end, begin + stride
        assert scored == list(range(1, len(ids))), "each token scored once"
    # A text that fits is scored as without --stride.
    short = ids[:n_pos]
    assert (run(["score", "-m", d, "--stride", "8", "--ids", ids_arg(short)])[0]
            == run(["score", "-m", d, "--ids", ids_arg(short)])[0])
    out, _ = run(["score", "-m", d, "--stride", "16", "--", "a b c " * 60])
    assert len(one_json(out)["logprobs"]) > n_pos


def main():
    failed = skipped = 0
    for fn in TESTS:
        try:
            fn()
            print("ok   %s" % fn.__name__)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (fn.__name__, e))
        except Exception as e:  # report every case, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e))
    for d in _notok:
        shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed, %d skipped"
          % (len(TESTS) - failed - skipped, failed, skipped))
    if failed:
        return 1
    return 77 if skipped == len(TESTS) else 0


if __name__ == "__main__":
    sys.exit(main())
