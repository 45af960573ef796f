#!/usr/bin/env python3
"""tools/check-arch-boundary.py - generic code reaches the machine only through
the arch interface (run by `make`, and by tools/run-tests.py, i.e. `make test`).

The architecture's headers come in two kinds (docs/arch.md):

  - the interface, arch/x86_64/include/arch/*.h (<arch/cpu.h>, <arch/smp.h>,
    <arch/task.h>, ...): headers that name operations generic code may ask
    for (arch_irq_save, arch_send_ipi, arch_task_init_stack, ...);
  - the private x86 headers, arch/x86_64/include/arch/x86/*.h
    (<arch/x86/x86.h>: MSRs, control registers, port I/O; <arch/x86/apic.h>,
    <arch/x86/gdt.h>, <arch/x86/pic.h>, <arch/x86/tlbstate.h>, ...), which
    only arch/x86_64/ itself may include.

This check fails when:

  1. a file under kernel/ or lib/ includes a private header (<arch/x86/...>,
     or any path into arch/x86_64/ other than the interface);
  2. an interface header includes a private one: every generic file that
     includes the interface would get the private names with it, unseen;
  3. a file under tests/ includes a private header and is not in
     TESTS_OF_X86 below - the tests that check x86 mechanics themselves, each
     with the reason it needs the private header;
  4. an entry of TESTS_OF_X86 no longer includes a private header (or is
     gone): the list says exactly who may, nothing stale;
  5. a file under kernel/, lib/ or arch/ includes a header from tests/ (by a
     relative path such as "../tests/ktest_suite.h"; the build has no -Itests).
     The kernel reaches its tests through one seam, <kernel/ktest.h>, which
     tests/ktest.c implements.

Comments are ignored (an include in a comment includes nothing).

Usage: tools/check-arch-boundary.py
Prints one line per violation, then `arch-boundary: N passed, N failed`
(one file one test); exit status 1 if any file failed.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTERFACE_DIR = "arch/x86_64/include/arch"
PRIVATE_DIR = "arch/x86_64/include/arch/x86"

# The tests that test x86 mechanics and so may include private headers:
# file -> why.  Every other test sees only the interface.
TESTS_OF_X86 = {
    "tests/test_cpufeatures.c": "CPUID, CR0/CR4/EFER and RFLAGS.AC: checks the features the kernel turned on",
    "tests/test_exceptions.c": "the GDT's IST stacks and CR0.WP/EFER.NXE/CR4.SMEP: x86 exceptions and their stacks",
    "tests/test_kflush_defer.c": "the per-CPU user/kernel/idle state of x86 entry and exit (arch/x86/kctx.h): deferred kernel flushes",
    "tests/test_paging.c": "CR3, the LAPIC's MMIO mapping and CPUID's NX/PGE/1G pages: x86 page tables",
    "tests/test_kernel_wx.c": "CPUID's NX and PGE: which x86 PTE bits the kernel mappings must carry",
    "tests/test_uentry.c": "SMAP (smap_enabled): ring-3 entry and user access under x86 SMAP",
    "tests/mm_test_util.h": "SMAP's stac/clac: read_user_u64 reads user memory without the fault table",
    "tests/test_smp.c": "each CPU's APIC id (lapic_id) against the dense-id table, and the xAPIC/x2APIC mode",
    "tests/test_timer.c": "the LAPIC timer's calibration (lapic_timer_khz)",
    "tests/test_tlb_counters.c": "the per-CPU TLB state (tlbstate_shared()->is_lazy) the counters describe",
    "tests/test_lab_shootdown.c": "the per-CPU TLB state (tlbstate_shared()->is_lazy) the flusher's step F2 reads",
    "tests/lab_test_util.h": "the per-CPU TLB state (tlbstate_shared()->is_lazy): the labs' helpers check a CPU went lazy",
    "tests/test_tlb_pcid.c": "CPUID's PCID/INVPCID, CR4.PCIDE and the per-CPU ASID slots: x86 PCID",
    "tests/test_tlbcheck.c": "CR4.PCIDE: the PCID-reuse scenario exists only with PCID on",
    "tests/test_tlbcheck_machine.c": "CR4.PCIDE and the per-CPU TLB state: the checker's model of the x86 TLB",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def strip_comments(text):
    """Blanks out /* */ and // comments, keeping line breaks (line numbers)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)


