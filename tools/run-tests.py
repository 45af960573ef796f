#!/usr/bin/env python3
"""tools/run-tests.py - the runner behind `make test`.

1. The host unit tests of lib/: `make -C tests/host run`, and the static
   check that generic code changes page tables only through arch/
   (tools/check-pte-boundary.py: one test per file of kernel/), the check
   that generic code includes no private x86 header
   (tools/check-arch-boundary.py: one test per file checked), and the
   check that every path named in a comment or a doc exists
   (tools/check-paths.py: one test per file read), and the check that
   the boot options, counters, trace events and tlb_inject= values the docs
   name are the code's (tools/check-doc-names.py: one test per doc and per
   reference list), and the tests of the trace viewer tools/tlbtrace.py
   (tools/tests/test_tlbtrace.py on a sample log;
   tools/tests/test_tlbtrace_page.py, its HTML page in headless Chromium,
   skipped with its reason when there is no chromium), the labs' solution
   regions (tools/lab.py check) and the lab tool's own tests
   (tools/tests/test_lab.py; the labs' grading itself is make test-labs),
   and the tests of make bench's report tools/bench-report.py on a sample
   of its raw lines (tools/tests/test_bench_report.py).
   The Promela models of the TLB and lazy-mm protocols: tools/run-models.sh
   (spin, exhaustively; each model and each of its variants counts as one
   test - docs/models.md).
2. The kernel, booted once per configuration of MATRIX (below) with
   `test=all expect_cpus=N` on its command line.  Each boot's serial output
   is kept in build/test-logs/<config>.log and read as KTAP (the format of
   Linux's KUnit; see parse_ktap()).

A configuration passes when the machine ended by itself within its timeout,
the kernel did not panic or reboot, its KTAP output is complete and agrees
with the kernel's own last line `# shootdown: N passed, N failed, N skipped`,
no test failed, and every pattern the configuration requires is in the log.
A configuration with `expect_fail_pattern` passes only when the kernel
reports a failure (failed tests or a panic) and the log matches the pattern.

The last line printed is `N passed, N failed, N skipped`, summed over the
host tests, the models and all configurations.  A configuration that fails for a reason
other than failed tests (a hang, a panic, a missing line) adds one failure
of its own, so that line never says 0 failed when something went wrong.

Examples:
    tools/run-tests.py                  everything (what `make test` does)
    tools/run-tests.py --list           the configurations
    tools/run-tests.py --config bochs   one (or several, comma separated)
    tools/run-tests.py --smp 3          a TCG BIOS boot with 3 CPUs
    tools/run-tests.py --smp 4 --tests tlb_counters --cmdline lazy_mm=hazard
                                        one suite, with more kernel options
    tools/run-tests.py --config smp4 --mode shootdown
                                        a configuration in another lazy-mm mode
    tools/run-tests.py --smp 4 --tests tlb_bench --cmdline lazy_mm=hazard
                                        the TLB benchmark: grep '# bench:' in
                                        build/test-logs/smp4.log
    tools/run-tests.py --parse build/test-logs/smp4.log [--config smp4]
                                        judge a saved serial log

Python 3 standard library only.
"""

import argparse
import concurrent.futures
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True    # no __pycache__ in tools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402

LOG_DIR = os.path.join(vmlib.BUILD, "test-logs")
ISO_DIR = os.path.join(vmlib.BUILD, "test-isos")

# Multiply every timeout, e.g. SHOOTDOWN_TIMEOUT_SCALE=3 on a slow machine.
TIMEOUT_SCALE = float(os.environ.get("SHOOTDOWN_TIMEOUT_SCALE", "1"))


# ---------------------------------------------------------------------------
# The matrix: one row per machine the kernel is booted on.
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Config:
    name: str
    description: str
    emulator: str = "qemu"          # "qemu" or "bochs"
    smp: int = 2
    mem: str = "256M"
    cpu: str = "max"                # QEMU -cpu, or the Bochs cpu model
    uefi: bool = False              # QEMU only: OVMF instead of SeaBIOS
    tests: str = "all"              # the kernel's test= option
    cmdline: str = ""               # more kernel options (e.g. "pcid=off")
    timeout: int = 120              # seconds from start to the machine's end
    # Regular expressions (re.MULTILINE) that must match the serial log.
    require: list = dataclasses.field(default_factory=list)
    # ... and ones that must not.
    forbid: list = dataclasses.field(default_factory=list)
    # When set, the EXPECTED outcome is a failure: the configuration passes
    # only if the kernel fails (failed tests or a panic) and this matches.
    expect_fail_pattern: str = None
    # run=: instead of test=, boot this one user program with its arguments
    # (kernel/proc/run.c); the row passes when the status the host reads
    # (tools/vmlib.py, run_status) is run_status and the required lines are
    # there.
    run: str = None
    run_status: int = None
    # A run= row's own check of the program's output: a function of the
    # log's lines returning what is wrong (a list of strings).
    run_check: object = None
    # False: only run when asked for by name (--config).
    default: bool = True
    # Rough cost, to start the slow configurations first.
    weight: int = 1

    def kernel_cmdline(self):
        # The shadow-TLB checker watches every boot of `make test`
        # (docs/tlbcheck.md); a row's own cmdline comes after it and may
        # say tlbcheck=off (the last value of an option wins).
        if self.run is not None:    # run= takes the rest of the line: last
            return "expect_cpus=%d tlbcheck=on %s run=%s" % (self.smp, self.cmdline, self.run)
        line = "test=%s expect_cpus=%d tlbcheck=on" % (self.tests, self.smp)
        return (line + " " + self.cmdline).strip()


# The kernel's boot log line from arch/x86_64/cpufeatures.c.
FEATURES_PCID_INVPCID_X2APIC = r"^.*cpu features: pcid=yes invpcid=yes x2apic=yes\b"
# The LAPIC driver's line (arch/x86_64/apic/lapic.c) saying it runs the local
# APIC in x2APIC mode.
X2APIC_MODE = r"^.*lapic: x2APIC mode"
# Lines no configuration may print (unless it expects a failure): the SMP
# bring-up's own complaints (kernel/smp/cpu_online.c, arch/x86_64/smp/smpboot.c).
ALWAYS_FORBID = [
    r"^.*warning: smp: expect_cpus=.*",
    r"^.*error: smp: .*",
]


def tcg_bios(smp, name=None, **kw):
    """QEMU TCG (multi-threaded), SeaBIOS, -cpu max: the common case."""
    kw.setdefault("description", "QEMU TCG, BIOS, -cpu %s, %d CPU%s"
                  % (kw.get("cpu", "max"), smp, "" if smp == 1 else "s"))
    # Every vCPU beyond the two host cores slows the SMP stress tests down.
    kw.setdefault("timeout", 120 + 30 * max(0, smp - 2))
    return Config(name=name or "smp%d" % smp, smp=smp, **kw)


# ---- lazy-mm modes (kernel/mm/lazy_mm.c, docs/lazy-mm.md) ----
LAZY_MM_MODES = ("refcount", "shootdown", "hazard", "mmput")
# The line kernel/mm/lazy_mm.c prints at boot; a mode row requires it, so a
# mode that was not applied (a typo, an unknown option) fails the row.
LAZY_MM_LINE = r"^.*lazy_mm: mode %s\b"
LAZY_MM_OPTION = re.compile(r"(^|\s)lazy_mm=\S*")

def with_mode(c, mode, name=None, **kw):
    """Configuration c booted with lazy_mm=mode (replacing any lazy_mm= it
    had), requiring the kernel's boot line that says the mode applies."""
    cmdline = " ".join(LAZY_MM_OPTION.sub(" ", c.cmdline).split() + ["lazy_mm=" + mode])
    require = [p for p in c.require if not p.startswith(LAZY_MM_LINE.split("%")[0])]
    return dataclasses.replace(c, name=name or c.name, cmdline=cmdline,
                               require=require + [LAZY_MM_LINE % mode], **kw)


def mode_row(smp, mode, **kw):
    """A TCG BIOS row in another lazy-mm mode (the plain smpN rows run the
    default, refcount)."""
    c = tcg_bios(smp, description="QEMU TCG, BIOS, -cpu max, %d CPUs, lazy_mm=%s" % (smp, mode))
    return with_mode(c, mode, name="smp%d-%s" % (smp, mode), **kw)


# ---- the TLB suites, for the Bochs rows that vary PCID and INVPCID ----
TLB_SUITES = "tlb_counters,tlb_pcid,tlb_stale,tlbcheck,tlbcheck_owed,tlbcheck_machine,lazy_mm,mm_smp,mmu_gather,tlb_gen_window"
BOCHS_CPU = "corei7_haswell_4770"


