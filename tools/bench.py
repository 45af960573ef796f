#!/usr/bin/env python3
"""tools/bench.py - the runner behind `make bench`: the user benchmark
program bench (started with the boot option run=bench) booted once
per machine configuration, several times over, its result lines kept.

A configuration is an emulator, a CPU count, a lazy-mm mode
(docs/lazy-mm.md) and, under Bochs, pcid=on or pcid=off:

  QEMU TCG   every mode x every CPU count of --cpus (default 2 and 4); QEMU's
             TCG CPU has no PCID, so these run without it.
  Bochs      every mode x pcid=on and pcid=off at --bochs-cpus CPUs (default
             2); Bochs's corei7_haswell_4770 has PCID and INVPCID, so only
             there does pcid=off change anything (docs/tlb.md).  Bochs runs
             a few tens of millions of instructions a second: the whole
             program takes about 5 minutes there, so its rows add
             --bochs-bench to the program's words (default ITERS=100, a
             tenth of the iterations) and boot --bochs-boots times
             (default 1).  Its time-stamp counter counts instructions, not
             the host's time, so a second boot measures nearly the same.

The modes are the kernel's own: the names of lazy_mm_choices[] in
kernel/mm/lazy_mm.c, so a mode added there is measured without a change
here (--modes narrows them).

Boots run one at a time (two at once would share the host's cores and
measure each other).  They go in rounds: round 1 boots every configuration
once, round 2 again, and so on (--boots rounds), so that a slow phase of a
busy host spreads over all configurations instead of spoiling one, and a
budget that runs out (--budget seconds of wall time; before a boot the
runner checks that the boots' average still fits) leaves every
configuration with the same number of boots give or take one.

Each boot writes build/bench/raw/EMU-smpN-MODE[-pcidX]-bK.txt: a header
line `# bench-boot emulator=... cpus=... mode=... pcid=... boot=K
status=... seconds=...`, the kernel's CPU-feature and TLB lines (as comments),
then the program's `BENCH ...` lines (the program prints their format).
The serial log of each boot is build/bench/logs/ (same name, .log).
tools/bench-report.py reads build/bench/raw/ and writes the table and the
plots.  The raw directory is emptied first (--keep adds to it instead).

The exit status is 0 when every boot ended with the program's status 0
and printed BENCH lines in the mode asked for, 1 otherwise (the boots that
did are kept all the same), 2 for bad arguments.

Timing is what this measures, so nothing here asserts it: make test never
runs this (tests assert counts; README.md, "Measuring").

Python 3 standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in tools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402

OUT = os.path.join(vmlib.BUILD, "bench")
RAW = os.path.join(OUT, "raw")
LOGS = os.path.join(OUT, "logs")
ISOS = os.path.join(OUT, "isos")
LAZY_MM_SOURCE = os.path.join(vmlib.ROOT, "kernel", "mm", "lazy_mm.c")
BOCHS_CPU = "corei7_haswell_4770"    # has PCID and INVPCID (tools/run-tests.py's Bochs rows too)
PROGRAM = "bench"

# The longest silence on a boot's serial log before it is stopped, in
# seconds (as tools/run-tests.py, times SHOOTDOWN_TIMEOUT_SCALE).
SILENCE = {"qemu": 300, "bochs": 900}
TIMEOUT_SCALE = float(os.environ.get("SHOOTDOWN_TIMEOUT_SCALE", "1"))

BENCH_LINE = re.compile(r"BENCH name=\S+.*$")
KEEP_LINES = re.compile(r"(cpu features: .*|tlb: pcid .*|lazy_mm: mode .*)$")


def die(message):
    """Bad arguments (or a tree the runner cannot read): exit status 2."""
    print("bench: error: " + message, file=sys.stderr)
    sys.exit(2)


def kernel_modes():
    """The lazy-mm mode names, in the kernel's order, from lazy_mm_choices[]."""
    with open(LAZY_MM_SOURCE) as f:
        text = f.read()
    m = re.search(r"lazy_mm_choices\[\]\s*=\s*\{([^}]*)\}", text)
    names = re.findall(r'"([a-z_0-9]+)"', m.group(1)) if m else []
    if not names:
        die("no lazy_mm_choices[] in %s: cannot tell the kernel's lazy-mm modes"
                 % os.path.relpath(LAZY_MM_SOURCE, vmlib.ROOT))
    return names


