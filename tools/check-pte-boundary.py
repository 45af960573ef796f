#!/usr/bin/env python3
"""tools/check-pte-boundary.py - generic code changes page tables only
through arch/ (run by tools/run-tests.py, i.e. `make test`).

Every store to a page-table entry of a user address space goes through the
functions of arch/x86_64/include/arch/pte.h, and each of them reports the
change to the shadow-TLB checker itself (docs/memory.md, "The PTE-update
interface").  A store made anywhere else would not be checked: the checker
would not know the change exists and could not tell a missing flush.  So
this check fails when a C file under kernel/ (comments and strings ignored):

  - holds a pointer to an entry (`pte_t *`), or stores into a table by index
    (`pml4[i] = ...`, `pd[k] = ...`) or through a pointer (`*pte = ...`);
  - names an entry bit (`PTE_W`, `PTE_ADDR`, ...): rights are SD_PROT_*,
    frames come from arch_pte_frame();
  - calls the raw page-table API that reports nothing (paging_map,
    paging_unmap, paging_protect, paging_walk);
  - calls a page-table hook of the checker itself (tlbcheck_pte_change,
    tlbcheck_tables_unlinked, tlbcheck_tables_free, tlbcheck_mm_create,
    tlbcheck_mm_free): the arch functions make those calls, so a hand-made
    one means a hand-made store next to it.

The few checker hooks that report scheduler and allocator events, not
page-table stores, each have ONE sanctioned call site in kernel/ (ALLOWED_HOOKS
below: a CPU's borrowed mm, the mm lock's release, a frame's release, the
checker's set-up).  Any other tlbcheck_ call in kernel/ fails the check too,
so a new hook call cannot appear in generic code unnoticed.

The protocols reach the checker through the event functions of
kernel/debug/tlb_events.h (one call per event site feeds counters, trace and
checker).  An event function whose body calls a tlbcheck_ hook IS a checker
hook for this check: the list of them is read from that header (so a new
one is covered without editing this file), and each has its sanctioned call
sites in kernel/ in ALLOWED_HOOKS like the hooks themselves.  The header may
call hooks only from inside such functions.

Usage: tools/check-pte-boundary.py [DIR...]   (default: kernel)
Prints one line per violation, then `pte-boundary: N passed, N failed`
(one file one test); exit status 1 if any file failed.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RULES = [
    (re.compile(r"\bpte_t\s*\*"), "a pointer to a page-table entry (use arch_pte_get and the arch_pte_* changes)"),
    (re.compile(r"\b(pml4|pdpt|pd|pt|pte|table)\s*\[[^\]]*\]\s*=(?!=)"), "a store into a page table by index"),
    (re.compile(r"\*\s*\(?\s*pte\w*\s*\)?\s*=(?!=)"), "a store through a page-table entry pointer"),
    (re.compile(r"\bWRITE_ONCE\s*\(\s*\*?\s*\(?\s*(pte|pml4|pdpt|pd|pt)\b"), "a store to a page-table entry"),
    (re.compile(r"\bPTE_[A-Z0-9_]+\b"), "a page-table entry bit (rights are SD_PROT_*, frames arch_pte_frame())"),
    (re.compile(r"\bpaging_(map|unmap|protect|walk)\s*\("), "the raw page-table API, which tells the checker nothing"),
    # (a declaration - a return type before the name - is not a call)
    (re.compile(r"(?<!void )\btlbcheck_(pte_change|tables_unlinked|tables_free|mm_create|mm_free)\s*\("),
     "a page-table hook of the checker, called by hand (the arch PTE functions call it)"),
]

PAGE_TABLE_HOOK = re.compile(r"tlbcheck_(pte_change|tables_unlinked|tables_free|mm_create|mm_free)$")
# (file relative to the repository, hook): the only checker calls kernel/ may make.
ALLOWED_HOOKS = {
    ("kernel/mm/lazy_mm.c", "tlb_ev_borrow_protected"),     # tlbcheck_borrow(mm)
    ("kernel/mm/lazy_mm.c", "tlb_ev_borrow_releasing"),     # tlbcheck_borrow(NULL)
    ("kernel/mm/mm_internal.h", "tlbcheck_mm_unlock"),
    ("kernel/mm/mm_internal.h", "tlbcheck_mm_read_unlock"),
    ("kernel/mm/page_alloc.c", "tlbcheck_frame_free"),      # page_free of a block
    ("kernel/mm/frame_cache.c", "tlbcheck_frame_free"),     # page_free of a single frame
    ("kernel/boot/main.c", "tlbcheck_init"),
}
# Calls only: a declaration has a type before the name, and the header that
# declares the hooks (and tlbcheck_on(), the inline test) is not a caller.
# ("return f(...)" is a call all the same.)
ANY_HOOK = re.compile(r"(?:(?<=\breturn )|(?<![\w*] ))(?<!\*)\b(tlbcheck_(?!on\b)\w+)\s*\(")
EVENT_CALL = re.compile(r"(?:(?<=\breturn )|(?<![\w*] ))(?<!\*)\b(tlb_ev_\w+)\s*\(")
HOOK_HEADER = "kernel/include/kernel/debug/tlbcheck.h"
EVENTS_HEADER = "kernel/include/kernel/debug/tlb_events.h"
# A function definition in the header (every one there is static inline).
FUNC_DEF = re.compile(r"^static inline [\w\s*]*?\b(\w+)\s*\(", re.M)


def checker_events():
    """The event functions of EVENTS_HEADER whose body calls a checker hook
    (comments and strings ignored): each function runs from its name to
    the next definition."""
    path = os.path.join(ROOT, EVENTS_HEADER)
    if not os.path.exists(path):
        sys.exit("check-pte-boundary: no %s" % EVENTS_HEADER)
    with open(path, encoding="utf-8") as f:
        text = strip_comments_and_strings(f.read())
    defs = list(FUNC_DEF.finditer(text))
    if not any(m.group(1).startswith("tlb_ev_") for m in defs):
        sys.exit("check-pte-boundary: %s defines no tlb_ev_ function" % EVENTS_HEADER)
    events = set()
    for i, m in enumerate(defs):
        body = text[m.end():defs[i + 1].start() if i + 1 < len(defs) else len(text)]
        if m.group(1).startswith("tlb_ev_") and ANY_HOOK.search(body):
            events.add(m.group(1))
    return events


def strip_comments_and_strings(text):
    """Blanks out comments, string and character literals, keeping every
    newline so that line numbers stay right."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_file(path, events):
    """events: the checker events of EVENTS_HEADER (checker_events())."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip_comments_and_strings(f.read())
    rel = os.path.relpath(path, ROOT)
    problems = []
    in_event = None             # in EVENTS_HEADER: the function we are in
    for lineno, line in enumerate(text.split("\n"), 1):
        for rx, why in RULES:
            m = rx.search(line)
            if m:
                problems.append("%s:%d: %s: '%s'" % (rel, lineno, why, m.group(0).strip()))
        if rel == HOOK_HEADER:
            continue
        if rel == EVENTS_HEADER:
            d = FUNC_DEF.search(line)
            if d:
                in_event = d.group(1) if d.group(1).startswith("tlb_ev_") else None
            if in_event is None:
                for m in ANY_HOOK.finditer(line):
                    problems.append("%s:%d: a checker hook called outside the event functions: '%s'"
                                    % (rel, lineno, m.group(1)))
            continue
        for m in ANY_HOOK.finditer(line):
            if (rel, m.group(1)) not in ALLOWED_HOOKS and not PAGE_TABLE_HOOK.match(m.group(1)):
                problems.append("%s:%d: a checker hook called from generic code outside its one "
                                "sanctioned site (tools/check-pte-boundary.py, ALLOWED_HOOKS): '%s'"
                                % (rel, lineno, m.group(1)))
        for m in EVENT_CALL.finditer(line):
            if m.group(1) in events and (rel, m.group(1)) not in ALLOWED_HOOKS:
                problems.append("%s:%d: an event that reaches the checker, called outside its "
                                "sanctioned sites (tools/check-pte-boundary.py, ALLOWED_HOOKS): '%s'"
                                % (rel, lineno, m.group(1)))
    return problems


def main(argv):
    dirs = argv[1:] or ["kernel"]
    files = []
    for d in dirs:
        d = os.path.join(ROOT, d) if not os.path.isabs(d) else d
        if not os.path.isdir(d):
            sys.exit("check-pte-boundary: no directory %s" % d)
        for dirpath, _, names in os.walk(d):
            files += [os.path.join(dirpath, name) for name in names if name.endswith((".c", ".h"))]
    failed = 0
    events = checker_events()
    for path in sorted(files):
        problems = check_file(path, events)
        for p in problems:
            print(p)
        failed += bool(problems)
    print("pte-boundary: %d passed, %d failed" % (len(files) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
