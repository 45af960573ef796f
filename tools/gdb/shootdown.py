# tools/gdb/shootdown.py - gdb commands that read Shootdown's TLB state and
# trace rings from a halted machine (sourced by tools/gdb/shootdown.gdb;
# docs/debugging.md shows a session).
#
#   sd-tlbstate   every CPU's loaded mm, lazy flag and ASID slots
#                 (struct cpu_tlbstate, arch/x86_64/include/arch/x86/tlbstate.h)
#   sd-trace [N]  the last N events (default 20) of every CPU's TLB trace
#                 ring, merged by TSC (kernel/debug/tlb_trace.c)
#
# Per-CPU data (kernel/include/kernel/percpu.h): a per-CPU variable's
# address in the .percpu section minus __percpu_start is its offset in
# every CPU's copy; CPU n's copy starts at percpu_base[n] (0: no such CPU).
# These commands read memory only: the machine must be stopped, and what
# they print is the state at the stop (a CPU halted in the middle of
# switch_mm shows loaded_mm "switching").

import gdb
import re


def _static(name, file_hint):
    """A variable that may be static in its file: gdb's lookup of the plain
    name, else the file-qualified one."""
    try:
        return gdb.parse_and_eval(name)
    except gdb.error:
        return gdb.parse_and_eval("'%s'::%s" % (file_hint, name))


def _percpu_bases():
    """[(cpu, base)] of every CPU whose per-CPU area exists."""
    arr = gdb.parse_and_eval("'kernel/smp/percpu.c'::percpu_base")
    n = arr.type.sizeof // arr[0].type.sizeof
    out = []
    for cpu in range(n):
        base = int(arr[cpu])
        if base:
            out.append((cpu, base))
    return out


def _per_cpu(var, base):
    """CPU copy of per-CPU variable `var` (a gdb.Value) at that CPU's base."""
    start = int(gdb.parse_and_eval("(unsigned long)&__percpu_start"))
    addr = base + int(var.address.cast(gdb.lookup_type("unsigned long"))) - start
    return gdb.Value(addr).cast(var.type.pointer()).dereference()


def _mm_name(mm_ptr):
    p = int(mm_ptr.cast(gdb.lookup_type("unsigned long")))
    if p == 0:
        return "(none)", None
    if p == 1:
        return "switching", None        # LOADED_MM_SWITCHING
    init = int(gdb.parse_and_eval("(unsigned long)&init_mm"))
    mm = mm_ptr.dereference()
    if p == init:
        return "init_mm", mm
    return "ctx %d" % int(mm["ctx_id"]), mm


def _running(rq_var, base):
    """'  running NAME' (the CPU's current task, from its runqueue), or ''."""
    if rq_var is None:
        return ""
    try:
        curr = _per_cpu(rq_var, base)["curr"]
        if int(curr) == 0:
            return ""
        return "  running %s" % curr.dereference()["name"].string()
    except (gdb.error, UnicodeDecodeError):
        return ""


