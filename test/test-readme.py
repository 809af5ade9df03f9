#!/usr/bin/env python3
"""The README's quick start works: every `contextembed` command of the shell
blocks that run on the shipped models (models/...) exits 0 and prints
something, run from the repository root with the freshly built program.

Usage: test-readme.py CONTEXTEMBED SOURCE_ROOT
"""

import os
import re
import shlex
import subprocess
import sys

EXE, ROOT = os.path.abspath(sys.argv[1]), sys.argv[2]
PROGRAM = "./build/tools/contextembed"


def quickstart_commands(readme):
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    lines = [ln.strip() for b in blocks for ln in b.splitlines()]
    return [ln for ln in lines if ln.startswith(PROGRAM + " ") and " models/" in ln]


def main():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        commands = quickstart_commands(f.read())
    if not commands:
        print("FAIL - no quick-start command on models/ found in README.md")
        return 1
    failed = 0
    for cmd in commands:
        argv = [EXE] + shlex.split(cmd)[1:]
        p = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=300)
        ok = p.returncode == 0 and p.stdout.strip() != b""
        failed += not ok
        first = p.stdout.decode("utf-8", "replace").strip().splitlines()[:1]
        print(f"{'ok' if ok else 'FAIL'} - {cmd}: exit {p.returncode}, "
              f"{(first[0][:100] if first else p.stderr.decode('utf-8', 'replace').strip())!r}")
    print(f"{len(commands) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
