#!/usr/bin/env python3
"""tools/test-gdb.py - `make debug`'s gdb set-up, tested without a terminal
(`make test-gdb`).

Boots the demo in QEMU halted (-S) with a gdb stub, and runs gdb in batch
mode with tools/gdb/shootdown.gdb, as `make debug` does.  gdb stops twice:

  1. at kmain (a hardware breakpoint: paging is off at reset): `bt` must end
     at kmain_trampoline (boot/entry64.asm) within a few frames;
  2. at print_counters, after the demo's user programs ran on every CPU:
     `bt` must reach demo_main, `sd-tlbstate` must list every CPU with its
     loaded mm, running task and ASID slots, `sd-trace` every CPU's ring
     with events, and every ctx id and generation they print must be a
     small count (a wrong per-CPU offset reads pointers instead).

And in the whole session: no "not in symtab" warning (NASM's DWARF for a
file with sections at two addresses, docs/debugging.md), pagination on, the
backtrace limit 64.  Each check is one test; the last line is
`gdb: N passed, N failed`.  The transcript is kept in build/test-gdb.log.

Usage: tools/test-gdb.py [--smp N]     (Python 3 standard library only)
"""

import argparse
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402
from importlib import util  # noqa: E402

# The free port finder of make debug.
_spec = util.spec_from_file_location("run_qemu", os.path.join(vmlib.ROOT, "tools", "run-qemu.py"))
run_qemu = util.module_from_spec(_spec)
_spec.loader.exec_module(run_qemu)

SESSION = """\
show pagination
show backtrace limit
hbreak kmain
continue
echo == bt at kmain\\n
bt
delete
hbreak print_counters
continue
echo == bt after the demo\\n
bt
echo == sd-tlbstate\\n
sd-tlbstate
echo == sd-trace\\n
sd-trace 8
echo == end\\n
"""


def section(out, name):
    m = re.search(r"^== %s\n(.*?)(?=^== |\Z)" % re.escape(name), out, re.S | re.M)
    return m.group(1) if m else ""


def checks(out, smp):
    bt0, bt1 = section(out, "bt at kmain"), section(out, "bt after the demo")
    tlb, trace = section(out, "sd-tlbstate"), section(out, "sd-trace")
    frames0 = re.findall(r"^#(\d+) ", bt0, re.M)
    yield "no 'not in symtab' warning", "not in symtab" not in out, \
        "gdb printed 'not in symtab' %d times" % out.count("not in symtab")
    yield "pagination on", "State of pagination is on" in out, "pagination is not on"
    yield "backtrace limit 64", "number of backtrace levels is 64" in out, "no backtrace limit of 64"
    yield "bt at kmain ends at kmain_trampoline", \
        bool(frames0) and len(frames0) <= 4 and "kmain_trampoline" in bt0, \
        "%d frames, kmain_trampoline %s" % (len(frames0), "shown" if "kmain_trampoline" in bt0 else "missing")
    yield "bt after the demo reaches demo_main", "demo_main" in bt1 and "print_counters" in bt1, \
        "no print_counters <- demo_main in the backtrace"
    for cpu in range(smp):
        yield "sd-tlbstate shows cpu%d" % cpu, \
            re.search(r"^cpu%d: loaded_mm \S.*  running \S" % cpu, tlb, re.M) is not None and "slots:" in tlb, \
            "no 'cpu%d: loaded_mm ... running TASK' line with its slots" % cpu
        m = re.search(r"^cpu%d: (\d+) events recorded" % cpu, trace, re.M)
        yield "sd-trace reads cpu%d's ring" % cpu, m is not None and int(m.group(1)) > 0, \
            "no events recorded for cpu%d" % cpu
    # Read at the right per-CPU offsets, ctx ids and generations are small
    # counts since boot; a wrong offset reads pointers and garbage.
    numbers = [int(n) for n in re.findall(r"\b(?:ctx|gen|tlb_gen) (\d+)", tlb + trace)]
    yield "sd-tlbstate and sd-trace read plausible ctx ids and generations", \
        bool(numbers) and max(numbers) < 1000000, \
        "largest ctx/gen read: %s" % (max(numbers) if numbers else "none")
    yield "sd-trace merges events", re.search(r"^\s+\d+(?:\.\d+ us)? cpu\d+ #\d+\s+[a-z_]+ ", trace, re.M) is not None, \
        "no event lines"
    # After the demo the clock is calibrated: times as the kernel's dump
    # gives them, microseconds since boot.
    yield "sd-trace times in microseconds since boot", "times: microseconds since boot" in trace \
        and re.search(r"^\s+\d+\.\d{3} us cpu\d+ #", trace, re.M) is not None, "no 'N.NNN us' times"
    # Each ctx with its owner, as the kernel's dump names it (the demo's
    # tlbscene process, its kernel threads, init_mm).
    ctxs = re.findall(r"\bctx \d+( \((?:kernel|pid \d+ [\w-]+|kthread [\w-]+|\?)\))?", trace)
    yield "sd-trace names each ctx's owner", bool(ctxs) and all(ctxs) and any(c != " (?)" for c in ctxs), \
        "ctx lines without an owner: %d of %d" % (sum(1 for c in ctxs if not c), len(ctxs))
    yield "no Python error", "Python Exception" not in out and "Error occurred" not in out, \
        "a Python error in the session"


def main():
    ap = argparse.ArgumentParser(description="Test make debug's gdb set-up in batch mode.")
    ap.add_argument("--smp", type=int, default=2)
    args = ap.parse_args()
    scale = float(os.environ.get("SHOOTDOWN_TIMEOUT_SCALE", "1"))
    iso = vmlib.build_iso(os.path.join(vmlib.BUILD, "test-gdb.iso"), "demo=on")
    port = run_qemu.free_tcp_port()
    serial = os.path.join(vmlib.BUILD, "test-gdb-serial.log")
    log = os.path.join(vmlib.BUILD, "test-gdb.log")
    session = os.path.join(vmlib.BUILD, "test-gdb.session")
    with open(session, "w") as f:
        f.write(SESSION)
    argv = vmlib.qemu_argv(iso, smp=args.smp, serial=serial,
                           extra=["-S", "-gdb", "tcp:127.0.0.1:%d" % port])
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            start_new_session=True)
    gdb = ["gdb", "-q", "-batch", "-nx", vmlib.ELF,
           "-x", os.path.join("tools", "gdb", "shootdown.gdb"),
           "-ex", "target remote 127.0.0.1:%d" % port,
           "-x", session]
    try:
        r = subprocess.run(gdb, cwd=vmlib.ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=240 * scale)
        out = r.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        out += "\n(gdb timed out)\n"
    finally:
        vmlib.stop(qemu)
    with open(log, "w") as f:
        f.write(out)
    passed = failed = 0
    for name, ok, why in checks(out, args.smp):
        if ok:
            passed += 1
            print("ok - %s" % name)
        else:
            failed += 1
            print("not ok - %s: %s" % (name, why))
    if failed:
        print("(the session: %s)" % os.path.relpath(log, vmlib.ROOT))
    print("gdb: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
