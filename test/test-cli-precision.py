#!/usr/bin/env python3
"""--precision on the commands that open a model (embed, logits, score,
generate, bench, info), on the trained models of models/.

Usage: test-cli-precision.py CONTEXTEMBED MODELS_DIR

Standard library only. The accuracy contract itself is test-precision.c's;
this checks the flag reaches the library on every command, that bench and
info report it, and how bad values are refused (exit 2 for a value the
option does not know, 1 for a precision this CPU cannot run).
"""

import json
import math
import os
import subprocess
import sys

EXE, MODELS = sys.argv[1], sys.argv[2]
BERT = os.path.join(MODELS, "bert-mini-en")
GPT2 = os.path.join(MODELS, "gpt2-mini-en")
ELMO = os.path.join(MODELS, "elmo-mini-en")
RESULTS = {"passed": 0, "failed": 0}


def run(args, code=0):
    p = subprocess.run([EXE] + args, capture_output=True, timeout=300)
    if p.returncode != code:
        raise AssertionError("%s: exit %d, want %d: %s" % (" ".join(args), p.returncode, code,
                                                          p.stderr.decode(errors="replace")))
    return p.stdout.decode(), p.stderr.decode(errors="replace")


def check(ok, what, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + what + (": " + detail if detail else ""))


def cosine(a, b):
    ab = sum(x * y for x, y in zip(a, b))
    return ab / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_info():
    info = json.loads(run(["info", "-m", BERT, "--precision", "int8"])[0])
    check(info["precision"] == "int8", "info: precision int8", info["precision"])
    check(set(info["cpu"]) == {"avx2", "avx512", "avx512_bf16", "amx_bf16", "vnni", "amx_int8"}
          and all(isinstance(v, bool) for v in info["cpu"].values()), "info: cpu features",
          json.dumps(info["cpu"]))
    check(json.loads(run(["info", "-m", BERT])[0])["precision"] == "f32", "info: f32 by default")
    return info["cpu"]


def test_embed():
    text = "And the LORD spake unto Moses, saying"
    for model in (BERT, ELMO):
        f = json.loads(run(["embed", "-m", model, "--layers", "all", "--", text])[0])
        q = json.loads(run(["embed", "-m", model, "--layers", "all", "--precision", "int8", "--",
                            text])[0])
        d = f["shape"][-1]
        worst = min(cosine(f["data"][i:i + d], q["data"][i:i + d])
                    for i in range(0, len(f["data"]), d))
        check(f["shape"] == q["shape"] and f["data"] != q["data"] and worst > 0.99,
              "embed --precision int8 (%s)" % os.path.basename(model), "min cosine %.5f" % worst)


def test_decoder():
    text = "In the beginning God created the heaven and the earth."
    f = json.loads(run(["score", "-m", GPT2, "--", text])[0])
    q = json.loads(run(["score", "-m", GPT2, "--precision", "int8", "--", text])[0])
    check(f["ids"] == q["ids"] and abs(q["perplexity"] / f["perplexity"] - 1) < 0.05,
          "score --precision int8", "%.3f vs %.3f" % (q["perplexity"], f["perplexity"]))
    out = run(["logits", "-m", GPT2, "--precision", "int8", "--", "And it came to"])[0]
    check(json.loads(out)[0]["token"] == " pass", "logits --precision int8", out[:80])
    out = run(["generate", "-m", GPT2, "--precision", "int8", "--temperature", "0", "-n", "4",
               "--", "And God said"])[0]
    check(len(out) > len("And God said"), "generate --precision int8", repr(out))


def test_bench():
    r = json.loads(run(["bench", "-m", GPT2, "--decode", "--runs", "2", "--threads", "1",
                        "--precision", "int8"])[0])
    check(r["precision"] == "int8" and r["median_ms"] > 0 and r["peak_rss_bytes"] > 0,
          "bench --decode --precision int8", json.dumps(r))
    lines = run(["bench", "-m", BERT, "--runs", "2", "--threads", "1", "--seq", "16",
                 "--precision", "int8"])[0].splitlines()
    r = json.loads(lines[0])
    check(r["precision"] == "int8" and r["median_ms"] > 0, "bench --precision int8", lines[0])


def test_refused(cpu):
    for cmd in (["embed", "-m", BERT, "--precision", "fp16", "x"],
                ["score", "-m", GPT2, "--precision", "fp16", "x"],
                ["info", "-m", BERT, "--precision", "fp16"],
                ["bench", "-m", BERT, "--runs", "1", "--precision", "fp16"]):
        _, err = run(cmd, code=2)
        check("f32, bf16, int8" in err, "%s --precision fp16: usage error" % cmd[0], err.strip())
    if not (cpu["avx512_bf16"] or cpu["amx_bf16"]):
        _, err = run(["embed", "-m", BERT, "--precision", "bf16", "x"], code=1)
        check("AVX512-BF16" in err and "AMX-BF16" in err, "embed --precision bf16 refused here",
              err.strip())
    else:  # a bf16 CPU: "auto" picks a fast backend for it, never the reference
        p = subprocess.run([EXE, "info", "-m", BERT, "--precision", "bf16"], capture_output=True,
                           timeout=300)
        if p.returncode == 0:
            info = json.loads(p.stdout.decode())
            check(info["precision"] == "bf16" and info["backend"] != "ref",
                  "info --precision bf16 on a bf16 CPU", p.stdout.decode().strip())
        else:  # built without oneDNN: refused, pointing at the reference
            err = p.stderr.decode(errors="replace")
            check(p.returncode == 1 and "ref" in err, "bf16 without a fast backend", err.strip())
    # the reference backend runs bf16 anywhere when named, and says so
    out, _ = run(["info", "-m", BERT, "--backend", "ref", "--precision", "bf16"])
    info = json.loads(out)
    check(info["precision"] == "bf16" and info["backend"] == "ref", "info --backend ref bf16",
          out.strip())
    _, err = run(["score", "-m", GPT2, "--backend", "onednn", "--precision", "int8", "x"], code=1)
    check("cannot run precision \"int8\"" in err or "unknown backend" in err,
          "score --backend onednn --precision int8 refused", err.strip())


def main():
    if not all(os.path.isdir(m) for m in (BERT, GPT2, ELMO)):
        print("SKIP: the models of models/ are missing")
        return 77
    cpu = test_info()
    test_embed()
    test_decoder()
    test_bench()
    test_refused(cpu)
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
