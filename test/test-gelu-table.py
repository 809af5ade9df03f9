#!/usr/bin/env python3
"""lib/backends/cpu/vec_gelu_table.h is what scripts/fit_gelu.py prints now, and the
error the script measures for it stays below 1e-7 * max(1, |x|).
Usage: test-gelu-table.py SCRIPTS_DIR HEADER"""
import re
import subprocess
import sys


def main():
    script, header = sys.argv[1] + "/fit_gelu.py", sys.argv[2]
    run = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True)
    with open(header, encoding="utf-8") as f:
        committed = f.read()
    if run.stdout != committed:
        sys.exit(f"{header} differs from what {script} prints: regenerate it")
    worst = float(re.search(r"largest error / max\(1, \|x\|\) over \[-8, 8\]: (\S+)", run.stderr)[1])
    if not worst < 1e-7:
        sys.exit(f"the table's error {worst} is not below 1e-7")
    print(f"table current, error {worst}")


if __name__ == "__main__":
    main()