MATRIX = [
    # The default lazy-mm mode, refcount, on every machine.
    tcg_bios(1),
    tcg_bios(2),
    tcg_bios(4),
    tcg_bios(8, weight=2),
    # The other three modes: every suite runs in each, on 2, 3, 4 and 8 CPUs
    # between them (mmput on 2 and 4).  Cost on the 2-core host: -smp 2..4 about 20-30 s each
    # when the host is quiet; -smp 8 60 s quiet but up to 200 s when other
    # machines run - so only one -smp 8 mode row, to keep make test near
    # ten minutes.
    mode_row(2, "shootdown"),
    mode_row(4, "shootdown"),
    mode_row(3, "hazard"),
    mode_row(8, "hazard", weight=2),
    mode_row(2, "mmput"),
    mode_row(4, "mmput"),
    # Page tables freed after an RCU grace period (pt_free=rcu, docs/rcu.md):
    # every suite, the lockless walkers keeping interrupts on.
    tcg_bios(4, name="smp4-pt_rcu", description="QEMU TCG, BIOS, -cpu max, 4 CPUs, pt_free=rcu",
             cmdline="pt_free=rcu", require=[r"^.*pt_free: mode rcu\b"]),
    # Deferred kernel flushes (kflush_defer, arch/x86_64/kctx.c) are on in
    # every other row; this one boots the TLB suites with them off, for
    # comparison, and requires the deferral test's line saying it saw "off".
    tcg_bios(2, name="smp2-kflush-defer-off",
             description="QEMU TCG, BIOS, -cpu max, 2 CPUs, TLB suites, kflush_defer=off",
             tests=TLB_SUITES + ",kflush_defer", cmdline="kflush_defer=off",
             require=[r"test_idle_cpus_deferred: kflush_defer=off, "]),
    Config("uefi", "QEMU TCG, UEFI (OVMF), -cpu max, 2 CPUs", smp=2, uefi=True,
           timeout=180, weight=3),
    # The oldest CPU model QEMU offers: no PCID, INVPCID, x2APIC, SMEP,
    # SMAP, 1 GiB pages; every optional path must fall back cleanly.  The
    # per-CPU frame caches are off here too (kernel/mm/frame_cache.c), so
    # every suite also runs with single frames straight from the free lists.
    Config("qemu64", "QEMU TCG, BIOS, -cpu qemu64 (fewest features), 2 CPUs, frame_cache=off", smp=2,
           cpu="qemu64", cmdline="frame_cache=off",
           require=[r"test_refill_and_reuse: frame caches are off: "]),
    # The only emulator here with PCID, INVPCID and x2APIC.
    Config("bochs", "Bochs 2.7, corei7_haswell_4770, 4 CPUs", emulator="bochs", smp=4,
           cpu=BOCHS_CPU, timeout=600, weight=20,
           # Bochs runs a few tens of millions of instructions per second.
           cmdline="utest_nmi_rounds=20000",
           require=[FEATURES_PCID_INVPCID_X2APIC, X2APIC_MODE]),
    # The TLB suites on Bochs with each fallback forced (the CPU has both
    # features): no PCID (ASID 0, every CR3 write flushes), and PCID without
    # INVPCID (CR3 reloads, CR4.PGE toggles, invalidated ASID slots).  Each
    # also runs one of the other lazy-mm modes, so that the modes meet PCID.
    with_mode(Config("bochs-pcid-off", "Bochs 2.7, 4 CPUs, TLB suites, pcid=off",
                     emulator="bochs", smp=4, cpu=BOCHS_CPU, timeout=600, weight=10,
                     tests=TLB_SUITES, cmdline="pcid=off",
                     require=[FEATURES_PCID_INVPCID_X2APIC]), "shootdown"),
    with_mode(Config("bochs-invpcid-off", "Bochs 2.7, 4 CPUs, TLB suites, invpcid=off",
                     emulator="bochs", smp=4, cpu=BOCHS_CPU, timeout=600, weight=10,
                     tests=TLB_SUITES, cmdline="invpcid=off",
                     require=[FEATURES_PCID_INVPCID_X2APIC]), "hazard"),
    # An expected failure: asking for a suite that does not exist must be
    # reported as a failure naming it (tests/ktest.c), not silently pass.
    Config("no-such-suite", "QEMU TCG, BIOS, 1 CPU, test=no_such_suite (must fail)",
           smp=1, tests="no_such_suite",
           expect_fail_pattern=r"^# error: no test suite named 'no_such_suite'"),
    # Deliberate kernel faults (crash=, arch/x86_64/crash.c): each must end in a
    # full panic report - vector, decoded error, symbolized backtrace through
    # the faulting function - with every other CPU stopped by the panic NMI.
    Config("crash-pf", "QEMU TCG, 4 CPUs, crash=pf: a kernel page fault's report (must fail)",
           smp=4, cmdline="crash=pf",
           expect_fail_pattern=r"KERNEL PANIC on cpu0: unexpected exception #PF \(page fault\) in crash_pf\+0x",
           require=[r"vector 14 #PF, error 0x0 \(not-present read kernel\)",
                    r"CR2 [0-9a-f]{16} \(the address that faulted\)",
                    r"\] crash_pf\+0x", r"\] crash_if_requested\+0x", r"\] kmain\+0x",
                    r"cpu1 stopped", r"cpu2 stopped", r"cpu3 stopped",
                    r"---\[ end kernel panic \]---"]),
    Config("crash-panic", "QEMU TCG, 2 CPUs, crash=panic: panic()'s own report (must fail)",
           smp=2, cmdline="crash=panic",
           expect_fail_pattern=r"KERNEL PANIC on cpu0: crash=panic: panic on request",
           require=[r"crash_panic\+0x[0-9a-f]+ \(where panic was called\)",
                    r"\] crash_if_requested\+0x", r"cpu1 stopped",
                    r"---\[ end kernel panic \]---"]),
    # An NMI nobody claims prints every CPU's registers and backtrace (the
    # post-mortem the runner asks QEMU for when a boot goes silent; a suite
    # run only by name, since the dump leaves printk in its panic mode).
    Config("nmi-dump", "QEMU TCG, 4 CPUs, test=nmi_dump: an unclaimed NMI makes every CPU report",
           smp=4, tests="nmi_dump",
           require=[r"NMI dump: cpu0, task 'ktest'", r"NMI dump: cpu3, task '",
                    r"\] test_every_cpu_reports\+0x", r"NMI dump: cpu1 ends"]),
    # run=PROG args (kernel/proc/run.c, docs/processes.md "Running one
    # program"): the program's exit status reaches the host, through QEMU's
    # exit device and the kernel's last line, or the shutdown port and the
    # line under Bochs; arguments (quoted ones too) and NAME=VALUE
    # environment words reach the program; bad input ends with its own status.
    Config("run-exitcode", "QEMU TCG, 2 CPUs, run=exitcode 7: status 7 reaches the host",
           smp=2, run="exitcode 7", run_status=7,
           require=[r"run: 'exitcode' \(pid \d+\) exited with 7"]),
    Config("run-args", "QEMU TCG, 2 CPUs, run=showargs with arguments and environment",
           smp=2, run='showargs one "two words" HOME=/ LANG=C.UTF-8 -- X=1 getenv HOME LANG X',
           run_status=2,    # showargs exits with its number of environment strings
           require=[r"(?m)^showargs: argc 8$", r'(?m)^showargs: argv\[0\] "showargs"$',
                    r'(?m)^showargs: argv\[1\] "one"$', r'(?m)^showargs: argv\[2\] "two words"$',
                    r'(?m)^showargs: argv\[3\] "X=1"$', r'(?m)^showargs: argv\[7\] "X"$',
                    r'(?m)^showargs: env\[0\] "HOME=/"$', r'(?m)^showargs: env\[1\] "LANG=C.UTF-8"$',
                    r'(?m)^showargs: getenv\(HOME\) "/"$', r'(?m)^showargs: getenv\(LANG\) "C.UTF-8"$',
                    r'(?m)^showargs: getenv\(X\) NULL$'],
           forbid=[r"(?m)^showargs: env\[2\]"]),
    Config("run-unknown", "QEMU TCG, 1 CPU, run=no_such_prog: status 127, a clear error",
           smp=1, run="no_such_prog x", run_status=127,
           require=[r"run: error: no user program 'no_such_prog'", r"run: the programs are:.* exitcode\b"]),
    Config("run-too-many", "QEMU TCG, 1 CPU, run=exitcode and 16 arguments (17 in argv): status 126, a clear error",
           smp=1, run="exitcode " + " ".join(str(i) for i in range(1, 17)), run_status=126,
           require=[r"run: error: more than 16 arguments"]),
    # user/bench.c: every benchmark runs (a few iterations each) and prints
    # well-formed BENCH lines; what is checked are counts, never times.
    Config("run-bench", "QEMU TCG, 2 CPUs, run=bench ITERS=10: every benchmark, well-formed lines, exact counts",
           smp=2, run="bench ITERS=10", run_status=0, timeout=240,
           run_check=lambda lines: bench_problems(lines, cpus=2, mode="refcount", pcid="off")),
    Config("run-bochs", "Bochs 2.7, 2 CPUs, run=exitcode 9: the status through the shutdown port's log",
           emulator="bochs", smp=2, cpu=BOCHS_CPU, timeout=400, weight=10,
           run="exitcode 9", run_status=9, require=[r"run: 'exitcode' \(pid \d+\) exited with 9"]),
    # A fault inside a kernel thread: the report names the thread and its CPU.
    Config("crash-kthread", "QEMU TCG, 4 CPUs, crash=kthread: a fault in a kernel thread (must fail)",
           smp=4, cmdline="crash=kthread",
           expect_fail_pattern=r"KERNEL PANIC on cpu3: unexpected exception #PF \(page fault\) in crash_pf\+0x",
           require=[r"in task 'crasher' \(id [0-9]+\) on cpu3",
                    r"\] crash_in_thread\+0x", r"\] task_start\+0x",
                    r"cpu0 stopped", r"---\[ end kernel panic \]---"]),
]