class Config:
    def __init__(self, emulator, cpus, mode, pcid=None, extra=()):
        self.emulator, self.cpus, self.mode, self.pcid = emulator, cpus, mode, pcid
        self.extra = list(extra)        # --cmdline: more kernel options

    @property
    def stem(self):
        s = "%s-smp%d-%s" % (self.emulator, self.cpus, self.mode)
        return s + ("-pcid" + self.pcid if self.pcid else "")

    def cmdline(self, names, bochs_words=()):
        words = ["lazy_mm=" + self.mode]
        if self.pcid:
            words.append("pcid=" + self.pcid)
        words += self.extra
        if self.emulator == "bochs":
            names = list(names) + list(bochs_words)
        # run= takes the rest of the line: last (kernel/proc/run.c).
        return " ".join(words + ["run=" + " ".join([PROGRAM] + names)])


def split_words(s):
    return [w for w in re.split(r"[\s,]+", s or "") if w]


def plan(args):
    modes = kernel_modes()
    asked = split_words(args.modes)
    unknown = [m for m in asked if m not in modes]
    if unknown:
        die("no lazy-mm mode %s (the kernel's: %s)" % (", ".join(unknown), " ".join(modes)))
    modes = asked or modes
    try:
        cpus = [int(c) for c in split_words(args.cpus)]
        bochs_cpus = int(args.bochs_cpus)
    except ValueError:
        die("CPU counts are numbers: --cpus '%s', --bochs-cpus '%s'" % (args.cpus, args.bochs_cpus))
    if any(c < 1 or c > 64 for c in cpus + [bochs_cpus]):
        die("CPU counts go from 1 to 64")
    pcids = split_words(args.pcid)
    if any(p not in ("on", "off") for p in pcids):
        die("--pcid takes 'on', 'off' or both, not '%s'" % args.pcid)
    configs = [Config("qemu", c, m) for c in cpus for m in modes]
    if pcids and not vmlib.have("bochs"):
        print("bench: no bochs here (tools/deps.sh installs it): the pcid=on/off rows are left out", flush=True)
        pcids = []
    configs += [Config("bochs", bochs_cpus, m, p) for m in modes for p in pcids]
    if not configs:
        die("nothing to boot (no CPU counts and no Bochs rows)")
    return configs


def wait_quietly(proc, log, silence):
    """Wait for the emulator to end; stop it after `silence` seconds in
    which its serial log did not grow.  True when it ended by itself."""
    size, last = -1, time.monotonic()
    while True:
        try:
            proc.wait(timeout=1)
            return True
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        grown = os.path.getsize(log) if os.path.exists(log) else -1
        if grown != size:
            size, last = grown, now
        if now - last >= silence:
            vmlib.stop(proc)
            return False


