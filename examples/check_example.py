#!/usr/bin/env python3
"""Test harness (not an example): run one example program on a test model and
check its output, so that no example can rot.

Usage: check_example.py --model DIR [--model DIR ...] [--expect REGEX ...]
                        [--expect-with NAME REGEX ...] [--lines N] -- COMMAND ARGS...

The first --model directory that exists and opens replaces "@MODEL@" in the
command; when none does (a fixture not generated yet, a model family not
supported by this build), the example is skipped with exit status 77. Each
--expect regex must match somewhere in the output (re.MULTILINE); --expect-with
NAME REGEX only when the chosen directory's name is NAME. --lines N: the output
has exactly N lines.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_PARENT = os.path.normpath(os.path.join(HERE, "..", "bindings", "python"))
SKIP = 77


PROBE = """
import sys
import contextembed as ce
try:
    ce.Model(sys.argv[1], threads=1).close()
except ce.UnsupportedError as e:
    print("UNSUPPORTED", e)
"""


def pick_model(dirs):
    """The first directory that exists and is not refused as unsupported, or
    None (reasons printed). The probe runs in a child process: a library built
    with sanitizers cannot always be loaded into this interpreter, and then
    the example itself has the last word."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT
    for d in dirs:
        if not os.path.isdir(d):
            print("SKIP candidate %s: absent" % d)
            continue
        probe = subprocess.run([sys.executable, "-c", PROBE, d], env=env, capture_output=True,
                               text=True, timeout=120)
        if probe.stdout.startswith("UNSUPPORTED"):
            print("SKIP candidate %s: not supported by this build: %s" % (d, probe.stdout[12:]))
            continue
        return d
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", action="append", default=[])
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--expect-with", nargs=2, action="append", default=[])
    p.add_argument("--lines", type=int)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    model = pick_model(a.model)
    if model is None:
        print("SKIP: no model for this example yet")
        return SKIP
    command = [model if arg == "@MODEL@" else arg for arg in command]
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    print("$ " + " ".join(command))
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    sys.stdout.write(run.stdout)
    sys.stdout.write(run.stderr)
    if run.returncode != 0:
        print("FAIL: exit status %d" % run.returncode)
        return 1
    checks = list(a.expect) + [rx for name, rx in a.expect_with
                               if os.path.basename(os.path.normpath(model)) == name]
    failed = [rx for rx in checks if not re.search(rx, run.stdout, re.MULTILINE)]
    if a.lines is not None and len(run.stdout.splitlines()) != a.lines:
        failed.append("%d lines" % a.lines)
    for rx in failed:
        print("FAIL: output does not match %r" % rx)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