# ---- user/bench.c's lines (the run-bench row) ----
BENCH_LINE = re.compile(
    r"^BENCH name=(?P<name>[a-z_0-9]+) cpus=(?P<cpus>\d+) mode=(?P<mode>[a-z]+) pcid=(?P<pcid>on|off)"
    r"(?: k=(?P<k>\d+))?(?: pages=(?P<pages>\d+))?(?: state=(?P<state>busy|idle))?"
    r" value=(?P<value>\d+) unit=cycles iters=(?P<iters>\d+) min=(?P<min>\d+) p10=(?P<p10>\d+)"
    r" p90=(?P<p90>\d+)(?P<counters>(?: [a-z_]+\.[a-z_0-9]+=\d+\.\d\d)+)$")
# The configurations user/bench.c prints with no arguments, by name: how many
# lines each gives on a machine of `cpus` CPUs.
BENCH_LINES = {"getpid": 1, "yield_thread": 1, "yield_proc": 1, "futex_thread": 1, "futex_proc": 1,
               "ipc_thread": 1, "ipc_proc": 1, "munmap_k": None, "munmap": 6, "mprotect": 1, "fork": 1, "thread": 1,
               "lazy_trip": 1}


def parse_bench_line(text):
    """One BENCH line as a dict (fields as strings, counters as floats
    under 'counters'), or None when it is not well formed."""
    m = BENCH_LINE.match(text)
    if not m:
        return None
    b = {k: v for k, v in m.groupdict().items() if k != "counters"}
    b["counters"] = {}
    for word in m.group("counters").split():
        key, value = word.split("=")
        b["counters"][key] = float(value)
    return b


def bench_problems(lines, cpus, mode, pcid):
    """What is wrong with the BENCH lines of a whole user/bench.c run: a line
    that does not parse, a benchmark missing or doubled, percentiles out of
    order, a counter set that differs between lines, or a count the kernel
    must give (exactly: an IPI to each busy CPU and none to an idle one, an
    INVLPG per page up to the flush ceiling, no reap IPIs; at least: two
    switches per round trip, one hand-off per IPC round trip)."""
    problems, seen = [], {}
    names = None
    for text in lines:
        if not text.startswith("BENCH"):
            continue
        b = parse_bench_line(text)
        if b is None:
            problems.append("malformed bench line: %s" % text[:160])
            continue
        key = (b["name"], b["k"], b["pages"], b["state"])
        if key in seen:
            problems.append("bench line printed twice: %s" % (key,))
        seen[key] = b
        c = b["counters"]
        if names is None:
            names = sorted(c)
        elif sorted(c) != names:
            problems.append("%s: a different set of counters than the first line" % (key,))
        if (b["cpus"], b["mode"], b["pcid"]) != (str(cpus), mode, pcid):
            problems.append("%s: cpus=%s mode=%s pcid=%s, expected %s %s %s"
                            % (key, b["cpus"], b["mode"], b["pcid"], cpus, mode, pcid))
        if not int(b["min"]) <= int(b["p10"]) <= int(b["value"]) <= int(b["p90"]):
            problems.append("%s: min <= p10 <= median <= p90 does not hold" % (key,))

        def expect(counter, ok, want):
            got = c.get(counter)
            if got is None or not ok(got):
                problems.append("%s: %s=%s, expected %s" % (key, counter, got, want))
        if b["name"] == "munmap_k":
            k = int(b["k"])
            if b["state"] == "busy":    # each of the k CPUs runs the mm: one IPI each
                expect("tlb.ipi_sent", lambda v: v == k, "%d.00" % k)
            else:                       # each sleeps: lazy, left out
                expect("tlb.ipi_sent", lambda v: v == 0, "0.00")
                expect("tlb.ipi_skipped_lazy", lambda v: v >= k, ">= %d" % k)
        if b["name"] == "munmap":       # alone on CPU 0, the default flush ceiling (33)
            pages = int(b["pages"])
            expect("tlb.ipi_sent", lambda v: v == 0, "0.00")
            # A kernel-range flush meanwhile (a kernel stack's, the RCU
            # thread's) adds INVLPGs of its own: exact only without one.
            exact = c.get("tlb.kernel_flush") == 0
            if pages <= 33:
                expect("tlb.invlpg", lambda v: v == pages if exact else v >= pages,
                       "%s%d.00" % ("" if exact else ">= ", pages))
                expect("tlb.flush_full", lambda v: v == 0 or not exact, "0.00")
            else:
                expect("tlb.invlpg", lambda v: v == 0 or not exact, "0.00")
                expect("tlb.flush_full", lambda v: v >= 1, ">= 1.00")
        # A round trip is at least two switches; a tick that ends a time
        # slice in the middle of one adds two more (both sides are always
        # runnable), so these are lower bounds.
        if b["name"] == "yield_thread":
            expect("switch.same_mm", lambda v: v >= 2, ">= 2.00")
        if b["name"] in ("yield_proc", "ipc_proc"):
            expect("switch.mm", lambda v: v >= 2, ">= 2.00")
        # Both sides of an IPC round trip on CPU 0 hand off (docs/scheduler.md):
        # two a round trip, one refused only when a reschedule is pending.
        if b["name"] in ("ipc_thread", "ipc_proc"):
            expect("switch.handoff", lambda v: v >= 1, ">= 1.00")
        if b["name"] == "lazy_trip":
            expect("switch.enter_lazy", lambda v: v >= 1, ">= 1.00")
        if b["name"] == "fork" and b["mode"] == "refcount":
            # The reap makes the child's lazy borrowers let go: CPUs of its
            # mm's cpumask only, and the pinned child ran on CPU 0 alone.
            expect("lazy.drop_ipis", lambda v: v == 0, "0.00")
    for name, n in BENCH_LINES.items():
        n = 2 * cpus if n is None else n
        got = sum(1 for key in seen if key[0] == name)
        if got != n:
            problems.append("benchmark %s: %d lines, expected %d" % (name, got, n))
    for key in seen:
        if key[0] not in BENCH_LINES:
            problems.append("an unknown benchmark: %s" % key[0])
    return problems


# Fault injection proofs (tlb_inject=, kernel/debug/tlb_inject.h; docs/tlbcheck.md):
# each boot runs the tlbcheck suite (tests/test_tlbcheck.c) with the
# shadow-TLB checker on and one deliberate TLB or lazy-mm bug; it passes
# only when the checker stops the kernel with its report for the right
# operation, naming the CPU, the mm and the address.  The scenarios bind
# their threads to the last CPU (cpu 1 with 2 CPUs) and use the pages
# 0x501000 (unmapped) and 0x7f0000000000 (its page tables freed).
def tlbcheck_violation(op, cpu=r"\d+", addr=r"0x[0-9a-f]+"):
    return (r"^.*tlbcheck: VIOLATION cpu %s mm ctx [1-9]\d* addr %s op %s: "
            % (cpu, addr, op))


# A violation dumps the TLB trace, frozen by the checker, before the panic
# report (kernel/debug/tlb_trace.c, tlb_trace_dump_frozen): the dump's first
# and last lines.
VIOLATION_TRACE = [r"^tlbtrace: the trace as cpu\d+ stopped it \(a checker violation\)",
                   r"^tlbtrace: end \(\d+ lines"]


def find_config_in(rows, name):
    return next(c for c in rows if c.name == name)


def inject(name, op, what, lazy_mm="refcount", cpu=r"\d+", addr=r"0x[0-9a-f]+",
           suite="tlbcheck", extra="", **kw):
    kw.setdefault("smp", 2)
    kw.setdefault("description", "QEMU TCG, %d CPUs, tlb_inject=%s lazy_mm=%s%s: %s (must fail)"
                  % (kw["smp"], name, lazy_mm, " " + extra if extra else "", what))
    return Config("inject-" + name, tests=suite,
                  cmdline="tlbcheck=on tlb_inject=%s lazy_mm=%s%s" % (name, lazy_mm, " " + extra if extra else ""),
                  expect_fail_pattern=tlbcheck_violation(op),
                  require=[tlbcheck_violation(op, cpu, addr),
                           r"KERNEL PANIC on cpu\d+: tlbcheck: %s: " % op] + VIOLATION_TRACE, **kw)


def bochs_inject(name, op, what, lazy_mm="refcount", cpu=r"\d+", addr=r"0x[0-9a-f]+"):
    """An inject row for a fault only PCID/INVPCID can show: Bochs, 2 CPUs,
    the tlbcheck_machine suite."""
    return Config("inject-" + name,
                  "Bochs 2.7, %s, 2 CPUs, tlb_inject=%s lazy_mm=%s: %s (must fail)"
                  % (BOCHS_CPU, name, lazy_mm, what),
                  emulator="bochs", smp=2, cpu=BOCHS_CPU, timeout=400, weight=10,
                  tests="tlbcheck_machine",
                  cmdline="tlbcheck=on tlb_inject=%s lazy_mm=%s" % (name, lazy_mm),
                  expect_fail_pattern=tlbcheck_violation(op),
                  require=[FEATURES_PCID_INVPCID_X2APIC, tlbcheck_violation(op, cpu, addr),
                           r"KERNEL PANIC on cpu\d+: tlbcheck: %s: " % op] + VIOLATION_TRACE)