def boot(config, names, index, bochs_words=()):
    """One boot; returns (ok, seconds, what went wrong or None)."""
    stem = "%s-b%d" % (config.stem, index)
    log = os.path.join(LOGS, stem + ".log")
    iso = os.path.join(ISOS, config.stem + ".iso")
    cmdline = config.cmdline(names, bochs_words)
    if not os.path.exists(iso):
        vmlib.build_iso(iso, cmdline)
    if os.path.exists(log):
        os.unlink(log)
    start = time.monotonic()
    qemu_status = None
    if config.emulator == "qemu":
        argv = vmlib.qemu_argv(iso, smp=config.cpus, serial=log)
    else:
        rc, cmds = os.path.join(LOGS, stem + ".bochsrc"), os.path.join(LOGS, stem + ".bochs-cmds")
        with open(rc, "w") as f:
            f.write(vmlib.bochsrc(iso, log, os.path.join(LOGS, stem + ".bochs.log"),
                                  smp=config.cpus, model=BOCHS_CPU))
        with open(cmds, "w") as f:
            f.write("c\n")
        argv = vmlib.bochs_argv(rc, cmds)
    with open(os.path.join(LOGS, stem + ".emu.txt"), "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            ended = wait_quietly(proc, log, SILENCE[config.emulator] * TIMEOUT_SCALE)
        finally:
            vmlib.stop(proc)
    seconds = time.monotonic() - start
    if config.emulator == "qemu" and ended:
        qemu_status = proc.returncode
    text = ""
    if os.path.exists(log):
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace").replace("\r", "")
    status, why = vmlib.run_status(text, qemu_status)
    results = [m.group(0).rstrip() for m in map(BENCH_LINE.search, text.splitlines()) if m]
    problem = None
    if not ended:
        problem = "stopped after %d s without serial output" % SILENCE[config.emulator]
    elif why:
        problem = why
    elif status != 0:
        problem = "%s exited with status %d" % (PROGRAM, status)
    elif "lazy_mm: mode %s" % config.mode not in text:
        problem = "the kernel did not say 'lazy_mm: mode %s'" % config.mode
    elif not results:
        problem = "no BENCH lines"
    elif any(" mode=%s " % config.mode not in r for r in results):
        problem = "BENCH lines of another lazy-mm mode than %s" % config.mode
    elif any(" cpus=%d " % config.cpus not in r for r in results):
        problem = "BENCH lines of another CPU count than %d" % config.cpus
    header = ["# bench-boot emulator=%s cpus=%d mode=%s pcid=%s boot=%d status=%d seconds=%.1f"
              % (config.emulator, config.cpus, config.mode, config.pcid or "cpu", index, status, seconds),
              "# cmdline: " + cmdline]
    if problem:
        header.append("# failed: " + problem)
    header += ["# kernel: " + m.group(1) for m in map(KEEP_LINES.search, text.splitlines()) if m]
    with open(os.path.join(RAW, stem + ".txt"), "w") as f:
        f.write("\n".join(header + results) + "\n")
    return problem is None, seconds, problem


def main():
    ap = argparse.ArgumentParser(description="Boot run=bench in each configuration (make bench).")
    ap.add_argument("--modes", default="", help="lazy-mm modes (default: all the kernel has)")
    ap.add_argument("--cpus", default="2 4", help="QEMU TCG CPU counts ('' for none)")
    ap.add_argument("--pcid", default="on off", help="Bochs rows: pcid=on, off, or both ('' for no Bochs)")
    ap.add_argument("--bochs-cpus", default="2", help="CPUs of the Bochs machine")
    ap.add_argument("--boots", type=int, default=3, help="boots per configuration")
    ap.add_argument("--bochs-boots", type=int, default=1, help="boots per Bochs configuration")
    ap.add_argument("--bochs-bench", default="ITERS=100",
                    help="more words for run=bench on Bochs (default ITERS=100)")
    ap.add_argument("--bench", default="", help="benchmark names for run=bench (default: all)")
    ap.add_argument("--budget", type=float, default=1080, help="wall seconds for all boots")
    ap.add_argument("--keep", action="store_true", help="add to build/bench/raw/ instead of emptying it")
    ap.add_argument("--cmdline", default="",
                    help="more kernel options for every boot, e.g. frame_cache=off to measure what a "
                         "mechanism saves (the raw files' '# cmdline:' line records them)")
    args = ap.parse_args()
    if args.boots < 1 or args.bochs_boots < 1:
        die("--boots and --bochs-boots must be at least 1")
    configs = plan(args)
    for c in configs:
        c.extra = args.cmdline.split()
    names = split_words(args.bench)
    bochs_words = split_words(args.bochs_bench)
    if not args.keep:
        shutil.rmtree(RAW, ignore_errors=True)
    shutil.rmtree(ISOS, ignore_errors=True)    # one per configuration, with this run's command line
    for d in (RAW, LOGS, ISOS):
        os.makedirs(d, exist_ok=True)
    def boots_of(c):
        return args.bochs_boots if c.emulator == "bochs" else args.boots
    total = sum(boots_of(c) for c in configs)
    print("bench: %d configurations, %d boots (%s), budget %d s"
          % (len(configs), total, ", ".join(c.stem for c in configs), args.budget), flush=True)
    start = time.monotonic()
    spent = {"qemu": [], "bochs": []}
    done, failures, skipped = 0, [], []
    for index in range(1, max(args.boots, args.bochs_boots) + 1):
        for config in configs:
            if index > boots_of(config):
                continue
            took = spent[config.emulator]
            guess = sum(took) / len(took) if took else 0
            if time.monotonic() - start + guess > args.budget:
                skipped.append("%s-b%d" % (config.stem, index))
                continue
            ok, seconds, problem = boot(config, names, index, bochs_words)
            took.append(seconds)
            done += 1
            print("bench: [%d/%d] %s boot %d: %s (%.0f s)"
                  % (done, total, config.stem, index, "ok" if ok else "FAILED: " + problem, seconds), flush=True)
            if not ok:
                failures.append("%s-b%d: %s" % (config.stem, index, problem))
    print("bench: %d boots in %.0f s; raw lines in %s/" % (done, time.monotonic() - start,
                                                        os.path.relpath(RAW, vmlib.ROOT)))
    if skipped:
        print("bench: the budget (%d s; BENCH_BUDGET=) left out %d boots: %s"
              % (args.budget, len(skipped), " ".join(skipped)))
    for f in failures:
        print("bench: failed: %s (log: %s/)" % (f, os.path.relpath(LOGS, vmlib.ROOT)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
