#!/usr/bin/python3
"""Keeps docs/ARCHITECTURE.md's "Life of a message" honest: every hop it
names as `path/file` `Function` must exist, the file in the tree and the
function defined or declared in that file. A renamed or moved function
fails this test until the section is updated.

Usage: life_of_a_message_test.py (from anywhere: it finds the workspace
through its own path, as Bazel links it there)."""
import os
import re
import sys


def main():
    root = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..")
    os.chdir(root)
    with open("docs/ARCHITECTURE.md") as doc:
        text = doc.read()
    start = text.index("## Life of a message")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    # A hop: `path/with/a.cc` followed by one or more `Function` names, up
    # to the next path; a bare `Function` after a hop's file belongs to the
    # last file named.
    current = None
    checked, missing = 0, []
    for token in re.findall(r"`([^`]+)`", section):
        if re.fullmatch(r"[\w/]+\.(cc|h|md)", token):
            current = token
            if not os.path.exists(current):
                missing.append(f"{current}: no such file")
            continue
        # Functions: the C API's ferry_*, or CamelCase (maybe qualified).
        # Anything else in backticks (a flag, a counter) is not a hop.
        if current is None or not (
                re.fullmatch(r"ferry_\w+", token) or
                (re.fullmatch(r"[A-Z]\w*(::~?\w+)*", token) and
                 not token.isupper())):
            continue
        with open(current) as source:
            code = source.read()
        # Found as written and followed by its parameters: a qualified name
        # only where it is defined (Engine::PollOnce( in engine.cc), never
        # by a bare call of the same method elsewhere.
        name = token
        found = re.search(r"(?<![\w:])" + re.escape(name) + r"\s*\(", code)
        checked += 1
        if not found:
            missing.append(f"{current}: no function {name}")
    print(f"life of a message: {checked} hops checked")
    if missing:
        for m in missing:
            print("FAIL:", m)
        sys.exit(1)
    if checked < 30:
        print("FAIL: fewer hops than the section names; is the parser broken?")
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