MATRIX += [
    inject("skip_ipi", "flush_end", "munmap skips the IPI to a CPU running the mm",
           cpu="1", addr="0x501000"),
    # PCID exists only in Bochs; 2 CPUs keep the boot short.  The stale hit
    # the TLB core leaves is the slot of a CPU that left the mm by leave_mm
    # (page tables freed while it was lazy): its return NOFLUSH-loads a PCID
    # whose paging-structure caches predate the free.
    Config("inject-noflush_stale",
           "Bochs 2.7, corei7_haswell_4770, 2 CPUs, tlb_inject=noflush_stale: a stale PCID "
           "loaded with NOFLUSH (must fail)",
           emulator="bochs", smp=2, cpu="corei7_haswell_4770", timeout=400, weight=10,
           tests="tlbcheck", cmdline="tlbcheck=on tlb_inject=noflush_stale lazy_mm=refcount",
           expect_fail_pattern=tlbcheck_violation("cr3_noflush"),
           require=[FEATURES_PCID_INVPCID_X2APIC,
                    tlbcheck_violation("cr3_noflush", "1", "0x7f0000000000"),
                    r"KERNEL PANIC on cpu\d+: tlbcheck: cr3_noflush: "]),
    inject("skip_catchup", "user_access", "a lazy CPU returns to its mm without catching up",
           cpu="1", addr="0x501000"),
    inject("skip_lazy_freed", "tables_free", "page tables freed without the lazy CPUs' flush",
           cpu="1", addr="0x7f0000000000"),
    # The address of an mm_free report is the PML4's (physical).
    inject("early_lazy_drop", "mm_free", "the lazy reference dropped at borrow time", cpu="1"),
    inject("skip_exit_shootdown", "mm_free", "the mm freed without the exit shootdown",
           lazy_mm="shootdown", cpu="1"),
    inject("skip_hazard_scan", "mm_free", "the mm freed without scanning the hazard slots",
           lazy_mm="hazard", cpu="1"),
    inject("skip_mmput_drop", "mm_free", "the teardown flush leaves cpu 1's borrow: the mm is freed under it",
           lazy_mm="mmput", cpu="1"),
    # The frame-lifetime and flush-owed rules (tests/test_tlbcheck_owed.c):
    # the unmapping or mprotect runs on the test's CPU, cpu 0.
    inject("free_before_flush", "frame_free", "munmap frees its frames before the flush",
           cpu="0", addr="0x501000", suite="tlbcheck_owed"),
    inject("skip_flush", "mm_unlock", "mprotect forgets its flush",
           cpu="0", addr="0x501000", suite="tlbcheck_owed"),
    # frame_mapped (tests/test_shm.c): a shared page's entries hold no frame
    # reference, so the first mm's unmap frees the frame under the other's
    # mapping.  The address is the frame's (physical).
    inject("shm_no_get", "frame_mapped", "a shared page is mapped without its entry's frame reference",
           suite="shm"),
    # The order of issue 9's flake: the checker told "lazy" after the flag
    # flushers read.  Caught at the first lazy entry of the boot, on any CPU
    # (no address: the report is about the CPU, not a page).
    inject("lazy_model_late", "set_lazy", "the checker told 'lazy' after flushers can see it",
           addr="0x0"),
    # The rules about the machine itself (tests/test_tlbcheck_machine.c).
    # Addresses: a PML4's (physical) for CR3 and borrow rules, the kernel
    # page for kernel flushes (kernel half: 0xffff...).
    inject("cpumask_late", "cr3_cpumask", "switch_mm sets its cpumask bit after the CR3 write",
           cpu="1", suite="tlbcheck_machine"),
    inject("early_borrow_end", "borrow_end", "a drop ends the borrow (hazard slot) before leave_mm",
           lazy_mm="hazard", cpu="1", suite="tlbcheck_machine"),
    inject("kernel_flush_skip_cpu", "kernel_flush_end",
           "flush_tlb_kernel_range leaves out the last CPU", cpu="1", addr=r"0xffff[0-9a-f]+",
           suite="tlbcheck_machine"),
    # A CPU that was idle while a kernel flush was deferred for it wakes
    # (kflush_defer suite: the test's call) and ignores its pending flush:
    # caught at its entry flush point (no address: about the CPU).
    inject("kdefer_skip_entry", "kernel_entry",
           "a kernel entry ignores the kernel flush deferred for it", addr="0x0",
           suite="kflush_defer"),
    # PCID and INVPCID exist only in Bochs.
    bochs_inject("cr3_pcid_lost", "cr3_write", "tlb_write_cr3 drops the PCID bits of NOFLUSH loads",
                 cpu="1"),
    bochs_inject("ctx_id_reuse", "cr3_noflush",
                 "mm_create recycles a freed mm's ctx_id: a poisoned PCID NOFLUSH-loaded", cpu="1"),
    # Page tables freed by pt_free=rcu without the grace period
    # (tests/test_pt_walk.c): the walker on cpu 1 is still inside the PT;
    # the report's address is the table's (physical).
    inject("pt_free_no_gp", "table_release",
           "pt_free=rcu frees page tables without waiting for the grace period",
           cpu="1", suite="pt_walk", extra="pt_free=rcu"),
    # Caught where the flush ends, or - on a CPU whose flush was deferred
    # (kflush_defer=on) - at that CPU's entry flush, which uses the same
    # wrong primitive: whichever comes first (the checker's kernel_entry
    # rule records the deferral without an address).
    bochs_inject("kernel_invpcid3", "(?:kernel_flush_end|kernel_entry)",
                 "the global full flush is INVPCID type 3: the kernel's global entries stay",
                 addr=r"(?:0xffff[0-9a-f]+|0x0)"),
]


# Widened race windows (tlb_race_delay=N, kernel/debug/race_window.h; docs/tlbcheck.md,
# "The model never lags"): every CPU pauses N us right after each store that
# other CPUs act on (is_lazy, a cpumask bit, CR3, a hazard slot, a dropped
# reference), in each lazy-mm mode, with the checker on.  A hook told in the
# wrong order shows as a checker report in nearly every boot instead of once
# in dozens (the old enter_lazy_tlb failed 8 of 9 such boots at 500 us).  Only
# the TLB suites: the pauses make each boot several times slower.  Each row
# requires the kernel's count of pauses at the windows its mode must cross,
# so that a window that stopped pausing (a moved call) fails the row too.
RACE_SUITES = "tlb_stale,mm_smp,user,tlbcheck,lazy_mm"
RACE_DELAY_US = 500
RACE_SITES_ALL = ("lazy_enter", "lazy_leave", "cpumask_set", "cr3_write")
RACE_SITES_MODE = {"refcount": ("borrow_end",), "shootdown": (),
                   "hazard": ("hazard_set", "hazard_clear"), "mmput": ()}


def race_row(base):
    mode = next((m for m in LAZY_MM_MODES if base.name.endswith("-" + m)), "refcount")
    sites = RACE_SITES_ALL + RACE_SITES_MODE[mode]
    return dataclasses.replace(
        base, name="race-" + base.name,
        description="%s, TLB suites, tlb_race_delay=%d" % (base.description, RACE_DELAY_US),
        tests=RACE_SUITES,
        cmdline=(base.cmdline + " tlb_race_delay=%d" % RACE_DELAY_US).strip(),
        timeout=base.timeout + 120,
        require=base.require + [r"^.*race_window: %s paused [1-9]\d* times" % s for s in sites])


MATRIX += [race_row(find_config_in(MATRIX, name))
           for name in ("smp2", "smp4-shootdown", "smp3-hazard", "smp2-mmput")]


def find_config(name):
    for c in MATRIX:
        if c.name == name:
            return c
    return None


# ---------------------------------------------------------------------------
# KTAP
# ---------------------------------------------------------------------------

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\r")
KTAP_VERSION = re.compile(r"^( *)KTAP version 1\s*$")
KTAP_PLAN = re.compile(r"^( *)1\.\.(\d+)\s*$")
KTAP_SUBTEST = re.compile(r"^( *)# Subtest: (.*)$")
KTAP_RESULT = re.compile(
    r"^( *)(ok|not ok) (\d+)(?: (?:- )?(.*?))?(?:\s+#\s*(SKIP|TODO)\b\s*(.*))?\s*$",
    re.IGNORECASE)
KTAP_DIAG = re.compile(r"^( *)#(.*)$")
FINAL_LINE = re.compile(r"^# shootdown: (\d+) passed, (\d+) failed, (\d+) skipped")
# tests/ktest.c counts each unknown suite name in test= as one failure.
UNKNOWN_SUITE = re.compile(r"^# error: no test suite named")
PANIC_LINE = re.compile(r"KERNEL PANIC.*$", re.MULTILINE)
BOOT_BANNER = re.compile(r"Shootdown booting")


@dataclasses.dataclass
class Leaf:
    path: str           # suite/.../test
    num: int
    status: str         # "pass", "fail" or "skip"
    reason: str = ""    # the SKIP reason
    diag: list = dataclasses.field(default_factory=list)   # '#' lines before it