def includes(path):
    """(line, included name) of each #include in a file, comments ignored."""
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    out = []
    for m in INCLUDE.finditer(text):
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return out


def is_private(name):
    """Does `#include name` in file `path` reach a private x86 header?"""
    if name.startswith("arch/x86/"):
        return True
    if "arch/x86_64/" in name:
        # A path into the tree (relative, or through -I.): only the interface
        # directory itself is allowed.
        target = name[name.index("arch/x86_64/"):]
        return os.path.dirname(os.path.normpath(target)) != INTERFACE_DIR
    return False


def reaches_tests(path, name):
    """Does `#include name` in file `path` reach a file under tests/?"""
    # Where the compiler looks: the including file's folder, then the
    # Makefile's -I folders (from each of which "../../tests/..." reaches tests/ too).
    for base in (os.path.dirname(path), "lib/include", "kernel/include", "arch/x86_64/include"):
        target = os.path.normpath(os.path.join(base, name))
        if target.startswith("tests" + os.sep) and os.path.exists(os.path.join(ROOT, target)):
            return True
    return False


def sources(top):
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
        dirnames[:] = sorted(d for d in dirnames if d != "host")
        for name in sorted(filenames):
            if name.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(dirpath, name), ROOT)


def main():
    passed = failed = 0
    checked = []
    for top in ("kernel", "lib", "tests"):
        checked += [(p, top) for p in sources(top)]
    checked += [(os.path.join(INTERFACE_DIR, n), "interface")
                for n in sorted(os.listdir(os.path.join(ROOT, INTERFACE_DIR)))
                if n.endswith(".h")]
    # The rest of arch/ is checked for rule 5 only.
    seen = set(p for p, _ in checked)
    checked += [(p, "arch") for p in sources("arch") if p not in seen]

    for path, kind in checked:
        bad = [(line, name) for line, name in includes(path) if is_private(name)]
        problems = []
        if kind == "arch":
            pass                        # arch/ may include its own private headers
        elif kind in ("kernel", "lib"):
            problems = ["%s:%d: includes <%s>, a private x86 header: use the arch interface (%s/*.h)"
                        % (path, line, name, INTERFACE_DIR) for line, name in bad]
        elif kind == "interface":
            problems = ["%s:%d: the interface header includes <%s>, a private x86 header: "
                        "every generic file that includes it would see the private names"
                        % (path, line, name) for line, name in bad]
        elif path in TESTS_OF_X86:
            if not bad:
                problems = ["%s: listed in TESTS_OF_X86 but includes no private header: "
                            "drop it from the list" % path]
        else:
            problems = ["%s:%d: includes <%s>, a private x86 header: a test of generic code uses "
                        "the arch interface (or, if it tests x86 mechanics, add it to TESTS_OF_X86 "
                        "in tools/check-arch-boundary.py with the reason)" % (path, line, name)
                        for line, name in bad]
        if kind != "tests":
            problems += ["%s:%d: includes \"%s\", a file of tests/: kernel code reaches the tests "
                         "only through <kernel/ktest.h>" % (path, line, name)
                         for line, name in includes(path) if reaches_tests(path, name)]
        for p in problems:
            print(p)
        if problems:
            failed += 1
        else:
            passed += 1

    for path in sorted(TESTS_OF_X86):
        if not os.path.exists(os.path.join(ROOT, path)):
            print("%s: listed in TESTS_OF_X86 but does not exist" % path)
            failed += 1

    print("arch-boundary: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
