#!/usr/bin/env python3
"""tools/check-doc-names.py - the names the docs give to boot options,
counters, trace events and tlb_inject= values are the code's (run by
tools/run-tests.py, i.e. `make test`).

A student types what README.md, docs/ and the labs' pages show: a boot option that was
renamed, a counter that no longer exists or a fault that cannot be injected
costs them an hour.  And a name the code gained but its reference list did
not is a mechanism nobody can find.  Two kinds of test:

  - one per Markdown file (README.md, docs/*.md, labs/*.md, labs/*/*.md): every name it shows in
    `backticks` exists in the code:
      * a boot option, `name=...` (also inside a longer span such as
        `CMDLINE="lazy_mm=shootdown pcid=off"`): registered with
        CMDLINE_BOOL/UINT/ENUM/STRING/LIST/REST (kernel/include/kernel/boot_options.h);
        and its value, when one is shown in lower case: one of the choices
        of a CMDLINE_ENUM (`lazy_mm=hazard`, `spinlock=auto|ticket|tas`),
        choices of a CMDLINE_LIST (or all, on, off, none), a word a
        CMDLINE_BOOL takes (`pcid=off`);
      * a `tlb_inject=VALUE` or an `inject-VALUE` runner row: a value of
        tlb_inject_choices[] (kernel/debug/tlb_inject.c);
      * a counter, `group.name` for a group some DEFINE_COUNTER uses
        (kernel/include/kernel/debug/counters.h), including the short forms
        of the tables: `tlb.asid_hit` / `asid_miss` and
        `tlb.invpcid_addr` / `_single`;
      * a trace event in the event table of docs/tlb.md: a name of
        event_names[] (kernel/debug/tlb_trace.c);
  - one per reference list, which must be complete:
      * README.md's "Boot options" table lists every registered option,
        with its values: an ENUM's row lists exactly its choices (when its
        values cell is only `a|b|c`), a UINT's range `lo..hi` is the code's;
      * docs/tlb.md's fault-injection table, and README.md's inject-<fault>
        configuration rows, list every tlb_inject= value but `none`;
      * docs/tlb.md's trace event table lists every trace event;
      * README.md's table of configurations (| Name | Machine |) names every
        configuration of `tools/run-tests.py --list` and no other
        (`inject-<fault>` stands for every inject-* row);
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
import subprocess
import sys

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KINDS = {}     # option -> (kind, what it takes), filled by code_names()

# `x=` spans in the docs that are not boot options.
NOT_OPTIONS = {
    "tsc_per_op": "a field of the benchmark's output lines (tests/test_tlb_bench.c)",
    "k": "a field of user/bench.c's BENCH lines: other threads of the process",
    "pages": "a field of user/bench.c's BENCH lines: pages unmapped",
    "state": "a field of user/bench.c's BENCH lines: busy or idle other threads",
    "cause": "a field of the trace's flush lines (kernel/debug/tlb_trace.c)",
    "lazy": "a field of the trace's ipi_send lines: the CPUs skipped as lazy",
    "not_running": "a field of the trace's ipi_send lines: the CPUs skipped as not running the mm",
    "offline": "a field of the trace's ipi_send lines: the CPUs skipped as offline",
    "user": "a field of the trace's kernel_flush lines: the CPUs deferred in user mode",
    "idle": "a field of the trace's kernel_flush lines: the CPUs deferred while idle",
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


BOOL_WORDS = {"on", "off", "yes", "no", "true", "false", "1", "0"}


def string_array(text, name):
    """The strings of `... name[] = { "a", "b", NULL };` in a C file."""
    m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\};" % re.escape(name), text, re.S)
    return set(re.findall(r'"([^"]*)"', m.group(1))) if m else None


def code_names():
    """The names the code registers: options, counters (group -> names),
    trace events, tlb_inject values; and, in KINDS, each option's kind and
    what it takes (ENUM: the choices; UINT: (lo, hi) when both are numbers)."""
    options, counters = set(), {}
    for rel in sources():
        # Without comments and #define lines (the macros' own parameters).
        text = re.sub(r"(?m)^\s*#\s*define\b.*(\\\n.*)*", " ", strip_c_comments(read(rel)))
        for m in re.finditer(r"\bCMDLINE_(BOOL|UINT|ENUM|STRING|LIST|REST)\(\s*(\w+)\s*,([^;]*)", text):
            kind, name, rest = m.group(1), m.group(2), m.group(3)
            options.add(name)
            args = [a.strip() for a in rest.split(",")]
            if kind in ("ENUM", "LIST"):
                choices = string_array(text, args[1])
                if choices is None:
                    sys.exit("check-doc-names: %s: cannot find the choices %s[] of %s=" % (rel, args[1], name))
                KINDS[name] = (kind, choices)
            elif kind == "UINT" and args[1].isdigit() and args[2].isdigit():
                KINDS[name] = ("UINT", (int(args[1]), int(args[2])))
            else:
                KINDS[name] = (kind, None)
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
        # Cells split at the pipes that are not escaped (`a\|b` is one cell).
        cells = ([c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
                 if line.startswith("|") else None)
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
        for m in re.finditer(r'(?:^|[\s"(])([a-z][a-z0-9_]*)=([A-Za-z0-9_|,]*)', span):
            name, value = m.group(1), m.group(2)
            if name in NOT_OPTIONS:
                continue
            if name not in options:
                problems.append("%s:%d: boot option %s= is registered nowhere (CMDLINE_*)" % (rel, lineno, name))
                continue
            kind, takes = KINDS.get(name, (None, None))
            values = [v for v in re.split(r"[|,]", value) if v] if value and value == value.lower() else []
            if kind == "ENUM" and name != "tlb_inject":
                for v in values:
                    if v not in takes:
                        problems.append("%s:%d: %s=%s is not one of its choices (%s)"
                                        % (rel, lineno, name, v, "|".join(sorted(takes - {""}))))
            elif kind == "LIST":
                for v in values:
                    if v not in takes | {"all", "on", "off", "none"}:
                        problems.append("%s:%d: %s=%s is not one of its choices (%s; all, off)"
                                        % (rel, lineno, name, v, ",".join(sorted(takes - {""}))))
            elif kind == "BOOL":
                for v in values:
                    if v not in BOOL_WORDS:
                        problems.append("%s:%d: %s=%s: a boolean option takes on|off (yes|no, true|false, 1|0)"
                                        % (rel, lineno, name, v))
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
    values = []
    for lineno, cells in table(readme, ["option"]):
        names = first_cell_names(cells[0])
        if not names or len(cells) < 2:
            continue
        name, cell = names[0].split("=", 1)[0], cells[1].replace("\\|", "|")
        kind, takes = KINDS.get(name, (None, None))
        only = re.fullmatch(r"`([a-z0-9_|]+)`", cell.strip())
        if kind == "ENUM" and only:
            listed_values = set(only.group(1).split("|"))
            for v in sorted(takes - listed_values - {""}):
                values.append("README.md:%d: %s=%s is missing from the option's values" % (lineno, name, v))
            for v in sorted(listed_values - takes):
                values.append("README.md:%d: %s=%s is listed but is not a choice in the code" % (lineno, name, v))
        m = re.search(r"\b(\d+)\.\.(\d+)\b", cell)
        if kind == "UINT" and takes and m and (int(m.group(1)), int(m.group(2))) != takes:
            values.append("README.md:%d: %s= takes %d..%d in the code, not %s..%s"
                          % (lineno, name, takes[0], takes[1], m.group(1), m.group(2)))
    tests.append(("README.md \"Boot options\" shows each option's values as the code takes them", values))
    tests.append(("README.md \"Boot options\" lists every boot option",
                  ["README.md: boot option %s= is missing from the \"Boot options\" table" % o
                   for o in sorted(options - shown)] +
                  ["README.md: the \"Boot options\" table lists %s=, which is registered nowhere" % o
                   for o in sorted(shown - options)] +
                  ([] if rows else ["README.md: no table with the header | option | ..."])))
    shown = set()
    for _, span in spans(readme):
        m = re.search(r"\btlb_inject=([a-z0-9_\\|]+)", span)
        if m:
            shown.update(v for v in m.group(1).replace("\\", "").split("|") if v)
    tests.append(("README.md's inject-<fault> rows name every tlb_inject= value",
                  ["README.md: tlb_inject=%s is missing from the inject-<fault> rows of the configuration table" % v
                   for v in sorted(injects - shown - {"none"})]))
    rows = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "run-tests.py"), "--list"],
                          capture_output=True, text=True, cwd=ROOT)
    configs = {line.split()[0] for line in rows.stdout.splitlines() if line[:1].strip()}
    if rows.returncode or not configs:
        sys.exit("check-doc-names: tools/run-tests.py --list failed: %s" % rows.stderr.strip())
    shown = set()
    for name in listed(readme, ["name", "machine"]):
        if name == "inject-<fault>":
            shown.update(c for c in configs if c.startswith("inject-"))
        elif re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            shown.add(name)
    tests.append(("README.md's table of configurations names every runner row",
                  ["README.md: configuration %s (tools/run-tests.py) is missing from the table of configurations" % c
                   for c in sorted(configs - shown)] +
                  ["README.md: the table of configurations names %s, which tools/run-tests.py does not have" % c
                   for c in sorted(shown - configs)]))
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
    # The labs' pages: a student types what a handout shows, too.
    rels += sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "labs", "*.md"))
                   + glob.glob(os.path.join(ROOT, "labs", "*", "*.md")))
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
