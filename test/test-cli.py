#!/usr/bin/env python3
"""End-to-end tests of the contextembed program (Python 3 standard library only).

Usage: test-cli.py CONTEXTEMBED_EXE [FIXTURES_DIR]

Runs the program as a user would and checks its command-line contract: JSON
and .npy outputs, text input (arguments, "--", standard input, --jsonl), exit
codes and messages. Hidden states are compared with the golden values that
test/gen/gen_bert.py computed with PyTorch (expected.safetensors, read here
with struct). Cases needing a fixture are skipped when it is absent; exit code
0 when nothing failed, 1 otherwise, 77 when everything was skipped.
"""
import array
import ast
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

EXE = sys.argv[1] if len(sys.argv) > 1 else "contextembed"
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
    "CE_FIXTURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
UNCASED = os.path.join(FIXTURES, "bert-tiny-uncased")
TOL = 1e-4  # cases.json's suggested_tolerance_abs


class Skip(Exception):
    pass


# ---- running the program ---------------------------------------------------

def run(args, stdin=b"", rc=0):
    """Run the program; check its exit code; return (stdout bytes, stderr text)."""
    p = subprocess.run([EXE] + list(args), input=stdin, capture_output=True, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != rc:
        raise AssertionError("%s: exit %d, expected %d; stderr: %s"
                             % (" ".join(args)[:200], p.returncode, rc, err.strip()[:500]))
    if rc == 0 and err:
        raise AssertionError("%s: success but stderr: %s" % (" ".join(args)[:200], err[:500]))
    return p.stdout, err


def lines(out):
    """Parse JSON lines strictly (NaN/Infinity are not JSON)."""
    def refuse(name):
        raise AssertionError("non-JSON constant %s in output" % name)
    text = out.decode("utf-8")
    assert text.endswith("\n") or not text, "output does not end with a newline"
    return [json.loads(l, parse_constant=refuse) for l in text.splitlines()]


def usage_error(args, stdin=b"", rc=2, want=None):
    """The program must fail with @rc and a "contextembed: ..." message."""
    out, err = run(args, stdin, rc)
    assert err.startswith("contextembed: "), "message: %r" % err
    assert "Traceback" not in err and "Sanitizer" not in err, err
    if want:
        assert want in err, "%r not in %r" % (want, err)
    return err


# ---- golden data -------------------------------------------------------------

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


_golden = {}


def golden(fixture):
    """(cases.json, expected tensors) of a fixture directory."""
    if fixture not in _golden:
        need(os.path.join(fixture, "config.json"))
        with open(os.path.join(fixture, "cases.json")) as f:
            cases = json.load(f)
        _golden[fixture] = (cases, load_safetensors(os.path.join(fixture, "expected.safetensors")))
    return _golden[fixture]


def hidden(fixture, name):
    """Golden hidden states of a case as nested lists [L][T][D]."""
    shape, a = golden(fixture)[1][name + ".hidden_states"]
    L, T, D = shape
    return [[list(a[(l * T + t) * D:(l * T + t + 1) * D]) for t in range(T)] for l in range(L)]


def flatten(x):
    if isinstance(x, list):
        return [v for item in x for v in flatten(item)]
    return [x]


def assert_close(got, want, tol=TOL, what="values"):
    got, want = flatten(got), flatten(want)
    assert len(got) == len(want), "%s: %d values, expected %d" % (what, len(got), len(want))
    worst = max((abs(g - w) for g, w in zip(got, want)), default=0.0)
    assert worst <= tol, "%s differ by %g (tolerance %g)" % (what, worst, tol)


def check_shape(obj):
    """shape and data agree; returns the product of the shape."""
    n = 1
    for s in obj["shape"]:
        n *= s
    assert len(obj["data"]) == n, "shape %s but %d values" % (obj["shape"], len(obj["data"]))
    assert all(isinstance(v, float) or isinstance(v, int) for v in obj["data"])
    return n


def embed(args, stdin=b""):
    out, _ = run(["embed", "-m", UNCASED] + list(args), stdin)
    objs = lines(out)
    for o in objs:
        check_shape(o)
    return objs


def case(fixture, name):
    for c in golden(fixture)[0]["cases"]:
        if c["name"] == name:
            return c
    raise KeyError(name)


def ids_arg(values):
    return ",".join(str(v) for v in values)


def case_ids(c):
    """Arguments embedding a case's ids as given (the tokenizer is tested apart)."""
    return ["--ids", ids_arg(c["input_ids"]), "--type-ids", ids_arg(c["token_type_ids"])]


def norm(v):
    return math.sqrt(sum(x * x for x in v))


# ---- cases -------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def top_level():
    out, _ = run(["--help"])
    assert b"embed" in out and b"tokenize" in out
    out, _ = run(["--version"])
    assert out.startswith(b"contextembed ")
    usage_error([], rc=2)
    usage_error(["frobnicate"], want="unknown command")
    for cmd in ("info", "tokenize", "embed", "bench"):
        out, _ = run([cmd, "--help"])
        assert out.startswith(b"Usage: contextembed " + cmd.encode()), out[:80]


@test
def usage_errors_without_model():
    usage_error(["embed", "--bogus", "-m", "x", "t"], want="unknown option '--bogus'")
    usage_error(["embed", "text"], want="missing -m")
    usage_error(["info"], want="missing -m")
    usage_error(["tokenize", "text"], want="-m MODEL or -t TOKENIZER")
    usage_error(["tokenize", "-m", "a", "-t", "b", "x"], want="not both")
    usage_error(["embed", "-m", "x", "--mix", "1,a", "t"], want="--mix")
    usage_error(["embed", "-m", "x", "--mix", "1,2:", "t"], want="--mix")
    usage_error(["embed", "-m", "x", "--layer", "1,2", "t"], want="--layer")
    usage_error(["embed", "-m", "x", "--layer", "1", "--layers", "all", "t"], want="only one")
    usage_error(["embed", "-m", "x", "--pool", "median", "t"], want="--pool")
    usage_error(["embed", "-m", "x", "--format", "csv", "t"], want="--format")
    usage_error(["embed", "-m", "x", "--ids", "1,2", "text"], want="--ids")
    usage_error(["embed", "-m", "x", "--type-ids", "0"], want="--type-ids needs --ids")
    usage_error(["embed", "-m", "x", "--ids", "1,2", "--type-ids", "0"], want="2 --ids")
    usage_error(["embed", "-m", "x", "--threads", "-3", "t"], want="--threads")
    usage_error(["embed", "-m", "x", "--layer"], want="needs a value")
    usage_error(["embed", "-m", "x", "--normalize=1", "t"], want="takes no value")
    usage_error(["bench", "--seq", "0"], want="--seq")
    usage_error(["info", "-m", "x", "extra"], want="unexpected argument")


@test
def missing_model_is_a_failure():
    usage_error(["info", "-m", "/nonexistent/model"], rc=1, want="/nonexistent/model")
    usage_error(["embed", "-m", "/nonexistent/model", "x"], rc=1)


@test
def info():
    out, _ = run(["info", "-m", need(UNCASED)])
    (o,) = lines(out)
    with open(os.path.join(UNCASED, "config.json")) as f:
        cfg = json.load(f)
    want = {"architecture": "bert", "num_layers": cfg["num_hidden_layers"],
            "hidden_size": cfg["hidden_size"], "num_heads": cfg["num_attention_heads"],
            "vocab_size": cfg["vocab_size"], "max_positions": cfg["max_position_embeddings"],
            "num_output_layers": cfg["num_hidden_layers"] + 1, "tokenizer": "wordpiece"}
    for k, v in want.items():
        assert o.get(k) == v, "%s: %r, expected %r" % (k, o.get(k), v)
    assert isinstance(o["backend"], str) and o["parameters"] > 0, o
    out, _ = run(["info", "-m", UNCASED, "--backend", "ref", "--threads", "1"])
    o = lines(out)[0]
    assert o["backend"] == "ref" and o["threads"] == 1, o
    usage_error(["info", "-m", UNCASED, "--backend", "no-such-backend"], rc=1, want="ref")


@test
def openmp_settings_and_the_threads():
    """OMP_PROC_BIND makes libgomp pin the first thread to one CPU as it loads; the thread
    count must still be the CPUs the bound team may use, not that one (it once was 1).
    OMP_THREAD_LIMIT caps it: libgomp would start no more threads than that."""
    def threads(bind, prefix=(), limit=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY", "OMP_THREAD_LIMIT")}
        if bind:
            env["OMP_PROC_BIND"] = bind
        if limit:
            env["OMP_THREAD_LIMIT"] = str(limit)
        p = subprocess.run(list(prefix) + [EXE, "info", "-m", need(UNCASED)], env=env,
                           capture_output=True, timeout=300)
        assert p.returncode == 0, (bind, p.stderr)
        return lines(p.stdout)[0]["threads"]
    base = threads(None)
    for bind in ("true", "close", "spread"):
        got = threads(bind)
        assert got == base, "OMP_PROC_BIND=%s: %d threads, unbound %d" % (bind, got, base)
    got = threads(None, limit=1)  # libgomp starts no more than that
    assert got == 1, "OMP_THREAD_LIMIT=1: %d threads" % got
    got = threads("master")  # every worker on the calling thread's place
    assert 1 <= got <= base, got
    if base > 1 and os.path.exists("/usr/bin/taskset"):
        got = threads("close", ("/usr/bin/taskset", "-c", str(min(os.sched_getaffinity(0)))))
        assert got == 1, "one CPU allowed, OMP_PROC_BIND=close: %d threads" % got


@test
def cpu_quota_caps_the_threads():
    """In a cgroup granted one CPU's time (docker run --cpus=1), 2 threads only wait for each
    other: the count is 1. Needs root and cgroup v1's cpu controller (CI's machines)."""
    def info_threads(prefix=()):
        p = subprocess.run(list(prefix) + [EXE, "info", "-m", need(UNCASED)],
                           capture_output=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return lines(p.stdout)[0]["threads"]
    if info_threads() < 2:
        raise Skip("one CPU: nothing to cap")
    cpu = "/sys/fs/cgroup/cpu"
    if os.geteuid() != 0 or not os.path.isfile(os.path.join(cpu, "cpu.cfs_quota_us")):
        raise Skip("no cgroup v1 cpu controller to write (root and /sys/fs/cgroup/cpu)")
    group = os.path.join(cpu, "contextembed-test-%d" % os.getpid())
    try:
        os.mkdir(group)
    except OSError as e:
        raise Skip("cannot make a cgroup: %s" % e)
    try:
        with open(os.path.join(group, "cpu.cfs_period_us")) as f:
            period = int(f.read())
        with open(os.path.join(group, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(period))
        enter = ("sh", "-c", 'echo $$ > "$0/tasks" && exec "$@"', group)
        got = info_threads(enter)
        assert got == 1, "cgroup of 1 CPU: %d threads" % got
    finally:
        os.rmdir(group)


def text_cases(fixture):
    return [c for c in golden(fixture)[0]["cases"] if c["kind"] in ("text", "pair")]


@test
def tokenize_matches_golden():
    for c in text_cases(need(UNCASED)):
        pair = ["--pair", c["text_pair"]] if c["kind"] == "pair" else []
        out, _ = run(["tokenize", "-m", UNCASED, "--add-special"] + pair + ["--", c["text"]])
        (o,) = lines(out)
        assert o["ids"] == c["input_ids"], (c["name"], o["ids"], c["input_ids"])
        assert o["tokens"] == c["tokens"], (c["name"], o["tokens"])
        assert len(o["offsets"]) == len(o["ids"])
        if pair:
            assert o["type_ids"] == c["token_type_ids"], (c["name"], o["type_ids"])
        else:
            assert "type_ids" not in o
        check_offsets(c, o)


def check_offsets(c, o):
    """Byte offsets index the UTF-8 text the token came from, in order."""
    texts = [c["text"].encode()] + ([c["text_pair"].encode()] if c["kind"] == "pair" else [])
    seq, last = 0, 0
    for tok, (b, e) in zip(o["tokens"], o["offsets"]):
        if tok in ("[CLS]", "[SEP]"):
            assert (b, e) == (0, 0), (tok, b, e)
            if tok == "[SEP]":
                seq, last = seq + 1, 0
            continue
        assert last <= b < e <= len(texts[seq]), (c["name"], tok, b, e)
        piece = texts[seq][b:e].decode("utf-8").lower()
        if tok.lstrip("#").isascii() and piece.isascii() and tok != "[UNK]":
            assert piece == tok.lstrip("#"), (c["name"], tok, piece)
        last = e


@test
def tokenize_without_special_and_from_tokenizer_file():
    c = case(need(UNCASED), "case1")
    out, _ = run(["tokenize", "-m", UNCASED, c["text"]])
    assert lines(out)[0]["ids"] == c["input_ids"][1:-1]
    for path in (UNCASED, os.path.join(UNCASED, "vocab.txt")):
        out, _ = run(["tokenize", "-t", path, "--add-special", c["text"]])
        assert lines(out)[0]["ids"] == c["input_ids"], path
    out, _ = run(["tokenize", "-m", UNCASED, "[MASK] x"])
    assert lines(out)[0]["tokens"][0] == "[MASK]"
    out, _ = run(["tokenize", "-m", UNCASED, "--special-as-text", "[MASK] x"])
    assert lines(out)[0]["tokens"][0] == "[", lines(out)[0]["tokens"]


@test
def embed_ids_matches_golden():
    for fixture in ("bert-tiny-uncased", "bert-tiny-cased", "bert-tiny-sharded"):
        path = os.path.join(FIXTURES, fixture)
        if not os.path.exists(path):
            continue
        for c in golden(path)[0]["cases"]:
            out, _ = run(["embed", "-m", path, "--layers", "all", "--ids", ids_arg(c["input_ids"]),
                          "--type-ids", ids_arg(c["token_type_ids"])])
            (o,) = lines(out)
            L, T = len(hidden(path, c["name"])), c["length"]
            assert o["shape"][:2] == [L, T], (fixture, c["name"], o["shape"])
            check_shape(o)
            assert o["ids"] == c["input_ids"] and o["offsets"] == [], (fixture, c["name"])
            assert o["type_ids"] == c["token_type_ids"]
            assert_close(o["data"], hidden(path, c["name"]), what="%s %s" % (fixture, c["name"]))
    need(UNCASED)


@test
def embed_text_matches_golden():
    for c in text_cases(need(UNCASED)):
        pair = ["--pair", c["text_pair"]] if c["kind"] == "pair" else []
        (o,) = embed(pair + ["--", c["text"]])
        h = hidden(UNCASED, c["name"])
        assert o["shape"] == [1, c["length"], len(h[0][0])], o["shape"]
        assert o["ids"] == c["input_ids"], c["name"]
        assert len(o["offsets"]) == c["length"]
        if pair:
            assert o["type_ids"] == c["token_type_ids"], c["name"]
        else:
            assert "type_ids" not in o
        assert_close(o["data"], h[-1], what=c["name"])


@test
def embed_batch_matches_each_alone():
    texts = [c["text"] for c in text_cases(need(UNCASED)) if c["kind"] == "text"]
    together = embed(["--"] + texts)
    assert len(together) == len(texts)
    for text, o in zip(texts, together):
        (alone,) = embed(["--", text])
        assert o["ids"] == alone["ids"] and o["shape"] == alone["shape"]
        assert_close(o["data"], alone["data"], 1e-5, "batched vs alone")


@test
def layer_selection_and_pooling():
    c = case(need(UNCASED), "case2")
    h = hidden(UNCASED, c["name"])
    L, T, D = len(h), len(h[0]), len(h[0][0])
    text = case_ids(c)
    (o,) = embed(["--layer", "0"] + text)
    assert o["shape"] == [1, T, D]
    assert_close(o["data"], h[0], what="--layer 0")
    (o,) = embed(["--layer", "-1"] + text)
    assert_close(o["data"], h[-1], what="--layer -1")
    (o,) = embed(["--layers", "2,0"] + text)
    assert o["shape"] == [2, T, D]
    assert_close(o["data"], [h[2], h[0]], what="--layers 2,0")
    (o,) = embed(["--pool", "cls"] + text)
    assert o["shape"] == [D]
    assert_close(o["data"], h[-1][0], what="--pool cls")
    mean = [sum(h[-1][t][d] for t in range(T)) / T for d in range(D)]
    (o,) = embed(["--pool", "mean"] + text)
    assert_close(o["data"], mean, what="--pool mean")
    (o,) = embed(["--pool", "max"] + text)
    assert_close(o["data"], [max(h[-1][t][d] for t in range(T)) for d in range(D)], what="max")
    (o,) = embed(["--layers", "all", "--pool", "mean"] + text)
    assert o["shape"] == [L, D]


@test
def mean_normalize_gives_unit_norm():
    c = case(need(UNCASED), "case2")
    h = hidden(UNCASED, c["name"])
    T, D = len(h[0]), len(h[0][0])
    (o,) = embed(["--pool", "mean", "--normalize"] + case_ids(c))
    assert abs(norm(o["data"]) - 1.0) < 1e-5, norm(o["data"])
    mean = [sum(h[-1][t][d] for t in range(T)) / T for d in range(D)]
    assert_close(o["data"], [v / norm(mean) for v in mean], what="normalised mean")
    (o,) = embed(["--layers", "all", "--pool", "mean", "--normalize"] + case_ids(c))
    for row in range(o["shape"][0]):
        assert abs(norm(o["data"][row * D:(row + 1) * D]) - 1.0) < 1e-5
    (o,) = embed(["--normalize"] + case_ids(c))
    for t in range(T):
        assert abs(norm(o["data"][t * D:(t + 1) * D]) - 1.0) < 1e-5


@test
def mix():
    c = case(need(UNCASED), "case1")
    h = hidden(UNCASED, c["name"])
    L = len(h)
    # Equal weights: softmax gives 1/L each; gamma scales the sum.
    (o,) = embed(["--mix", ",".join(["0"] * L) + ":2"] + case_ids(c))
    assert o["shape"] == [1, len(h[0]), len(h[0][0])], o["shape"]
    want = [[2 * sum(h[l][t][d] for l in range(L)) / L for d in range(len(h[0][0]))]
            for t in range(len(h[0]))]
    assert_close(o["data"], want, what="--mix 0,..:2")
    # A dominant weight picks that layer.
    (o,) = embed(["--mix", ",".join(["-40"] * (L - 1) + ["40"])] + case_ids(c))
    assert_close(o["data"], h[-1], what="--mix picking the last layer")


@test
def npy_output():
    c = case(need(UNCASED), "case1")
    (j,) = embed(["--layers", "all", "--", c["text"]])
    out, _ = run(["embed", "-m", UNCASED, "--layers", "all", "--format", "npy", "--", c["text"]])
    shape, data = parse_npy(out)
    assert list(shape) == j["shape"], (shape, j["shape"])
    assert data == array.array("f", j["data"]), "npy and JSON values differ"
    with tempfile.TemporaryDirectory() as d:
        base = os.path.join(d, "out.npy")
        run(["embed", "-m", UNCASED, "--pool", "mean", "--format", "npy", "-o", base,
             "a", "b c", "d"])
        assert sorted(os.listdir(d)) == ["out.0.npy", "out.1.npy", "out.2.npy"], os.listdir(d)
        for i in range(3):
            with open(os.path.join(d, "out.%d.npy" % i), "rb") as f:
                shape, _ = parse_npy(f.read())
            assert list(shape) == [j["shape"][2]]
        one = os.path.join(d, "one.npy")
        run(["embed", "-m", UNCASED, "--format", "npy", "-o", one, "a"])
        with open(one, "rb") as f:
            assert parse_npy(f.read())[0][:1] == (1,)
        js = os.path.join(d, "out.jsonl")
        run(["embed", "-m", UNCASED, "-o", js, "a", "b"])
        with open(js, "rb") as f:
            assert len(lines(f.read())) == 2
    usage_error(["embed", "-m", UNCASED, "--format", "npy", "a", "b"], want="one text")


def parse_npy(blob):
    """(shape, floats) of a version 1.0 .npy holding little-endian float32 in C order."""
    assert blob[:8] == b"\x93NUMPY\x01\x00", blob[:8]
    (hlen,) = struct.unpack("<H", blob[8:10])
    assert (10 + hlen) % 64 == 0, "header not padded to 64 bytes"
    header = blob[10:10 + hlen].decode("latin1")
    assert header.endswith("\n")
    d = ast.literal_eval(header.strip())
    assert d == {"descr": "<f4", "fortran_order": False, "shape": d["shape"]}, d
    n = 1
    for s in d["shape"]:
        n *= s
    data = array.array("f")
    data.frombytes(blob[10 + hlen:])
    if sys.byteorder == "big":
        data.byteswap()
    assert len(data) == n, (len(data), n)
    return tuple(d["shape"]), data


@test
def dash_dash_and_dash_texts():
    need(UNCASED)
    usage_error(["embed", "-m", UNCASED, "-hello"], want="unknown option")
    (o,) = embed(["--", "-hello"])
    assert o["ids"][1] == case(UNCASED, "case7")["input_ids"][11]  # "-"
    out, _ = run(["tokenize", "-m", UNCASED, "--", "--layer", "-a"])
    a, b = lines(out)
    assert a["tokens"][:2] == ["-", "-"] and a["offsets"][2][0] == 2, a
    assert b["tokens"] == ["-", "a"] and b["offsets"] == [[0, 1], [1, 2]], b
    # "-" stays standard input after "--", as for cat(1).
    out, _ = run(["tokenize", "-m", UNCASED, "--", "-"], b"dog\n")
    assert lines(out)[0]["tokens"] == ["dog"]


@test
def stdin_lines():
    need(UNCASED)
    out, _ = run(["tokenize", "-m", UNCASED], b"hello world\r\nthe dog\n\ndog")
    got = [o["tokens"] for o in lines(out)]
    assert got == [["hello", "world"], ["the", "dog"], [], ["dog"]], got
    out, _ = run(["tokenize", "-m", UNCASED, "hello", "-", "dog"], b"a\nb\n")
    got = [o["tokens"] for o in lines(out)]
    assert got == [["hello"], ["a"], ["b"], ["dog"]], got
    objs = embed([], b"hello world\nthe dog\n")
    assert [o["ids"] for o in objs] == [embed(["hello world"])[0]["ids"],
                                        embed(["the dog"])[0]["ids"]]


@test
def jsonl_input():
    need(UNCASED)
    stdin = b'"hello\\nworld"\n\n"a\\u0000b"\n"\\u00e9t\\u00e9 \\ud83d\\ude42"\n'
    out, _ = run(["tokenize", "-m", UNCASED, "--jsonl"], stdin)
    a, b, c = lines(out)
    assert a["tokens"] == ["hello", "world"] and a["offsets"] == [[0, 5], [6, 11]], a
    # BERT's normaliser drops NUL, so "a\0b" reads as "ab"; its offsets span the 3 bytes.
    (ab,) = lines(run(["tokenize", "-m", UNCASED, "ab"])[0])
    assert b["ids"] == ab["ids"], (b, ab)
    assert b["offsets"][0][0] == 0 and b["offsets"][-1][1] == 3, b["offsets"]
    assert c["offsets"][-1][1] == len("été 🙂".encode()), c
    objs = embed(["--jsonl"], stdin)
    assert len(objs) == 3 and objs[0]["offsets"][1] == [0, 5]
    usage_error(["tokenize", "-m", UNCASED, "--jsonl"], b'"ok"\nnot json\n', rc=1, want="line 2")
    # U+2028 / U+2029 raw in a line (as serde_json and json.dumps(ensure_ascii=False) write
    # them), the spaces around them kept: the same tokens and offsets as the text given whole
    raw = "hello  \u2028  world\u2029\t x"
    (got,) = lines(run(["tokenize", "-m", UNCASED, "--jsonl"],
                       json.dumps(raw, ensure_ascii=False).encode() + b"\n")[0])
    (want,) = lines(run(["tokenize", "-m", UNCASED, "--", raw])[0])
    assert got == want and want["offsets"][-1] == [len(raw.encode()) - 1, len(raw.encode())], got


@test
def invalid_utf8_is_an_error():
    need(UNCASED)
    for cmd in (["tokenize", "-m", UNCASED], ["embed", "-m", UNCASED]):
        err = usage_error(cmd, b"fine\nab\xff\xfecd\n", rc=1)
        assert "UTF-8" in err or "utf-8" in err.lower(), err
    usage_error(["embed", "-m", UNCASED, "--jsonl"], b'"ab\xffcd"\n', rc=1)


@test
def model_errors():
    need(UNCASED)
    usage_error(["embed", "-m", UNCASED, "--layer", "3", "x"], want="out of range")
    usage_error(["embed", "-m", UNCASED, "--layer", "-4", "x"], want="out of range")
    usage_error(["embed", "-m", UNCASED, "--layers", "0,9", "x"], want="out of range")
    usage_error(["embed", "-m", UNCASED, "--mix", "1,2", "x"], want="--mix")
    usage_error(["embed", "-m", UNCASED, "--ids", "1,99999"], rc=1)
    usage_error(["embed", "-m", UNCASED, "--ids", "1,2", "--type-ids", "0,7"], rc=1)
    usage_error(["embed", "-m", UNCASED, "--no-special", ""], rc=1)
    long_text = " ".join(["dog"] * 100)
    usage_error(["embed", "-m", UNCASED, long_text], rc=1, want="--truncate")
    usage_error(["embed", "-m", UNCASED, "ok", "fine", long_text, "x"], rc=1, want="(text 2)")
    (o,) = embed(["--truncate", long_text])
    assert o["shape"][1] == 64 and o["ids"][-1] == 13, (o["shape"], o["ids"][-3:])
    (o,) = embed(["--truncate", "--ids", ids_arg([12] + [188] * 80)])
    assert o["shape"][1] == 64 and len(o["ids"]) == 64


@test
def backends_agree():
    need(UNCASED)
    p = subprocess.run([EXE, "info", "-m", UNCASED, "--backend", "blis"], capture_output=True)
    if p.returncode != 0:
        raise Skip("no blis backend")
    texts = ["--", case(UNCASED, "case2")["text"], "hello world"]
    ref = embed(["--backend", "ref", "--layers", "all"] + texts)
    blis = embed(["--backend", "blis", "--threads", "2", "--layers", "all"] + texts)
    for r, b in zip(ref, blis):
        assert r["shape"] == b["shape"]
        assert_close(b["data"], r["data"], 1e-4, "blis vs ref")


@test
def bench_on_fixture():
    out, _ = run(["bench", "-m", need(UNCASED), "--seq", "16", "--batch", "2", "--runs", "3",
                  "--threads", "1"])
    (o,) = lines(out)
    for k in ("median_ms", "min_ms", "runs", "threads", "gflops", "seq", "batch"):
        assert k in o, k
    assert o["runs"] == 3 and o["threads"] == 1 and o["seq"] == 16 and o["batch"] == 2, o
    assert 0 < o["min_ms"] <= o["median_ms"] and o["gflops"] > 0, o
    usage_error(["bench", "-m", UNCASED, "--seq", "65", "--runs", "1"], rc=1)


@test
def info_reports_capabilities():
    cases = [("bert-tiny-uncased", ["token_ids", "bidirectional", "token_types"], []),
             ("gpt2-tiny", ["token_ids", "decoder"], []),
             ("roberta-tiny", ["token_ids", "bidirectional"], []),
             ("distilbert-tiny", ["token_ids", "bidirectional"], []),
             ("st-multi", ["token_ids", "bidirectional", "token_types", "sentence_pooling"],
              ["cls", "max", "mean"])]
    for name, caps, pooling in cases:
        out, _ = run(["info", "-m", need(os.path.join(FIXTURES, name))])
        (obj,) = lines(out)
        assert obj["capabilities"] == caps, (name, obj["capabilities"])
        assert obj["pooling"] == pooling, (name, obj["pooling"])
    out, _ = run(["info", "--help"])
    for arch in ("bert", "roberta", "distilbert", "gpt2", "elmo"):
        assert arch in out.decode().split("Architectures")[-1], arch


def sentence_embedding(fixture, text, extra=()):
    out, _ = run(["embed", "-m", fixture] + list(extra) + ["--", text])
    (obj,) = lines(out)
    check_shape(obj)
    return obj


@test
def embed_sentence_transformers_default():
    for name in ("st-mean", "st-multi", "st-lasttoken", "st-lower", "st-old"):
        fixture = need(os.path.join(FIXTURES, name))
        cases, tensors = golden(fixture)
        for c in cases["cases"]:
            obj = sentence_embedding(fixture, c["text"])
            want = tensors[c["name"] + ".sentence_embedding"][1]
            assert obj["shape"] == [len(want)], (name, obj["shape"])
            assert obj["ids"] == c["input_ids"], (name, c["name"], "truncated as ST does")
            assert_close(obj["data"], list(want), what="%s %s" % (name, c["name"]))


@test
def embed_sentence_transformers_overrides():
    fixture = need(os.path.join(FIXTURES, "st-mean"))
    cases, tensors = golden(fixture)
    c = cases["cases"][0]
    raw = sentence_embedding(fixture, c["text"], ["--no-normalize"])
    assert abs(norm(raw["data"]) - 1.0) > 1e-3, "--no-normalize kept the unit norm"
    unit = [v / norm(raw["data"]) for v in raw["data"]]
    assert_close(unit, list(tensors[c["name"] + ".sentence_embedding"][1]))
    cls = sentence_embedding(fixture, c["text"], ["--pool", "cls"])
    token0 = list(tensors[c["name"] + ".token_embeddings"][1])[:len(cls["data"])]
    assert_close(cls["data"], token0, what="explicit --pool cls")
    tokens = sentence_embedding(fixture, c["text"], ["--pool", "none"])
    assert tokens["shape"][1] == len(c["input_ids"]), tokens["shape"]
    long = [x for x in cases["cases"] if x["truncated"]][0]
    obj = sentence_embedding(fixture, long["text"], ["--pool", "mean", "--no-truncate"])
    assert len(obj["ids"]) == long["length_untruncated"], "--no-truncate cut the text"


@test
def embed_sentence_transformers_unsupported_module():
    fixture = need(os.path.join(FIXTURES, "st-dense"))
    _, err = run(["embed", "-m", fixture, "--", "a text"], rc=1)
    assert "Dense" in err, err
    obj = sentence_embedding(fixture, "a text", ["--pool", "mean"])
    assert obj["shape"] == [golden(fixture)[0]["hidden_size"]], obj["shape"]
    usage_error(["embed", "-m", fixture, "--pool", "median", "x"], want="median")


@test
def embed_roberta_and_distilbert_text():
    for name in ("roberta-tiny", "roberta-tiny-plain", "distilbert-tiny"):
        fixture = need(os.path.join(FIXTURES, name))
        cases, _ = golden(fixture)
        texts = [c for c in cases["cases"] if c.get("kind") == "text"]
        for c in texts[:3]:
            out, _ = run(["embed", "-m", fixture, "--layers", "all", "--", c["text"]])
            (obj,) = lines(out)
            assert obj["ids"] == c["input_ids"], (name, c["name"])
            assert_close(obj["data"], hidden(fixture, c["name"]), what="%s %s" % (name, c["name"]))
        pairs = [c for c in cases["cases"] if c.get("kind") == "pair"]
        for c in pairs[:2]:
            out, _ = run(["embed", "-m", fixture, "--layers", "all", "--pair", c["text_pair"],
                          "--", c["text"]])
            (obj,) = lines(out)
            assert obj["ids"] == c["input_ids"], (name, c["name"])
            assert_close(obj["data"], hidden(fixture, c["name"]), what="%s %s" % (name, c["name"]))


# ---- long texts and corpora (issue 14) ---------------------------------------

LONG_TEXT = " ".join(["the quick brown fox jumps over the lazy dog"] * 12)


def run_noisy(args, stdin=b"", rc=0):
    """Run the program, allowing messages on success; (stdout bytes, stderr text)."""
    p = subprocess.run([EXE] + list(args), input=stdin, capture_output=True, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == rc, "%s: exit %d, expected %d; stderr: %s" % (
        " ".join(args)[:200], p.returncode, rc, err[:500])
    return p.stdout, err


def write_file(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


@test
def windows_long_text():
    need(UNCASED)
    (tok,) = lines(run(["tokenize", "-m", UNCASED, "--add-special", "--", LONG_TEXT])[0])
    n = len(tok["ids"])
    assert n > 100, n
    usage_error(["embed", "-m", UNCASED, "--windows", "--truncate", "x"], want="--truncate")
    usage_error(["embed", "-m", UNCASED, "--stride", "8", "x"], want="--windows")
    usage_error(["embed", "-m", UNCASED, "--windows", "--stride", "0", "x"], want="--stride")
    usage_error(["embed", "-m", UNCASED, "--windows", "--stride", "62", LONG_TEXT], rc=1,
                want="stride")
    for extra in (["--stride", "8"], ["--stride", "61"], []):
        (o,) = embed(["--windows"] + extra + ["--", LONG_TEXT])
        assert o["shape"] == [1, n, 64], o["shape"]
        assert o["ids"] == tok["ids"] and o["offsets"] == tok["offsets"]
        # The first window is [CLS], 62 tokens, [SEP]; its first 30 tokens have more
        # context there than in any later window, whatever the overlap.
        (w,) = embed(["--ids", ids_arg(tok["ids"][:63] + tok["ids"][-1:])])
        assert_close(o["data"][:30 * 64], w["data"][:30 * 64], what="first window %s" % extra)
    (pooled,) = embed(["--windows", "--pool", "mean", "--", LONG_TEXT])  # o: the default stride
    assert pooled["shape"] == [64]
    means = [sum(o["data"][t * 64 + j] for t in range(n)) / n for j in range(64)]
    assert_close(pooled["data"], means, 1e-5, "mean over the stitched tokens")
    # A text that fits is computed exactly as without windows.
    short = case(UNCASED, "case2")["text"]
    assert (run(["embed", "-m", UNCASED, "--windows", "--layers", "all", "--", short])[0]
            == run(["embed", "-m", UNCASED, "--layers", "all", "--", short])[0])
    # sentence-transformers cut texts by default; --windows keeps every token.
    st = need(os.path.join(FIXTURES, "st-mean"))
    (cut,) = lines(run(["embed", "-m", st, "--pool", "none", "--", LONG_TEXT])[0])
    (whole,) = lines(run(["embed", "-m", st, "--pool", "none", "--windows", "--", LONG_TEXT])[0])
    assert len(cut["ids"]) == 16 and len(whole["ids"]) > 64, (len(cut["ids"]), len(whole["ids"]))


CORPUS = ["hello world", "the dog", "a", "unaffable runs",
          "-dash first", "x " * 25, "the quick brown fox", "dog dog dog", "zebra"]


@test
def corpus_input_and_budgets():
    need(UNCASED)
    want = embed(["--pool", "mean", "--"] + CORPUS)
    tokens = embed(["--"] + CORPUS)
    with tempfile.TemporaryDirectory() as d:
        plain = write_file(d, "corpus.txt", "".join(t + "\n" for t in CORPUS).encode())
        jsonl = write_file(d, "corpus.jsonl",
                           "".join(json.dumps(t) + "\n" for t in CORPUS).encode())
        for budget in ("1", "5", "12", "40", "100000"):
            for path, extra in ((plain, []), (jsonl, ["--jsonl"])):
                got = embed(["--input", path, "--batch-tokens", budget, "--pool", "mean"] + extra)
                assert len(got) == len(want), (budget, len(got))
                for g, w in zip(got, want):
                    assert g["ids"] == w["ids"] and g["offsets"] == w["offsets"]
                    assert_close(g["data"], w["data"], 1e-5, "budget " + budget)
            got = embed(["--input", plain, "--batch-tokens", budget])
            for g, w in zip(got, tokens):
                assert g["shape"] == w["shape"], budget
                assert_close(g["data"], w["data"], 1e-5, "tokens, budget " + budget)
        usage_error(["embed", "-m", UNCASED, "--input", plain, "x"], want="--input")
        usage_error(["embed", "-m", UNCASED, "--batch-tokens", "0", "x"], want="--batch-tokens")
        usage_error(["embed", "-m", UNCASED, "--input", os.path.join(d, "absent")], rc=1,
                    want="absent")


@test
def stack_npy():
    need(UNCASED)
    want = embed(["--pool", "mean", "--"] + CORPUS)
    with tempfile.TemporaryDirectory() as d:
        plain = write_file(d, "corpus.txt", "".join(t + "\n" for t in CORPUS).encode())
        out = os.path.join(d, "out.npy")
        run(["embed", "-m", UNCASED, "--input", plain, "--pool", "mean", "--format", "npy",
             "--stack", "-o", out, "--batch-tokens", "16"])
        assert sorted(os.listdir(d)) == ["corpus.txt", "out.npy"], os.listdir(d)
        with open(out, "rb") as f:
            shape, data = parse_npy(f.read())
        assert shape == (len(CORPUS), 64), shape
        for i, w in enumerate(want):
            assert data[i * 64:(i + 1) * 64] == array.array("f", w["data"]), "row %d" % i
        # To standard output, several layers: [N, L, D].
        blob, _ = run(["embed", "-m", UNCASED, "--pool", "cls", "--layers", "1,2", "--format",
                       "npy", "--stack", "--", "a", "b c"])
        assert parse_npy(blob)[0] == (2, 2, 64)
        blob, _ = run(["embed", "-m", UNCASED, "--pool", "mean", "--format", "npy", "--stack",
                       "--input", write_file(d, "empty.txt", b"")])
        assert parse_npy(blob)[0] == (0, 64)
        # A failure leaves no file behind.
        bad = write_file(d, "bad.txt", ("ok\n%s\n" % LONG_TEXT).encode())
        for fmt in (["--format", "npy", "--stack"], []):
            usage_error(["embed", "-m", UNCASED, "--input", bad, "--pool", "mean", "-o",
                         os.path.join(d, "fail.out")] + fmt, rc=1, want="bad.txt line 2")
            assert not [f for f in os.listdir(d) if f.startswith("fail")], os.listdir(d)
    usage_error(["embed", "-m", UNCASED, "--stack", "x"], want="--format npy")
    usage_error(["embed", "-m", UNCASED, "--stack", "--format", "npy", "x"], want="pooled")


@test
def progress_line():
    need(UNCASED)
    with tempfile.TemporaryDirectory() as d:
        plain = write_file(d, "corpus.txt", "".join(t + "\n" for t in CORPUS).encode())
        quiet, _ = run(["embed", "-m", UNCASED, "--input", plain, "--pool", "mean"])
        out, err = run_noisy(["embed", "-m", UNCASED, "--input", plain, "--pool", "mean",
                              "--progress"])
        assert out == quiet
        last = err.splitlines()[-1]
        assert last.startswith("embed: %d/%d texts, " % (len(CORPUS), len(CORPUS))), err
        assert "tokens/s" in last, err
        out, _ = run(["embed", "-m", UNCASED, "--input", plain, "--no-progress", "--pool",
                      "mean"])
        assert out == quiet


@test
def bad_lines_and_skip_bad():
    need(UNCASED)
    data = b'"one"\nnot json\n\n"two"\n""\n"tab\\there"\n"ab\xffc"\n"   "\n"three"\n'
    with tempfile.TemporaryDirectory() as d:
        path = write_file(d, "in.jsonl", data)
        usage_error(["embed", "-m", UNCASED, "--input", path, "--jsonl"], rc=1,
                    want="in.jsonl line 2")
        args = ["embed", "-m", UNCASED, "--input", path, "--jsonl", "--pool", "mean"]
        out, err = run_noisy(args + ["--skip-bad"])
        objs = lines(out)
        assert [o["index"] for o in objs] == [0, 3, 5, 8], [o["index"] for o in objs]
        for line in (2, 5, 7, 8):
            assert "in.jsonl line %d" % line in err and "skipped" in err, (line, err)
        assert "line 3" not in err, err  # a blank line is no text
        (three,) = embed(["--pool", "mean", "three"])
        assert objs[3]["data"] == three["data"]
        # --stack records the rows' input positions beside the array.
        npy = os.path.join(d, "out.npy")
        run_noisy(args + ["--skip-bad", "--format", "npy", "--stack", "-o", npy])
        with open(npy + ".index.json") as f:
            assert json.load(f) == [0, 3, 5, 8]
        with open(npy, "rb") as f:
            assert parse_npy(f.read())[0] == (4, 64)
        # Per-text files are named by input position.
        run_noisy(args + ["--skip-bad", "--format", "npy", "-o", os.path.join(d, "t.npy")])
        assert sorted(f for f in os.listdir(d) if f.startswith("t.")) == [
            "t.0.npy", "t.3.npy", "t.5.npy", "t.8.npy"], os.listdir(d)
        # Plain lines: an empty line or invalid UTF-8 names its line.
        plain = write_file(d, "in.txt", b"fine\n\nab\xffc\nlast\n")
        usage_error(["embed", "-m", UNCASED, "--input", plain], rc=1, want="in.txt line 2")
        out, err = run_noisy(["embed", "-m", UNCASED, "--input", plain, "--skip-bad"])
        assert [o["index"] for o in lines(out)] == [0, 3] and "in.txt line 3" in err, err
    usage_error(["embed", "-m", UNCASED, "--", "ok", ""], rc=1, want="text 1")
    usage_error(["embed", "-m", UNCASED, "--skip-bad", "--ids", "1,2"], want="--skip-bad")


@test
def sigint_leaves_no_file():
    import random
    import signal
    import time
    need(UNCASED)
    rng = random.Random(14)
    words = ["the", "dog", "runs", "quick", "brown", "fox", "hello", "world", "zebra"]
    text = "".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 30))) + "\n"
                   for _ in range(50000))
    with tempfile.TemporaryDirectory() as d:
        path = write_file(d, "big.txt", text.encode())
        for fmt in (["--format", "npy", "--stack"], []):
            out = os.path.join(d, "out")
            p = subprocess.Popen([EXE, "embed", "-m", UNCASED, "--input", path, "--windows",
                                  "--pool", "mean", "-o", out] + fmt,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.time() + 60
            while not os.path.exists(out + ".partial") and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.2)
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=60)
            assert p.returncode == 130, (p.returncode, err)
            assert b"interrupted" in err, err
            assert os.listdir(d) == ["big.txt"], os.listdir(d)


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
    print("%d passed, %d failed, %d skipped"
          % (len(TESTS) - failed - skipped, failed, skipped))
    if failed:
        return 1
    return 77 if skipped == len(TESTS) else 0


if __name__ == "__main__":
    sys.exit(main())
