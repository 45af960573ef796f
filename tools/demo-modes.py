#!/usr/bin/env python3
"""tools/demo-modes.py - `make demo-modes`: the TLB scene of the boot demo
(kernel/demo/tlb_scene.c, docs/demo.md) once per lazy-mm mode, side by side.

Boots `demo=tlb lazy_mm=MODE` for each mode of the kernel (refcount, shootdown, hazard, mmput: QEMU
TCG, --smp CPUs, default 4), waits for the demo's last line, stops QEMU, and
prints one table: a row per event counter the scene printed in any mode
(those of the groups tlb and switch that it moved, every lazy and mm
counter), a column per mode.  The scene is the
same in every mode; what differs is how a borrowed mm is kept alive and
freed (docs/lazy-mm.md): refcount pays mm_count atomics on every borrow,
shootdown IPIs the mm's CPUs when it is freed, hazard scans per-CPU slots
and IPIs only the CPUs whose slot names it, mmput ends the borrows in the
teardown's flush and pays nothing more.

Each boot's serial log is kept in build/demo-modes/MODE.log; a boot that
does not reach the demo's end within the timeout is an error (exit 1).

Python 3 standard library only.
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in tools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402



def kernel_modes():
    """The lazy-mm modes, in the kernel's order: the names of lazy_mm_choices[]
    in kernel/mm/lazy_mm.c, so that a mode added there shows up in the table
    without a change here (tools/bench.py reads them the same way)."""
    src = os.path.join(vmlib.ROOT, "kernel", "mm", "lazy_mm.c")
    with open(src) as f:
        m = re.search(r"lazy_mm_choices\[\]\s*=\s*\{([^}]*)\}", f.read())
    names = tuple(re.findall(r'"([a-z_0-9]+)"', m.group(1))) if m else ()
    if not names:
        sys.exit("demo-modes: no lazy_mm_choices[] in kernel/mm/lazy_mm.c: cannot tell the lazy-mm modes")
    return names


MODES = kernel_modes()
OUT = os.path.join(vmlib.BUILD, "demo-modes")
# The scene's counter lines (kernel/demo/tlb_scene.c, print_counters):
#   "tlb:   lazy.borrow_start            15  borrows of a user mm started ..."
COUNTER = re.compile(r"tlb:\s+(\w+\.\w+)\s+(\d+)\s+(.*)$")
DONE = "demo: done."


def boot(mode, smp, timeout):
    """Boot the scene in `mode`; return (counters {name: (value, help)}, log path)."""
    os.makedirs(OUT, exist_ok=True)
    iso = vmlib.build_iso(os.path.join(OUT, mode + ".iso"), "demo=tlb lazy_mm=%s" % mode)
    log = os.path.join(OUT, mode + ".log")
    if os.path.exists(log):
        os.unlink(log)
    argv = vmlib.qemu_argv(iso, smp=smp, serial=log)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    text = ""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    text = f.read()
                if DONE in text or "KERNEL PANIC" in text:
                    break
    finally:
        vmlib.stop(proc)
    if DONE not in text:
        sys.exit("demo-modes: lazy_mm=%s: the demo did not end within %d s (see %s)"
                 % (mode, timeout, os.path.relpath(log, vmlib.ROOT)))
    if "lazy_mm: mode %s" % mode not in text:
        sys.exit("demo-modes: the kernel did not take lazy_mm=%s (see %s)" % (mode, log))
    counters = {}
    for line in text.splitlines():
        m = COUNTER.search(line)
        if m:
            counters[m.group(1)] = (int(m.group(2)), m.group(3).strip())
    if not counters:
        sys.exit("demo-modes: lazy_mm=%s: no counters in %s" % (mode, log))
    return counters, log


def main():
    ap = argparse.ArgumentParser(description="The TLB scene once per lazy-mm mode, counters side by side.")
    ap.add_argument("--smp", type=int, default=4)
    ap.add_argument("--timeout", type=int, default=120, help="seconds per boot")
    args = ap.parse_args()
    results = {}
    for mode in MODES:
        print("demo-modes: booting demo=tlb lazy_mm=%s with %d CPUs ..." % (mode, args.smp), flush=True)
        results[mode], _ = boot(mode, args.smp, args.timeout)
    names = []
    for mode in MODES:
        for name in results[mode]:
            if name not in names:
                names.append(name)
    helps = {}
    for mode in MODES:
        for name, (_, h) in results[mode].items():
            helps.setdefault(name, h)
    width = max(len(n) for n in names)
    print()
    print("The TLB scene's event counters per lazy_mm mode (%d CPUs; logs in %s/):"
          % (args.smp, os.path.relpath(OUT, vmlib.ROOT)))
    cols = "".join("  %9s" for _ in MODES)
    print(("%-*s" + cols + "  %s") % (width, "counter", *MODES, "what it counts"))
    for name in names:
        vals = [results[m].get(name, (0, ""))[0] for m in MODES]
        print(("%-*s" + cols.replace("s", "d") + "  %s") % (width, name, *vals, helps[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
