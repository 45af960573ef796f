#!/usr/bin/env python3
"""tools/compdb.py --cc CC --cflags "FLAGS" FILE.c... > compile_commands.json

Writes the compilation database editors (clangd, ccls) read, from the same
compiler and flags the Makefile uses, without building anything.
Python 3 standard library only.
"""

import argparse
import json
import os
import shlex
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cflags", required=True)
    ap.add_argument("sources", nargs="*")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    flags = shlex.split(args.cflags)
    entries = []
    for src in args.sources:
        obj = os.path.join("build", os.path.splitext(src)[0] + ".o")
        entries.append({
            "directory": root,
            "file": os.path.join(root, src),
            "arguments": shlex.split(args.cc) + flags + ["-c", src, "-o", obj],
            "output": obj,
        })
    json.dump(entries, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