@dataclasses.dataclass
class Ktap:
    found: bool = False
    leaves: list = dataclasses.field(default_factory=list)
    unknown_suites: int = 0
    final: tuple = None                 # (passed, failed, skipped) from the kernel
    problems: list = dataclasses.field(default_factory=list)

    def count(self, status):
        n = sum(1 for leaf in self.leaves if leaf.status == status)
        if status == "fail":
            n += self.unknown_suites
        return n

    @property
    def passed(self):
        return self.count("pass")

    @property
    def failed(self):
        return self.count("fail")

    @property
    def skipped(self):
        return self.count("skip")


def clean_lines(text):
    return [ANSI_ESCAPE.sub("", line) for line in text.split("\n")]


class _Frame:
    """One (sub)test plan being read: its depth (indent / 4), name, plan and
    how many results it had."""

    def __init__(self, depth, name):
        self.depth, self.name = depth, name
        self.plan, self.results = None, 0
        self.diag = []


def parse_ktap(text):
    """Reads KTAP version 1 from a serial log that also holds other lines
    (boot messages, printk from other CPUs), which are ignored.

    Nesting is by indentation, 4 spaces per level.  A result line closes the
    subtests indented below it: such a line is a suite's result; one with no
    subtests below it is a leaf (a test case).  Only leaves are counted, the
    way the kernel counts them.  Each plan `1..N` is checked against the
    number of results that follow it at its level.
    """
    k = Ktap()
    stack = []

    def close_to(depth):
        """Pops frames deeper than `depth`; returns True if any was popped."""
        popped = False
        while stack and stack[-1].depth > depth:
            f = stack.pop()
            popped = True
            if f.plan is not None and f.plan != f.results:
                k.problems.append("KTAP: %s planned %d results but has %d"
                                  % (f.name or "top level", f.plan, f.results))
        return popped

    def open_to(depth, name=None):
        while not stack or stack[-1].depth < depth:
            d = stack[-1].depth + 1 if stack else 0
            stack.append(_Frame(d, name if d == depth else None))

    def path_to(name):
        parts = [f.name for f in stack if f.name] + [name]
        return "/".join(parts)

    for line in clean_lines(text):
        if not k.found:
            m = KTAP_VERSION.match(line)
            if m and not m.group(1):
                k.found = True
                stack.append(_Frame(0, None))
            continue
        m = FINAL_LINE.match(line)
        if m:
            close_to(0)
            k.final = tuple(int(x) for x in m.groups())
            break
        if UNKNOWN_SUITE.match(line):
            k.unknown_suites += 1
            continue
        m = KTAP_VERSION.match(line)
        if m:
            depth = len(m.group(1)) // 4
            if stack and depth <= stack[-1].depth and depth > 0:
                close_to(depth - 1)
            open_to(depth)
            continue
        m = KTAP_SUBTEST.match(line)
        if m:
            depth = len(m.group(1)) // 4
            open_to(depth)
            if stack[-1].depth == depth:
                stack[-1].name = m.group(2).strip()
            continue
        m = KTAP_PLAN.match(line)
        if m:
            depth = len(m.group(1)) // 4
            open_to(depth)
            stack[-1].plan = int(m.group(2))
            continue
        m = KTAP_RESULT.match(line)
        if m:
            indent, ok, num, name, directive, reason = m.groups()
            depth = len(indent) // 4
            was_suite = close_to(depth)
            open_to(depth)
            frame = stack[-1]
            frame.results += 1
            if not was_suite:
                if directive and directive.upper() == "SKIP":
                    status = "skip"
                elif ok.lower() == "ok" or (directive and directive.upper() == "TODO"):
                    status = "pass"
                else:
                    status = "fail"
                k.leaves.append(Leaf(path_to(name or "#%s" % num), int(num), status,
                                     (reason or "").strip(), frame.diag))
            frame.diag = []
            continue
        m = KTAP_DIAG.match(line)
        if m and stack:
            stack[-1].diag.append(line.strip())
    if k.found and k.final is None:
        close_to(0)
    if k.found and stack and k.final is not None:
        top = stack[0]
        if top.plan is not None and top.plan != top.results:
            k.problems.append("KTAP: the top level planned %d suites but has %d results"
                              % (top.plan, top.results))
    return k


# ---------------------------------------------------------------------------
# Judging one boot
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    config: Config
    ok: bool = False
    reasons: list = dataclasses.field(default_factory=list)
    ktap: Ktap = None
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    log: str = ""
    extra_logs: list = dataclasses.field(default_factory=list)


def judge(config, text, timed_out=False, qemu_status=None, emulator_problem=None,
          timeout=None):
    """Decides pass/fail for one boot from its serial log and how the
    emulator ended.  qemu_status is QEMU's exit status (None for Bochs,
    which has no exit device: the log alone tells)."""
    if config.run is not None:
        return judge_run(config, text, timed_out, qemu_status, emulator_problem, timeout)
    o = Outcome(config)
    k = o.ktap = parse_ktap(text)
    lines = "\n".join(clean_lines(text))
    panic = PANIC_LINE.search(lines)
    kernel_failed = bool(panic) or qemu_status in (vmlib.EXIT_TESTS_FAILED, vmlib.EXIT_PANIC) \
        or k.failed > 0 or (k.final is not None and k.final[1] > 0)
    problems = []     # anything wrong besides failed tests
    timeout = timeout or config.timeout

    if timed_out:
        problems.append("hang: no serial output for %d s (or still printing after %d s)" % (timeout, HARD_CAP * timeout)
                        + ("; each CPU's NMI dump is in the log" if "NMI dump: cpu" in lines else ""))
    if emulator_problem:
        problems.append(emulator_problem)
    if qemu_status is not None and not timed_out and qemu_status not in (
            vmlib.EXIT_TESTS_PASSED, vmlib.EXIT_TESTS_FAILED, vmlib.EXIT_PANIC):
        problems.append("QEMU: " + vmlib.describe_exit(qemu_status))
    if panic or qemu_status == vmlib.EXIT_PANIC:
        problems.append("kernel panic" + (": " + panic.group(0) if panic else ""))
    if len(BOOT_BANNER.findall(lines)) > 1:
        problems.append("the machine rebooted (the kernel started %d times)"
                        % len(BOOT_BANNER.findall(lines)))
    if not k.found:
        problems.append("no KTAP output (no 'KTAP version 1' line)")
    elif k.final is None:
        problems.append("no final line '# shootdown: N passed, N failed, N skipped'")
    else:
        mine = (k.passed, k.failed, k.skipped)
        if mine != k.final:
            problems.append("count mismatch: the log has %d passed, %d failed, %d skipped; "
                            "the kernel says %d passed, %d failed, %d skipped" % (mine + k.final))
    if k.final is not None:     # else the plans were cut short anyway
        problems += k.problems

    if config.expect_fail_pattern:
        m = re.search(config.expect_fail_pattern, lines, re.MULTILINE)
        if timed_out:
            o.reasons.append("hang: no serial output for %d s (or still printing after %d s)" % (timeout, HARD_CAP * timeout))
        elif not kernel_failed:
            o.reasons.append("expected the kernel to fail, but it reported success")
        elif not m:
            o.reasons.append("the kernel failed, but not with /%s/" % config.expect_fail_pattern)
        # The failure must also look as specified (e.g. a panic report's parts).
        for pattern in config.require:
            if not re.search(pattern, lines, re.MULTILINE):
                o.reasons.append("required line missing: /%s/" % pattern)
        o.ok = not o.reasons
        # An expected failure counts as one result.
        o.passed, o.failed = (1, 0) if o.ok else (0, 1)
        return o

    if qemu_status == vmlib.EXIT_TESTS_PASSED and k.failed:
        problems.append("QEMU says the tests passed but %d failed in the log" % k.failed)
    if qemu_status == vmlib.EXIT_TESTS_FAILED and not k.failed:
        problems.append("QEMU says the tests failed but no failure is in the log")
    for pattern in config.require:
        if not re.search(pattern, lines, re.MULTILINE):
            problems.append("required line missing: /%s/" % pattern)
    for pattern in ALWAYS_FORBID + config.forbid:
        m = re.search(pattern, lines, re.MULTILINE)
        if m:
            problems.append("forbidden line present: %s" % m.group(0).strip())

    o.reasons = problems[:]
    if k.failed:
        o.reasons.insert(0, "%d test%s failed" % (k.failed, "" if k.failed == 1 else "s"))
    o.ok = not o.reasons
    o.passed, o.failed, o.skipped = k.passed, k.failed, k.skipped
    if problems:
        o.failed += 1       # the configuration itself
    return o


