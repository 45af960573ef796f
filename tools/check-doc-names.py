#!/usr/bin/env python3
"""tools/check-doc-names.py - the names the docs give to boot options,
counters, trace events and tlb_inject= values are the code's (run by
tools/run-tests.py, i.e. `make test`).

A student types what README.md and docs/ show: a boot option that was
renamed, a counter that no longer exists or a fault that cannot be injected
costs them an hour.  And a name the code gained but its reference list did
not is a mechanism nobody can find.  Two kinds of test:

  - one per Markdown file (README.md, docs/*.md): every name it shows in
    `backticks` exists in the code:
      * a boot option, `name=...` (also inside a longer span such as
        `CMDLINE="lazy_mm=shootdown pcid=off"`): registered with
        CMDLINE_BOOL/UINT/ENUM/STRING (kernel/include/kernel/boot_options.h);
      * a `tlb_inject=VALUE` or an `inject-VALUE` runner row: a value of
        tlb_inject_choices[] (kernel/debug/tlb_inject.c);
      * a counter, `group.name` for a group some DEFINE_COUNTER uses
        (kernel/include/kernel/debug/counters.h), including the short forms
        of the tables: `tlb.asid_hit` / `asid_miss` and
        `tlb.invpcid_addr` / `_single`;
      * a trace event in the event table of docs/tlb.md: a name of
        event_names[] (kernel/debug/tlb_trace.c);
  - one per reference list, which must be complete:
      * README.md's "Boot options" table lists every registered option;
      * docs/tlb.md's fault-injection table lists every tlb_inject= value
        but `none`;
      * docs/tlb.md's trace event table lists every trace event;
      * every counter appears in the counter table of some doc.

Not checked, on purpose: `name=` spans that are not boot options
(NOT_OPTIONS below says what each is), and file names such as `tlb.md` or
`mm.c` (a group followed by a file ending).

Usage: tools/check-doc-names.py   (no arguments; prints one line per
problem and `doc-names: N passed, N failed` last).
"""

import glob
import os
import re
import sys

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# `x=` spans in the docs that are not boot options.
NOT_OPTIONS = {
    "tsc_per_op": "a field of the benchmark's output lines (tests/test_tlb_bench.c)",
}
FILE_ENDINGS = {"c", "h", "md", "py", "asm", "inc", "pml", "ld", "sh", "mk", "gdb", "log", "txt", "elf", "iso"}


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def sources():
    for top in ("kernel", "arch", "lib", "tests"):
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            if os.sep + "host" in dirpath:
                continue
            for n in names:
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), ROOT)


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def code_names():
    """The names the code registers: options, counters (group -> names),
    trace events, tlb_inject values."""
    options, counters = set(), {}
    for rel in sources():
        # Without comments and #define lines (the macros' own parameters).
        text = re.sub(r"(?m)^\s*#\s*define\b.*(\\\n.*)*", " ", strip_c_comments(read(rel)))
        for m in re.finditer(r"\bCMDLINE_(?:BOOL|UINT|ENUM|STRING)\(\s*(\w+)\s*,", text):
            options.add(m.group(1))
        for m in re.finditer(r"\bDEFINE_COUNTER\(\s*(\w+)\s*,\s*(\w+)\s*,", text):
            counters.setdefault(m.group(1), set()).add(m.group(2))
    trace = read("kernel/debug/tlb_trace.c")
    m = re.search(r"event_names\[[^]]*\]\s*=\s*\{(.*?)\};", trace, re.S)
    if not m:
        sys.exit("check-doc-names: cannot find event_names[] in kernel/debug/tlb_trace.c")
    events = set(re.findall(r'=\s*"(\w+)"', m.group(1)))
    inject = read("kernel/debug/tlb_inject.c")
    m = re.search(r"tlb_inject_choices\[\]\s*=\s*\{(.*?)\};", inject, re.S)
    if not m:
        sys.exit("check-doc-names: cannot find tlb_inject_choices[] in kernel/debug/tlb_inject.c")
    injects = set(re.findall(r'"(\w+)"', m.group(1)))
    if not options or not counters or not events or not injects:
        sys.exit("check-doc-names: found no options, counters, events or inject values in the code")
    return options, counters, events, injects