class SdTlbState(gdb.Command):
    """Every CPU's TLB state: loaded mm (ctx and tlb_gen), the lazy flag, the
    loaded ASID slot, the task running there, and the slots' cached ctx and
    generation.
Usage: sd-tlbstate"""

    def __init__(self):
        super().__init__("sd-tlbstate", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        ts_var = gdb.parse_and_eval("cpu_tlbstate")
        sh_var = gdb.parse_and_eval("cpu_tlbstate_shared")
        pcid = bool(gdb.parse_and_eval("tlb_use_pcid"))
        print("tlbstate: PCID %s; ASID slot a holds PCID a+1 (init_mm runs in PCID 0)"
              % ("on" if pcid else "off: only slot 0, flushed at every CR3 write"))
        try:
            rq_var = _static("runqueue", "kernel/sched/core.c")
        except gdb.error:
            rq_var = None
        for cpu, base in _percpu_bases():
            ts = _per_cpu(ts_var, base)
            lazy = bool(_per_cpu(sh_var, base)["is_lazy"])
            name, mm = _mm_name(ts["loaded_mm"])
            gen = (" tlb_gen %d" % int(mm["tlb_gen"])) if mm is not None else ""
            user = mm is not None and name != "init_mm"
            print("cpu%d: loaded_mm %s%s%s%s%s" % (
                cpu, name, gen, "  LAZY" if lazy else "",
                ("  asid slot %d" % int(ts["loaded_asid"])) if user else "", _running(rq_var, base)))
            slots = ts["ctxs"]
            nslots = slots.type.sizeof // slots[0].type.sizeof
            cells = []
            for a in range(nslots):
                ctx = int(slots[a]["ctx_id"])
                if ctx:
                    mark = "*" if user and a == int(ts["loaded_asid"]) else ""
                    cells.append("[%d]%s ctx %d gen %d" % (a, mark, ctx, int(slots[a]["tlb_gen"])))
                else:
                    cells.append("[%d] -" % a)
            print("      slots: " + "  ".join(cells) + "  (next victim %d)" % int(ts["next_asid"]))


_EVENTS = ["switch_mm", "lazy_enter", "lazy_handover", "lazy_leave", "flush", "ipi_send",
           "ipi_recv", "kernel_flush", "mm_free", "cr3_load", "lazy_catchup", "leave_mm",
           "lazy_drop", "lazy_free", "flush_local", "kflush_entry"]


def _kernel_names(table, fallback):
    """The strings of one of the dump's name tables in kernel/debug/tlb_trace.c
    (event_names, work_names, cause_names, cr3_names), read from the kernel
    itself so that a name it gains needs no change here; the list given
    when gdb cannot read it."""
    try:
        tab = _static(table, "kernel/debug/tlb_trace.c")
        n = tab.type.sizeof // tab[0].type.sizeof
        return [tab[i].string() if int(tab[i]) else "?" for i in range(n)]
    except gdb.error:
        return fallback


def _event_names():
    return _kernel_names("event_names", _EVENTS)


_WORK = ["nothing", "pages", "full", "not loaded", "lazy: later", "lazy: leave_mm", "caught up"]
_CR3 = ["noflush", "flush", "init_mm"]
_CAUSE = ["munmap", "mprotect", "cow_fault", "fork_wrprotect", "teardown", "test"]


def _load_names():
    """The argument names of the dump, from the kernel when it has them."""
    global _WORK, _CR3, _CAUSE
    _WORK = _kernel_names("work_names", _WORK)
    _CR3 = _kernel_names("cr3_names", _CR3)
    _CAUSE = _kernel_names("cause_names", _CAUSE)


def _cpus(mask):
    return "{%s}" % ",".join(str(i) for i in range(64) if mask >> i & 1)


def _pick(names, i):
    return names[i] if i < len(names) else "?"


# The arguments of each event, read as print_event() in
# kernel/debug/tlb_trace.c prints them (docs/tlb.md's event table).
_FORMAT = {
    "switch_mm": lambda a: "ctx %d -> ctx %d" % (a[0], a[1]),
    "lazy_leave": lambda a: "ctx %d -> ctx %d" % (a[0], a[1]),
    "lazy_enter": lambda a: "ctx %d" % a[0],
    "lazy_handover": lambda a: "ctx %d" % a[0],
    "mm_free": lambda a: "ctx %d" % a[0],
    "leave_mm": lambda a: "ctx %d" % a[0],
    "flush": lambda a: "ctx %d [%#x, %#x) gen %d%s cause=%s" % (a[0], a[1], a[2], a[3] >> 1,
                                                              " freed_tables" if a[3] & 1 else "",
                                                              _pick(_CAUSE, a[4])),
    "ipi_send": lambda a: "ctx %d to %d cpus (mask %#x) skipped: lazy=%s not_running=%s offline=%s" % (
        a[0], bin(a[1]).count("1"), a[1], _cpus(a[2]), _cpus(a[3]), _cpus(a[4])),
    "ipi_recv": lambda a: "ctx %d from cpu%d: %s" % (a[0], a[1], _pick(_WORK, a[2])),
    "flush_local": lambda a: "ctx %d own part: %s" % (a[0], _pick(_WORK, a[1])),
    "kernel_flush": lambda a: "[%#x, %#x) to %d cpus (mask %#x) deferred: user=%s idle=%s" % (
        a[0], a[1], bin(a[2]).count("1"), a[2], _cpus(a[3]), _cpus(a[4])),
    "kflush_entry": lambda a: "deferred kernel flush done at kernel entry (every global entry dropped)",
    "cr3_load": lambda a: "ctx %d pcid %d %s" % (a[0], a[1], _pick(_CR3, a[3])),
    "lazy_catchup": lambda a: "ctx %d slot gen %d mm gen %d: %s" % (a[0], a[1], a[2],
                                                                   "full flush" if a[3] else "nothing"),
    "lazy_drop": lambda a: "ctx %d: borrow dropped (%s)" % (
        a[0], {1: "exit shootdown", 2: "hazard slot", 3: "mmput teardown"}.get(a[1], "asked")),
    "lazy_free": lambda a: "ctx %d: %s calls %d other cpus (mask %#x)" % (
        a[0], "shootdown" if a[1] == 1 else "hazard scan", a[2], a[3]),
}


def _describe(name, a):
    f = _FORMAT.get(name)
    return f(a) if f else " ".join("%#x" % x for x in a)


def _owners():
    """ctx -> "(pid 3 hello)", "(kthread ktest)", "(kernel)": the owners the
    kernel keeps for its dump (owners[] in kernel/debug/tlb_trace.c; a slot
    whose ctx does not match was reused or is being written: no name)."""
    try:
        tab = _static("owners", "kernel/debug/tlb_trace.c")
    except gdb.error:
        return lambda ctx: ""
    n = tab.type.sizeof // tab[0].type.sizeof

    def owner(ctx):
        if ctx == 0:
            return "(kernel)"
        o = tab[ctx % n]
        if int(o["ctx"]) != ctx:
            return "(?)"
        who = o["name"].string(length=int(o["name"].type.sizeof)).split("\0")[0]
        pid = int(o["pid"])
        return "(pid %d %s)" % (pid, who) if pid > 0 else "(kthread %s)" % who
    return owner


def _with_owners(text, owner):
    """Each "ctx N" of a described event with its owner, as the dump prints it."""
    return re.sub(r"\bctx (\d+)", lambda m: "ctx %s %s" % (m.group(1), owner(int(m.group(1)))), text)


def _us_since_boot():
    """A function TSC -> microseconds since boot, as the kernel's dump and
    log lines count them (arch_cycles_to_ns in arch/x86_64/time/tsc.c), or
    None before the clock was calibrated (then the times are ticks)."""
    try:
        khz = int(gdb.parse_and_eval("tsc_khz"))
        boot = int(_static("tsc_boot", "arch/x86_64/time/tsc.c"))
    except gdb.error:
        return None
    if not khz:
        return None
    return lambda tsc: max(tsc - boot, 0) * 1000.0 / khz


class SdTrace(gdb.Command):
    """The TLB trace rings (kernel/debug/tlb_trace.c): the last N events
    (default 20) of each CPU, merged by TSC, times in microseconds since
    boot as in the kernel's dump (in TSC ticks since the first shown before
    the clock is calibrated); the arguments as the kernel's own dump prints
    them, each ctx with its owner.
Usage: sd-trace [N]"""

    def __init__(self):
        super().__init__("sd-trace", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        try:
            per_cpu = int(arg) if arg.strip() else 20
        except ValueError:
            raise gdb.GdbError("sd-trace: N must be a number, not %r" % arg)
        ring_var = _static("tlb_trace_ring", "kernel/debug/tlb_trace.c")
        names = _event_names()
        _load_names()
        events = []
        for cpu, base in _percpu_bases():
            ring = _per_cpu(ring_var, base)
            head = int(ring["head"])
            size = ring["e"].type.sizeof // ring["e"][0].type.sizeof
            nargs = ring["e"][0]["a"].type.sizeof // ring["e"][0]["a"][0].type.sizeof
            first = max(0, head - min(per_cpu, size))
            print("cpu%d: %d events recorded, showing %d" % (cpu, head, head - first))
            for idx in range(first, head):
                e = ring["e"][idx % size]
                if int(e["seq"]) != idx + 1:
                    continue        # overwritten, or being written when the machine stopped
                ev = int(e["event"])
                events.append((int(e["tsc"]), cpu, idx, names[ev] if ev < len(names) else "?",
                               [int(e["a"][i]) for i in range(nargs)]))
        events.sort()
        us = _us_since_boot()
        owner = _owners()
        t0 = events[0][0] if events else 0
        print("times: %s" % ("microseconds since boot" if us else "TSC ticks since the first shown"))
        for tsc, cpu, idx, name, a in events:
            t = "%12.3f us" % us(tsc) if us else "%12d" % (tsc - t0)
            print("%s cpu%d #%-6d %-13s %s" % (t, cpu, idx, name, _with_owners(_describe(name, a), owner)))


SdTlbState()
SdTrace()