def judge_run(config, text, timed_out, qemu_status, emulator_problem, timeout):
    """A run= row: the status the host reads must be config.run_status, the
    kernel must not panic or reboot, and the required lines must be there.
    It counts as one test."""
    o = Outcome(config)
    lines = "\n".join(clean_lines(text))
    timeout = timeout or config.timeout
    if timed_out:
        o.reasons.append("hang: no serial output for %d s (or still printing after %d s)"
                         % (timeout, HARD_CAP * timeout))
    if emulator_problem:
        o.reasons.append(emulator_problem)
    panic = PANIC_LINE.search(lines)
    if panic:
        o.reasons.append("kernel panic: " + panic.group(0))
    if len(BOOT_BANNER.findall(lines)) > 1:
        o.reasons.append("the machine rebooted")
    status, why = vmlib.run_status(lines, qemu_status)
    if why:
        o.reasons.append("run: " + why)
    elif status != config.run_status:
        o.reasons.append("run: the host read exit status %d, expected %d" % (status, config.run_status))
    for pattern in config.require:
        if not re.search(pattern, lines, re.MULTILINE):
            o.reasons.append("required line missing: /%s/" % pattern)
    for pattern in ALWAYS_FORBID + config.forbid:
        m = re.search(pattern, lines, re.MULTILINE)
        if m:
            o.reasons.append("forbidden line present: %s" % m.group(0).strip())
    if config.run_check:
        o.reasons += config.run_check(lines.split("\n"))
    o.ok = not o.reasons
    o.passed, o.failed = (1, 0) if o.ok else (0, 1)
    return o


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

_children = set()
_children_lock = threading.Lock()
_print_lock = threading.Lock()


def say(*args):
    with _print_lock:
        print(*args, flush=True)


# A boot that is still printing is making progress, however slowly: with
# more vCPUs than busy host cores a boot can take several times its usual
# time.  So a configuration's timeout is the longest SILENCE allowed on its
# serial log; only a boot that goes on printing past HARD_CAP times its
# timeout (a livelock that keeps printing) is stopped while it still prints.
HARD_CAP = 6


# After a boot went silent for its timeout, how long the machine may still
# print the dump that on_silence asked for (a few lines per CPU) before it is
# killed.
DUMP_GRACE = 15


def run_process(argv, out_path, timeout, progress_path=None, on_silence=None):
    """Runs argv in its own process group, stdout+stderr to out_path.
    Returns the exit status, or None when it was stopped: after `timeout`
    seconds in all, or - with progress_path (the serial log) - after
    `timeout` seconds in which that file did not grow, or HARD_CAP *
    timeout seconds in all.  on_silence: called once when the serial log
    has been silent for `timeout` (QEMU: ask every CPU for a dump of where
    it is), after which the machine has DUMP_GRACE seconds to print it."""
    with open(out_path, "wb") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        with _children_lock:
            _children.add(p)
        try:
            if progress_path is None:
                return p.wait(timeout=timeout)
            start = last = time.monotonic()
            size = -1
            dump_asked = None       # when on_silence was called
            while True:
                try:
                    status = p.wait(timeout=1)
                    # A machine that ended while printing its dump was
                    # still stopped by us: it had gone silent.
                    return None if dump_asked is not None else status
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                try:
                    grown = os.path.getsize(progress_path)
                except OSError:
                    grown = -1
                if grown != size:
                    size, last = grown, now
                if dump_asked is not None:
                    if now - dump_asked >= DUMP_GRACE:
                        raise subprocess.TimeoutExpired(argv, timeout)
                elif now - last >= timeout:
                    if on_silence is None:
                        raise subprocess.TimeoutExpired(argv, timeout)
                    dump_asked = now
                    on_silence()
                elif now - start >= HARD_CAP * timeout:
                    raise subprocess.TimeoutExpired(argv, timeout)
        except subprocess.TimeoutExpired:
            kill_group(p)
            p.wait()
            return None
        finally:
            with _children_lock:
                _children.discard(p)


def monitor_path(stem):
    """A short path for the QEMU monitor's socket of one boot (a Unix socket
    path must stay under 108 bytes, which a deep checkout can exceed)."""
    return os.path.join("/tmp", "sd-mon-%d-%s" % (os.getpid(), stem))


def ask_for_nmi_dump(monitor):
    """A silent boot: QEMU's monitor command `nmi` sends every CPU an NMI,
    and the kernel answers an NMI nobody claimed with that CPU's registers
    and backtrace (arch/x86_64/nmi.c, nmi_dump): the log then says where
    each CPU was stuck instead of just stopping."""
    import socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(monitor)
            s.sendall(b"nmi\n")
            time.sleep(0.5)
    except OSError as e:
        say("note: no NMI dump (QEMU monitor %s: %s)" % (monitor, e))


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)    # the group we created for it
    except ProcessLookupError:
        pass


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def boot(config, run=None):
    """Boots one configuration and judges it.  run=K (soak mode): the logs
    are NAME.runK.*, so that each boot of a soak keeps its own."""
    start = time.monotonic()
    timeout = int(config.timeout * TIMEOUT_SCALE)
    stem = config.name if run is None else "%s.run%d" % (config.name, run)
    log = os.path.join(LOG_DIR, stem + ".log")
    iso = os.path.join(ISO_DIR, config.name + ".iso")
    remove(log)
    try:
        vmlib.build_iso(iso, config.kernel_cmdline())
    except subprocess.CalledProcessError as e:
        o = Outcome(config, reasons=["could not build the ISO: %s" % e], failed=1, log=log)
        return o

    if config.emulator == "qemu":
        emu_out = os.path.join(LOG_DIR, stem + ".qemu.txt")
        monitor = monitor_path(stem)
        remove(monitor)
        argv = vmlib.qemu_argv(iso, smp=config.smp, mem=config.mem, accel="tcg",
                               cpu=config.cpu, uefi=config.uefi, serial=log, monitor=monitor)
        status = run_process(argv, emu_out, timeout, progress_path=log,
                             on_silence=lambda: ask_for_nmi_dump(monitor))
        remove(monitor)
        problem = None
        if status not in (None, 0, vmlib.EXIT_TESTS_PASSED, vmlib.EXIT_TESTS_FAILED,
                          vmlib.EXIT_PANIC, vmlib.EXIT_RUN_ENDED):
            problem = "QEMU: " + read(emu_out).strip()[-300:]
        o = judge(config, read(log), timed_out=status is None, qemu_status=status,
                  emulator_problem=problem, timeout=timeout)
        o.extra_logs = [emu_out]
    elif config.emulator == "bochs":
        emu_out = os.path.join(LOG_DIR, stem + ".bochs-out.txt")
        bochs_log = os.path.join(LOG_DIR, stem + ".bochs.log")
        rc = os.path.join(LOG_DIR, config.name + ".bochsrc")
        cmds = os.path.join(LOG_DIR, config.name + ".bochs-cmds")
        remove(bochs_log)
        with open(rc, "w") as f:
            f.write(vmlib.bochsrc(iso, log, bochs_log, smp=config.smp, mem=config.mem,
                                  model=config.cpu))
        with open(cmds, "w") as f:
            f.write("c\n")
        status = run_process(vmlib.bochs_argv(rc, cmds), emu_out, timeout, progress_path=log)
        blog = read(bochs_log)
        problem = None
        if status is not None and "Shutdown port: shutdown requested" not in blog:
            panics = re.findall(r">>PANIC<<.*", blog)
            problem = "Bochs ended without the kernel asking: " + (
                panics[0] if panics else "status %s, see %s" % (status, bochs_log))
        o = judge(config, read(log), timed_out=status is None, emulator_problem=problem,
                  timeout=timeout)
        o.extra_logs = [bochs_log, emu_out]
    else:
        raise ValueError("unknown emulator %r" % config.emulator)
    o.log = log
    o.seconds = time.monotonic() - start
    return o


def rel(path):
    """A path relative to the repository when it is inside it."""
    r = os.path.relpath(path, vmlib.ROOT)
    return path if r.startswith("..") else r


def tail(path, n=25):
    lines = clean_lines(read(path))
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-n:]


def show_outcome(o, index, total, label=None):
    c = o.config
    verdict = "PASS" if o.ok else "FAIL"
    if c.expect_fail_pattern:
        counts = "expected failure %s" % ("seen" if o.ok else "NOT seen")
    else:
        counts = "%3d passed, %d failed, %d skipped" % (o.passed, o.failed, o.skipped)
    out = ["[%d/%d] %-14s %s  %s  (%.1f s)" % (index, total, label or c.name, verdict, counts,
                                              o.seconds)]
    if not o.ok:
        out += failure_details(o)
    say("\n".join(out))


def failure_details(o, log_lines=25):
    """Why a configuration failed: the runner's reasons, each failing KTAP
    case with its last diagnostics, and the last lines of its log."""
    out = []
    for r in o.reasons:
        out.append("       - " + r)
    if o.ktap:
        for leaf in o.ktap.leaves:
            if leaf.status == "fail":
                out.append("       not ok: " + leaf.path)
                out += ["           " + d for d in leaf.diag[-6:]]
    lines = clean_lines(read(o.log))
    dump = [i for i, line in enumerate(lines) if "NMI dump: cpu" in line]
    if dump:
        # A silent boot's post-mortem (ask_for_nmi_dump): every CPU's part.
        out.append("       the CPUs' NMI dump in %s:" % rel(o.log))
        out += ["       | " + line for line in lines[dump[0]:dump[-1] + 1][:120]]
    else:
        out.append("       last lines of %s:" % rel(o.log))
        out += ["       | " + line for line in tail(o.log, log_lines)]
    return out