def spans(text):
    """(line number, content) of every `backtick span`."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in re.finditer(r"`([^`]+)`", line):
            yield lineno, m.group(1)


def table(text, header):
    """The rows (lists of cells) of the Markdown table whose header row
    starts with the cells of `header`."""
    rows, inside = [], False
    for lineno, line in enumerate(text.splitlines(), 1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            if inside:
                break
            continue
        if not inside:
            if [c.lower() for c in cells[:len(header)]] == header:
                inside = True
            continue
        if set(line.replace("|", "").strip()) <= set("-: "):
            continue
        rows.append((lineno, cells))
    return rows


def first_cell_names(cell):
    return re.findall(r"`([^`]+)`", cell)


def counter_names(cell):
    """`tlb.asid_hit` / `asid_miss` / `_single`: the (group, name) pairs of
    one table cell."""
    out, group, first = [], None, None
    for tok in first_cell_names(cell):
        if "." in tok:
            group, first = tok.split(".", 1)
            out.append((group, first))
        elif group and tok.startswith("_"):
            out.append((group, first.rsplit("_", 1)[0] + tok))
        elif group:
            out.append((group, tok))
    return out


def check_doc(rel, text, options, counters, events, injects):
    problems = []
    for lineno, span in spans(text):
        span = span.replace("\\|", "|")     # a | escaped inside a table cell
        for m in re.finditer(r'(?:^|[\s"(])([a-z][a-z0-9_]*)=([A-Za-z0-9_|]*)', span):
            name, value = m.group(1), m.group(2)
            if name in NOT_OPTIONS:
                continue
            if name not in options:
                problems.append("%s:%d: boot option %s= is registered nowhere (CMDLINE_*)" % (rel, lineno, name))
            elif name == "tlb_inject" and value and value.islower():
                for v in value.split("|"):
                    if v and v not in injects:
                        problems.append("%s:%d: tlb_inject=%s is not a value of tlb_inject_choices[]" % (rel, lineno, v))
        m = re.fullmatch(r"inject-([a-z0-9_]+)", span)
        if m and m.group(1) not in injects:
            problems.append("%s:%d: runner row %s injects no tlb_inject= value" % (rel, lineno, span))
        m = re.fullmatch(r"([a-z]+)\.([a-z0-9_]+)", span)
        if m and m.group(1) in counters and m.group(2) not in FILE_ENDINGS and m.group(2) not in counters[m.group(1)]:
            problems.append("%s:%d: counter %s is defined nowhere (DEFINE_COUNTER)" % (rel, lineno, span))
    for header in (["counter"], ["counters"]):
        for lineno, cells in table(text, header):
            for group, name in counter_names(cells[0]):
                if name not in counters.get(group, ()):
                    problems.append("%s:%d: counter %s.%s is defined nowhere (DEFINE_COUNTER)" % (rel, lineno, group, name))
    if rel == "docs/tlb.md":
        for lineno, cells in table(text, ["event", "arguments"]):
            for name in first_cell_names(cells[0]):
                if name not in events:
                    problems.append("%s:%d: trace event %s is not in event_names[] (kernel/debug/tlb_trace.c)" % (rel, lineno, name))
        for lineno, cells in table(text, ["value", "where"]):
            for name in first_cell_names(cells[0]):
                if name not in injects:
                    problems.append("%s:%d: tlb_inject=%s is not a value of tlb_inject_choices[]" % (rel, lineno, name))
    return list(dict.fromkeys(problems))    # a name both in a span and a table: once


def listed(text, header, names_of=first_cell_names):
    out = set()
    for _, cells in table(text, header):
        out.update(names_of(cells[0]))
    return out


def check_lists(docs, options, counters, events, injects):
    """(test name, problems) of each reference list."""
    readme, tlb = docs["README.md"], docs["docs/tlb.md"]
    tests = []
    rows = listed(readme, ["option"])
    shown = {n.split("=", 1)[0] for n in rows}
    tests.append(("README.md \"Boot options\" lists every boot option",
                  ["README.md: boot option %s= is missing from the \"Boot options\" table" % o
                   for o in sorted(options - shown)] +
                  ["README.md: the \"Boot options\" table lists %s=, which is registered nowhere" % o
                   for o in sorted(shown - options)] +
                  ([] if rows else ["README.md: no table with the header | option | ..."])))
    shown = listed(tlb, ["event", "arguments"])
    tests.append(("docs/tlb.md lists every trace event",
                  ["docs/tlb.md: trace event %s is missing from the event table" % e for e in sorted(events - shown)]))
    shown = listed(tlb, ["value", "where"])
    tests.append(("docs/tlb.md lists every tlb_inject= value",
                  ["docs/tlb.md: tlb_inject=%s is missing from the fault-injection table" % v
                   for v in sorted(injects - shown - {"none"})]))
    shown = set()
    for text in docs.values():
        for header in (["counter"], ["counters"]):
            for _, cells in table(text, header):
                shown.update(counter_names(cells[0]))
    tests.append(("every counter is in a counter table of the docs",
                  ["docs: counter %s.%s is in no counter table (| counter | ... |)" % gn
                   for gn in sorted((g, n) for g in counters for n in counters[g]) if gn not in shown]))
    return tests


def main(argv):
    if len(argv) > 1:
        sys.exit("usage: tools/check-doc-names.py (no arguments)")
    options, counters, events, injects = code_names()
    rels = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    docs = {rel: read(rel) for rel in rels}
    tests = [("names in %s exist" % rel, check_doc(rel, docs[rel], options, counters, events, injects)) for rel in rels]
    tests += check_lists(docs, options, counters, events, injects)
    failed = 0
    for name, problems in tests:
        for p in problems:
            print(p)
        failed += bool(problems)
    print("check-doc-names: %d options, %d counters, %d trace events, %d tlb_inject values; %d docs read"
          % (len(options), sum(map(len, counters.values())), len(events), len(injects), len(rels)))
    print("doc-names: %d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
