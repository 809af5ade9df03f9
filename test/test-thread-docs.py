#!/usr/bin/env python3
"""Every public function says whether it is thread-safe.

Usage: test-thread-docs.py INCLUDE_DIR

Reads every header of INCLUDE_DIR/contextembed (or INCLUDE_DIR itself when it holds
the headers) and fails when a function declared with CE_API has no Doxygen comment
(a block starting with slash-star-star right before it) or when that comment lacks
a thread-safety statement: a sentence that starts with one of

    Thread-safe          e.g. "Thread-safe.", "Thread-safe on a shared const model."
    Not thread-safe      e.g. "Not thread-safe on the same session: one thread at a time."

(case as written: the statement starts a sentence). The rules these statements follow
are docs/guide.md, section "Threads: what may be shared". Before the headers, the
checker runs on a small header of its own that lacks a statement, to prove it notices.
Python 3 standard library only.
"""
import os
import re
import sys
import tempfile

# A sentence (start of the comment, or after ". ", ": ", "; " or a line break) that begins
# with one of the accepted phrases.
STATEMENT = re.compile(r"(?:^|[.:;!?)]\s+|\n\s*)(Thread-safe|Not thread-safe)\b")
DECLARATION = re.compile(r"^\s*CE_API\b[^;(]*?\b(\w+)\s*\(", re.M)


def doc_comment(text, pos):
    """The /** ... */ block that ends right before pos (only blank space between), or None."""
    head = text[:pos].rstrip()
    if not head.endswith("*/"):
        return None
    start = head.rfind("/*")
    if start < 0 or not head.startswith("/**", start):
        return None
    return head[start + 3:-2]


def strip_stars(comment):
    """The comment's text without the leading " * " of each line."""
    return "\n".join(re.sub(r"^\s*\*?\s?", "", line) for line in comment.split("\n"))


def check_file(path):
    """[(function, problem)] for the CE_API functions of one header."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    problems = []
    for m in DECLARATION.finditer(text):
        name = m.group(1)
        comment = doc_comment(text, m.start())
        if comment is None:
            problems.append((name, "has no /** doc comment right before it"))
        elif not STATEMENT.search(strip_stars(comment)):
            problems.append((name, "its doc comment says nothing about threads "
                                   "(no sentence starting \"Thread-safe\" or \"Not thread-safe\")"))
    return problems, len(DECLARATION.findall(text))


def self_test():
    """The checker must flag a function without a statement and accept one with it."""
    header = (
        "/** @brief Documented. Thread-safe. */\n"
        "CE_API int ce_good(void);\n"
        "/**\n * @brief Documented, but silent on threads (thread-safety is not a sentence).\n */\n"
        "CE_API const char *ce_silent(int x);\n"
        "CE_API void ce_undocumented(void);\n"
        "/** @brief Frees. Accepts NULL.\n * Not thread-safe on the same object: one thread at a time. */\n"
        "CE_API void ce_free(void *p);\n")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "probe.h")
        with open(path, "w", encoding="utf-8") as f:
            f.write(header)
        problems, count = check_file(path)
    flagged = sorted(name for name, _ in problems)
    if count != 4 or flagged != ["ce_silent", "ce_undocumented"]:
        sys.exit("self-test failed: the checker flagged %s among %d functions, expected "
                 "ce_silent and ce_undocumented among 4" % (flagged, count))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    self_test()
    root = sys.argv[1]
    if os.path.isdir(os.path.join(root, "contextembed")):
        root = os.path.join(root, "contextembed")
    headers = sorted(n for n in os.listdir(root) if n.endswith(".h"))
    total = 0
    failures = []
    for name in headers:
        problems, count = check_file(os.path.join(root, name))
        total += count
        failures += ["%s: %s %s" % (name, fn, why) for fn, why in problems]
    if total == 0:
        sys.exit("no CE_API function found under %s" % root)
    for line in failures:
        print(line)
    if failures:
        print("%d of %d public functions lack a thread-safety statement "
              "(see docs/guide.md, \"Threads: what may be shared\")" % (len(failures), total))
        return 1
    print("%d public functions in %d headers, each with a thread-safety statement"
          % (total, len(headers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