def write_failure_digest(bad):
    """build/test-logs/failures.txt: each failed configuration's details
    again, in one place.  The progress lines print them as each boot ends,
    which in a long run is far above the end of the output; CI (.ci/run)
    prints this file last, so a report that keeps only the tail of the
    output still says which case failed and how.  Removed on a clean run."""
    path = os.path.join(LOG_DIR, "failures.txt")
    if not bad:
        if os.path.exists(path):
            os.remove(path)
        return
    lines = []
    for o in bad:
        lines.append("FAILED %s: %s" % (o.config.name, o.config.description))
        lines += failure_details(o, log_lines=12)
    os.makedirs(LOG_DIR, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run_host_tests():
    """Runs the host unit tests; returns an Outcome-like tuple."""
    start = time.monotonic()
    host_dir = os.path.join(vmlib.ROOT, "tests", "host")
    c = Config("host", "host unit tests of lib/ (ASan, UBSan)")
    o = Outcome(c, log=os.path.join(LOG_DIR, "host.log"))
    if not os.path.exists(os.path.join(host_dir, "Makefile")):
        o.ok = True
        o.reasons = ["skipped: tests/host/Makefile does not exist"]
        say("[host] skipped: tests/host/Makefile does not exist (no host unit tests yet)")
        return o
    say("[host] make -C tests/host run")
    status = run_process(["make", "-C", host_dir, "run"], o.log, 600)
    lines = [line for line in clean_lines(read(o.log)) if line.strip()]
    # The runner's last line; make -C adds "Leaving directory" after it.
    finals = [m for m in (re.match(r"^host: (\d+) passed, (\d+) failed", line) for line in lines) if m]
    m = finals[-1] if finals else None
    if m:
        o.passed, o.failed = int(m.group(1)), int(m.group(2))
    else:
        o.reasons.append("no final line 'host: N passed, N failed'")
    if status != 0:
        o.reasons.append("make -C tests/host run: " + ("timed out" if status is None
                                                       else "exit status %d" % status))
    if o.failed:
        o.reasons.insert(0, "%d host test%s failed" % (o.failed, "" if o.failed == 1 else "s"))
    elif o.reasons:
        o.failed += 1
    o.ok = not o.reasons
    o.seconds = time.monotonic() - start
    verdict = "PASS" if o.ok else "FAIL"
    out = ["[host] %-12s %s  %3d passed, %d failed  (%.1f s)"
           % ("unit tests", verdict, o.passed, o.failed, o.seconds)]
    if not o.ok:
        out += ["       - " + r for r in o.reasons]
        out.append("       last lines of %s:" % rel(o.log))
        out += ["       | " + line for line in lines[-25:]]
    say("\n".join(out))
    return o


# The static checks of the source tree: (name, script, what it proves, what
# its failed tests are).  Each prints `NAME: N passed, N failed` last.
STATIC_CHECKS = [
    ("pte-boundary", "check-pte-boundary.py", "kernel/ changes page tables only through arch/",
     "file%s of kernel/ bypass the arch PTE interface"),
    ("arch-boundary", "check-arch-boundary.py", "kernel/ and lib/ include no private x86 header, kernel code no test header",
     "file%s cross the arch boundary"),
    ("paths", "check-paths.py", "paths named in comments and docs exist",
     "file%s name a path that does not exist"),
    ("doc-names", "check-doc-names.py", "option, counter, trace-event and tlb_inject names in the docs match the code",
     "test%s found a doc and the code disagreeing"),
    ("tlbtrace", "tests/test_tlbtrace.py", "tools/tlbtrace.py reads a trace dump (sample log)",
     "check%s of the trace viewer failed"),
    ("tlbtrace-page", "tests/test_tlbtrace_page.py", "the trace's HTML page in headless Chromium",
     "check%s of the trace page failed"),
    ("lab-check", "lab.py check", "the labs' solution regions and files (labs/README.md)",
     "check%s of the labs failed"),
    ("lab-tool", "tests/test_lab.py", "tools/lab.py: lab-start's region processing, grade's scoring",
     "check%s of the lab tool failed"),
    ("bench-report", "tests/test_bench_report.py", "tools/bench-report.py: make bench's table and SVG plots (sample lines)",
     "check%s of the bench report failed"),
]


def run_static_check(name, script, description, failure):
    """Runs tools/SCRIPT, a static check of the tree with one test per file
    (tools/check-pte-boundary.py, tools/check-paths.py), or a tool's own
    tests.  A line `NAME: skipped: REASON` makes it a skip, not a pass."""
    start = time.monotonic()
    c = Config(name, description)
    o = Outcome(c, log=os.path.join(LOG_DIR, name + ".log"))
    script, *args = script.split()
    status = run_process([sys.executable, os.path.join(vmlib.ROOT, "tools", script)] + args,
                         o.log, 120)
    lines = [line for line in clean_lines(read(o.log)) if line.strip()]
    final = re.compile(r"^%s: (\d+) passed, (\d+) failed" % re.escape(name))
    finals = [m for m in (final.match(line) for line in lines) if m]
    if finals:
        o.passed, o.failed = int(finals[-1].group(1)), int(finals[-1].group(2))
    else:
        o.reasons.append("no final line '%s: N passed, N failed'" % name)
    skips = [m for m in (re.match(r"^%s: skipped: (.*)" % re.escape(name), line) for line in lines) if m]
    if skips and not o.passed and not o.failed:
        o.skipped = 1
    if o.failed:
        o.reasons.insert(0, "%d %s" % (o.failed, failure % ("" if o.failed == 1 else "s")))
    elif status != 0:
        o.reasons.append("tools/%s: " % script + ("timed out" if status is None
                                                  else "exit status %s" % status))
        o.failed += 1
    o.ok = not o.reasons
    o.seconds = time.monotonic() - start
    out = ["[%s] %s  %3d passed, %d failed  (%.1f s)"
           % (name, "SKIP" if o.ok and o.skipped else "PASS" if o.ok else "FAIL",
              o.passed, o.failed, o.seconds)]
    if o.ok and o.skipped:
        out.append("       - skipped: " + skips[-1].group(1))
    if not o.ok:
        out += ["       - " + r for r in o.reasons]
        out += ["       | " + line for line in lines[-25:]]
    say("\n".join(out))
    return o


def run_models():
    """Runs tools/run-models.sh (spin); each of its rows is one test."""
    start = time.monotonic()
    c = Config("models", "Promela models, spin (docs/models.md)")
    o = Outcome(c, log=os.path.join(LOG_DIR, "models.log"))
    say("[models] tools/run-models.sh")
    status = run_process(["sh", os.path.join(vmlib.ROOT, "tools", "run-models.sh")], o.log, 1800)
    lines = [line for line in clean_lines(read(o.log)) if line.strip()]
    finals = [m for m in (re.match(r"^models: (\d+) passed, (\d+) failed", line) for line in lines) if m]
    if finals:
        o.passed, o.failed = int(finals[-1].group(1)), int(finals[-1].group(2))
    else:
        o.reasons.append("no final line 'models: N passed, N failed'")
    if status != 0 and not o.failed:
        o.reasons.append("tools/run-models.sh: " + ("timed out" if status is None
                                                    else "exit status %d" % status))
    if o.failed:
        o.reasons.insert(0, "%d model run%s failed" % (o.failed, "" if o.failed == 1 else "s"))
    elif o.reasons:
        o.failed += 1
    o.ok = not o.reasons
    o.seconds = time.monotonic() - start
    out = ["[models] %-12s %s  %3d passed, %d failed  (%.1f s)"
           % ("spin", "PASS" if o.ok else "FAIL", o.passed, o.failed, o.seconds)]
    if not o.ok:
        out += ["       - " + r for r in o.reasons]
        out += ["       | " + line for line in lines if " FAIL " in line]
        out.append("       full output: %s" % rel(o.log))
    say("\n".join(out))
    return o


def machine_words(c):
    return c.description


def summary(host, models, outcomes, checks=()):
    rows = [("config", "machine", "result", "passed", "failed", "skipped", "time")]
    if host is not None:
        skipped_host = host.ok and host.reasons
        rows.append(("host", host.config.description,
                     "skipped" if skipped_host else ("PASS" if host.ok else "FAIL"),
                     str(host.passed), str(host.failed), "-", "%.1fs" % host.seconds))
    for o in checks:
        rows.append((o.config.name, o.config.description,
                     "skipped" if o.ok and o.skipped else "PASS" if o.ok else "FAIL",
                     str(o.passed), str(o.failed), str(o.skipped) if o.skipped else "-",
                     "%.1fs" % o.seconds))
    if models is not None:
        rows.append(("models", models.config.description, "PASS" if models.ok else "FAIL",
                     str(models.passed), str(models.failed), "-", "%.1fs" % models.seconds))
    for o in outcomes:
        c = o.config
        rows.append((c.name, machine_words(c), "PASS" if o.ok else "FAIL",
                     str(o.passed), str(o.failed),
                     "-" if c.expect_fail_pattern else str(o.skipped), "%.1fs" % o.seconds))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    say("")
    for i, r in enumerate(rows):
        say("  ".join(cell.ljust(w) if j < 3 else cell.rjust(w)
                      for j, (cell, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            say("  ".join("-" * w for w in widths))
    say("")


def list_configs():
    for c in MATRIX:
        flags = "" if c.default else "  [only by name]"
        say("%-14s %s%s" % (c.name, c.description, flags))
        say("%-14s   command line: %s; timeout %d s" % ("", c.kernel_cmdline(), c.timeout))
        for p in c.require:
            say("%-14s   requires /%s/" % ("", p))
        if c.expect_fail_pattern:
            say("%-14s   must FAIL with /%s/" % ("", c.expect_fail_pattern))


def select(args):
    """The configurations asked for on the command line."""
    chosen = []
    if args.config:
        for name in args.config.split(","):
            c = find_config(name.strip())
            if not c:
                sys.exit("run-tests: no configuration named %r (see --list)" % name)
            chosen.append(c)
    if args.smp is not None:
        c = find_config("smp%d" % args.smp) or tcg_bios(args.smp)
        chosen.append(c)
    if not chosen:
        chosen = [c for c in MATRIX if c.default]
    if args.mem:
        chosen = [dataclasses.replace(c, mem=args.mem) for c in chosen]
    if args.tests:
        chosen = [dataclasses.replace(c, tests=args.tests) for c in chosen]
    if args.cmdline:
        chosen = [dataclasses.replace(c, cmdline=(c.cmdline + " " + args.cmdline).strip())
                  for c in chosen]
    if args.mode:
        # Renamed for the mode (smp4 -> smp4-hazard, smp8-shootdown ->
        # smp8-hazard), so that each keeps its own log; rows that become
        # the same are booted once.
        moded = {}
        for c in chosen:
            base = re.sub(r"-(%s)$" % "|".join(LAZY_MM_MODES), "", c.name)
            m = with_mode(c, args.mode, name="%s-%s" % (base, args.mode))
            moded.setdefault(m.name, m)
        chosen = list(moded.values())
    return chosen


def parse_only(args):
    """--parse LOG: judge a saved serial log (no exit status is known)."""
    config = find_config(args.config) if args.config else Config("log", "a saved log")
    if config is None:
        sys.exit("run-tests: no configuration named %r" % args.config)
    text = read(args.parse)
    o = judge(config, text)
    o.log = args.parse
    for leaf in o.ktap.leaves:
        say("%-4s %s%s" % (leaf.status, leaf.path, " (%s)" % leaf.reason if leaf.reason else ""))
    if o.ktap.final:
        say("kernel's count: %d passed, %d failed, %d skipped" % o.ktap.final)
    show_outcome(o, 1, 1)
    say("%d passed, %d failed, %d skipped" % (o.passed, o.failed, o.skipped))
    return 0 if o.ok else 1


def soak(chosen, repeat):
    """--repeat N: boots each chosen configuration N times, one boot after
    another (configuration by configuration), and judges every boot on its
    own - a failed boot is never booted again to see whether it passes.
    A passing boot's logs are removed; a failing one's stay as
    NAME.runK.log.  Returns the outcomes, in boot order."""
    outcomes = []
    total = len(chosen) * repeat
    # Logs of an earlier soak would read as this one's failures.
    for c in chosen:
        prefix = c.name + ".run"
        for f in os.listdir(LOG_DIR):
            if f.startswith(prefix) and re.match(r"\d+\.", f[len(prefix):]):
                remove(os.path.join(LOG_DIR, f))
    for c in chosen:
        for k in range(1, repeat + 1):
            o = boot(c, run=k)
            outcomes.append(o)
            show_outcome(o, len(outcomes), total, label="%s run %d/%d" % (c.name, k, repeat))
            if o.ok:
                for path in [o.log] + o.extra_logs:
                    remove(path)
            else:
                say("       log kept: %s" % rel(o.log))
    say("")
    for c in chosen:
        mine = [o for o in outcomes if o.config.name == c.name]
        bad = [o for o in mine if not o.ok]
        say("soak %s: %d runs, %d failed%s" % (c.name, len(mine), len(bad),
                                              "" if not bad else " (%s)" % ", ".join(
                                                  rel(o.log) for o in bad)))
        for o in bad:
            failed_tests = [leaf.path for leaf in (o.ktap.leaves if o.ktap else [])
                            if leaf.status == "fail"]
            say("    %s: %s" % (rel(o.log), "; ".join(
                o.reasons + (["not ok: " + ", ".join(failed_tests)] if failed_tests else []))))
    return outcomes


def _terminated(signum, frame):
    raise KeyboardInterrupt


def main():
    # SIGTERM stops the boots in flight the way Ctrl-C does: each emulator
    # runs in a session of its own and would otherwise outlive the runner
    # (a soak started in the background, where SIGINT is ignored, is
    # stopped with kill PID).
    signal.signal(signal.SIGTERM, _terminated)
    ap = argparse.ArgumentParser(description="Shootdown's test runner (see the top of this file).")
    ap.add_argument("--list", action="store_true", help="list the configurations")
    ap.add_argument("--config", help="run only these configurations (comma separated)")
    ap.add_argument("--smp", type=int, help="run only a TCG BIOS boot with this many CPUs")
    ap.add_argument("--mem", help="memory size for the selected configurations (e.g. 512M)")
    ap.add_argument("--tests", help="the test= suites for the selected configurations "
                    "(comma separated suite names; default: each configuration's own)")
    ap.add_argument("--cmdline", help="kernel options added to the selected configurations "
                    "(e.g. 'lazy_mm=hazard tlbcheck=on')")
    ap.add_argument("--mode", choices=LAZY_MM_MODES,
                    help="boot the selected configurations with lazy_mm=MODE (and require the "
                    "kernel's line saying it applies)")
    # One at a time by default: the SMP stress tests spin-wait on other vCPUs,
    # and two machines sharing two host cores starve each other's vCPUs (a
    # full run took 187 s with two at once and failed a timeout; 82 s alone).
    ap.add_argument("--jobs", "-j", type=int, default=1,
                    help="configurations booted at once (default: 1)")
    ap.add_argument("--host", dest="host", action="store_true", default=None,
                    help="run the host unit tests (the default unless --config/--smp)")
    ap.add_argument("--no-host", dest="host", action="store_false",
                    help="skip the host unit tests")
    ap.add_argument("--models", dest="models", action="store_true", default=None,
                    help="run the Promela models (tools/run-models.sh; the default unless "
                    "--config/--smp)")
    ap.add_argument("--no-models", dest="models", action="store_false",
                    help="skip the Promela models")
    ap.add_argument("--parse", metavar="LOG", help="judge a saved serial log and exit")
    ap.add_argument("--repeat", type=int, metavar="N",
                    help="soak: boot each selected configuration N times, one after another; "
                    "keep each failing boot's log as NAME.runK.log and end with a line "
                    "'soak NAME: N runs, F failed' per configuration")
    args = ap.parse_args()
    if args.repeat is not None and args.repeat < 1:
        ap.error("--repeat N needs N >= 1")

    if args.list:
        list_configs()
        return 0
    if args.parse:
        return parse_only(args)

    chosen = select(args)
    run_host = args.host if args.host is not None else not (args.config or args.smp is not None)
    want_models = args.models if args.models is not None else not (args.config or args.smp is not None)
    if not os.path.exists(vmlib.ELF):
        sys.exit("run-tests: %s does not exist; run `make` first" % vmlib.ELF)
    os.makedirs(LOG_DIR, exist_ok=True)

    start = time.monotonic()
    host = run_host_tests() if run_host else None
    checks = [run_static_check(*check) for check in STATIC_CHECKS] if run_host else []
    models = run_models() if want_models else None

    if args.repeat:
        say("soak: booting %s %d time%s each, one at a time; failing logs kept in %s/"
            % (", ".join(c.name for c in chosen), args.repeat, "" if args.repeat == 1 else "s",
               rel(LOG_DIR)))
        try:
            runs = soak(chosen, args.repeat)
        except KeyboardInterrupt:
            with _children_lock:
                for p in list(_children):
                    kill_group(p)
            say("\ninterrupted")
            return 130
        everything = ([host] if host else []) + checks + runs
        say("total time %.0f s" % (time.monotonic() - start))
        say("%d passed, %d failed, %d skipped" % (sum(o.passed for o in everything),
                                                  sum(o.failed for o in everything),
                                                  sum(o.skipped for o in everything)))
        return 0 if all(o.ok for o in everything) else 1

    say("booting %d configuration%s, %d at a time; serial logs in %s/"
        % (len(chosen), "" if len(chosen) == 1 else "s", args.jobs,
           rel(LOG_DIR)))
    outcomes = {}
    done = 0
    # Slow ones first, so that the fast ones fill the other slot meanwhile.
    order = sorted(chosen, key=lambda c: -c.weight)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        futures = {pool.submit(boot, c): c for c in order}
        for f in concurrent.futures.as_completed(futures):
            o = f.result()
            outcomes[o.config.name] = o
            done += 1
            show_outcome(o, done, len(chosen))
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        with _children_lock:
            for p in list(_children):
                kill_group(p)
        pool.shutdown(wait=True)
        say("\ninterrupted")
        return 130
    pool.shutdown(wait=True)

    ordered = [outcomes[c.name] for c in chosen]
    summary(host, models, ordered, checks)
    everything = ([host] if host else []) + checks + ([models] if models else []) + ordered
    passed = sum(o.passed for o in everything)
    failed = sum(o.failed for o in everything)
    skipped = sum(o.skipped for o in everything)
    bad = [o.config.name for o in everything if not o.ok]
    write_failure_digest([o for o in everything if not o.ok])
    if bad:
        say("FAILED: %s (logs in %s/)" % (", ".join(bad), rel(LOG_DIR)))
    say("total time %.0f s" % (time.monotonic() - start))
    say("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
