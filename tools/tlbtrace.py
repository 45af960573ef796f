#!/usr/bin/env python3
"""tools/tlbtrace.py - look at the TLB event trace of a serial log.

A kernel booted with `tlbtrace=dump` prints, after its tests or its demo
(or on the key 't' typed on its serial console, or when the checker finds a
violation), every CPU's ring of TLB events merged by time
(kernel/debug/tlb_trace.c, docs/tlb.md):

    tlbtrace: last 128 events per CPU, merged by time (microseconds since boot)
    tlbtrace: from 2499479.210 us (cpu3's oldest event; ...): 33 older lines dropped
    tlbtrace: 53534377.571 us cpu0 flush         ctx 165 (pid 79 faults) [0, 0x800000000000) gen 1 freed_tables cause=teardown
    tlbtrace: 53534382.058 us cpu0 ipi_send      ctx 165 (pid 79 faults) to 0 cpus (mask 0) skipped: lazy={} not_running={1,2,3} offline={}
    ...
    tlbtrace: end (479 lines, 33 older dropped)

Each ctx (an address space) carries its owner - "(pid 79 faults)", a
kernel thread's "(kthread ktest)" or "(kernel)" for init_mm; a flush its
cause=; an IPI batch the CPUs it skipped, by reason; a kernel flush the
CPUs it called and those it deferred to their next kernel entry (user=,
idle=), each of which later shows a kflush_entry.  Older dumps (times in
TSC ticks, no owners, causes or skipped CPUs) still read.

This tool reads such a log and shows the dump in one of two forms:

    python3 tools/tlbtrace.py build/test-logs/smp4.log
        a text view: one row per event, one column per CPU, in time order
    python3 tools/tlbtrace.py build/test-logs/smp4.log --html trace.html
        one self-contained HTML page (no network): a lane per CPU, the
        events as marks on a time axis, lazy periods as bars, IPIs as lines
        from sender to receiver; hover a mark for its line, filter by mm
        (ctx) or by event kind (also from the page's address:
        trace.html#ctx=84&kinds=flush,ipi_send&axis=time)

    --ctx 84          only the events that name ctx 84 (text view)
    --kind flush,ipi_send   only these event kinds (text view)
    --width 26        the width of a CPU's column (text view)
    --dump N          the N-th dump of the log (default: the last)

Reading is tolerant: a line's fields are found by their words (ctx N,
[a, b), gen N, from cpuN, ...) and any extra `key=value` fields are kept and
shown, so a richer trace line still reads.  A log without a dump is an
error (exit status 2); a line that cannot be read, a dump without its end
line (a truncated log) or an unknown event name is a warning on stderr, and
the rest is shown.
"""
import argparse
import html
import json
import os
import re
import sys

sys.dont_write_bytecode = True    # no __pycache__ in tools/

PREFIX = "tlbtrace:"
HEADER = re.compile(r"^tlbtrace:\s+last\b.*\bevents\b")
END = re.compile(r"^tlbtrace:\s+end\b")
# The window line: where every CPU's ring still holds all its events.
WINDOW = re.compile(r"^tlbtrace:\s+from\s+(?P<t>\d+(?:\.\d+)?)\s*(?:us|µs|ticks)?\b.*?"
                    r"(?P<dropped>\d+) older lines? dropped")
# Printed before the header when the checker froze the trace.
FROZEN = re.compile(r"^tlbtrace:\s+the trace as cpu(?P<cpu>\d+) stopped it")
# "ctx 5 (pid 3 hello)": the owner in parentheses after a ctx number.
OWNER = re.compile(r"\bctx (\d+) \(([^()]*)\)")
SKIP_REASONS = ("lazy", "not_running", "offline")
# A kernel flush (kernel_flush) leaves out the CPUs it deferred to their
# next kernel entry (kflush_defer), by the state they were in.
DEFER_REASONS = ("user", "idle")
EVENT = re.compile(r"^tlbtrace:\s+(?P<t>\d+(?:\.\d+)?)\s*(?:us|µs|ticks)?\s+cpu(?P<cpu>\d+)\s+"
                   r"(?P<kind>[a-z][a-z0-9_]*)(?:\s+(?P<rest>.*))?$")
NUM = r"(?:0x[0-9a-fA-F]+|\d+)"

# The event kinds the kernel prints (enum tlb_trace_event), with what a
# line of that kind must contain to be whole: a line cut short in the log
# lacks a part and earns a warning.  Each part is looked for on its own, so
# a richer line (a pid after the ctx, a cause=...) still reads as whole.
CTX = r"\bctx \d+"
RANGE = r"\[%s, %s\)" % (NUM, NUM)
KINDS = {
    "switch_mm": [r"\bctx \d+ -> ctx \d+"],
    "lazy_enter": [CTX],
    "lazy_handover": [CTX],
    "lazy_leave": [r"\bctx \d+ -> ctx \d+"],
    "flush": [CTX, RANGE, r"\bgen \d+"],
    "ipi_send": [CTX, r"\bto \d+ cpus", r"\(mask %s\)" % NUM],
    "ipi_recv": [CTX, r"\bfrom cpu\d+: \S"],
    "flush_local": [CTX, r"\bown part: \S"],
    "kernel_flush": [RANGE],
    "kflush_entry": [r"\bdeferred kernel flush done\b"],
    "mm_free": [CTX],
    "cr3_load": [CTX, r"\bpcid \d+ (?:noflush|flush|init_mm)\b"],
    "lazy_catchup": [CTX, r"\bslot gen \d+ mm gen \d+: (?:full flush|nothing)"],
    "leave_mm": [CTX],
    "lazy_drop": [CTX, r"borrow dropped \(\w[^)]*\)"],
    "lazy_free": [CTX, r"\bcalls \d+ other cpus", r"\(mask %s\)" % NUM],
}

# How the page and the text view group the kinds (the legend's order).
GROUPS = [
    ("flush", ["flush", "flush_local", "kernel_flush", "kflush_entry", "lazy_catchup"]),
    ("ipi", ["ipi_send", "ipi_recv"]),
    ("cr3", ["cr3_load"]),
    ("switch", ["switch_mm", "lazy_enter", "lazy_handover", "lazy_leave", "leave_mm"]),
    ("lifetime", ["lazy_drop", "lazy_free", "mm_free"]),
]


class TraceError(Exception):
    """The log cannot be shown at all (no dump in it)."""


def num(s):
    return int(s, 16) if s.lower().startswith("0x") else int(s)


def mask_cpus(mask):
    return [i for i in range(64) if mask >> i & 1]


def without_owners(rest):
    """The line's arguments with "ctx 5 (pid 3 hello)" read as "ctx 5"."""
    return OWNER.sub(lambda m: "ctx " + m.group(1), rest)


def parse_fields(kind, rest):
    """The fields of one event line's arguments, found by their words."""
    f = {}
    # Owners first, then read the line without them.
    owners = OWNER.findall(rest)
    if owners:
        f["owner"] = owners[0][1]
        if len(owners) > 1:
            f["next_owner"] = owners[1][1]
        rest = without_owners(rest)
    for reason in SKIP_REASONS + DEFER_REASONS:
        m = re.search(r"\b%s=\{([\d,]*)\}" % reason, rest)
        if m:
            f.setdefault("skipped", {})[reason] = [int(c) for c in m.group(1).split(",") if c]
    m = re.search(r"\bctx (\d+) -> ctx (\d+)", rest)
    if m:
        f["ctx"], f["next_ctx"] = int(m.group(1)), int(m.group(2))
    else:
        m = re.search(r"\bctx[ =](\d+)", rest)
        if m:
            f["ctx"] = int(m.group(1))
    m = re.search(r"\[(%s), (%s)\)" % (NUM, NUM), rest)
    if m:
        f["start"], f["end"] = num(m.group(1)), num(m.group(2))
    m = re.search(r"(?<!slot )(?<!mm )\bgen (\d+)", rest)
    if m and kind == "flush":
        f["gen"] = int(m.group(1))
    if re.search(r"\bfreed_tables\b", rest):
        f["freed_tables"] = True
    m = re.search(r"\bmask (%s)" % NUM, rest)
    if m:
        f["targets"] = mask_cpus(num(m.group(1)))
    m = re.search(r"\bfrom cpu(\d+)", rest)
    if m:
        f["from"] = int(m.group(1))
    m = re.search(r"\b(?:from cpu\d+|own part): ([^=]+?)(?:\s+\w+=\S+)*\s*$", rest)
    if m:
        f["work"] = m.group(1)
    m = re.search(r"\bpcid (\d+) (noflush|flush|init_mm)\b", rest)
    if m:
        f["pcid"], f["load"] = int(m.group(1)), m.group(2)
    m = re.search(r"\bslot gen (\d+) mm gen (\d+): (full flush|nothing)", rest)
    if m:
        f["slot_gen"], f["mm_gen"] = int(m.group(1)), int(m.group(2))
        f["caught_up"] = m.group(3)
    # Fields a richer trace adds as key=value (cause=munmap, pid=3...).
    for k, v in re.findall(r"\b([a-z_][a-z0-9_]*)=(\S+)", rest):
        if not v.startswith("{"):
            f.setdefault(k, v)
    return f


class Dump:
    def __init__(self, line):
        self.line = line            # the header's line number in the log
        self.header = ""
        self.unit = "ticks"
        self.events = []
        self.ended = False
        self.window = None          # the "from ... us" line's time, if any
        self.dropped = 0            # the older lines the kernel left out
        self.frozen_by = None       # the CPU whose checker violation froze it


def warn(path, lineno, msg):
    print("tlbtrace: warning: %s:%d: %s" % (path, lineno, msg), file=sys.stderr)


def read_dumps(path, text, warnings=None):
    """The dumps in a log's text, each with its events.  Problems go to
    `warnings` (a list of strings) when given, else to stderr."""
    def problem(lineno, msg):
        if warnings is not None:
            warnings.append("%s:%d: %s" % (path, lineno, msg))
        else:
            warn(path, lineno, msg)

    dumps = []
    cur = None
    frozen = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.replace("\r", "").rstrip()
        # A serial log can carry other output before the prefix on a line.
        at = line.find(PREFIX)
        if at < 0:
            continue
        line = line[at:]
        m = FROZEN.match(line)
        if m:
            frozen = int(m.group("cpu"))
            continue
        if HEADER.match(line):
            if cur is not None and not cur.ended:
                problem(cur.line, "a dump without its end line 'tlbtrace: end' (another dump starts at line %d)"
                        % lineno)
            cur = Dump(lineno)
            cur.frozen_by, frozen = frozen, None
            cur.header = line[len(PREFIX):].strip()
            cur.unit = "us" if re.search(r"micro|\bus\b|µs", cur.header) else "ticks"
            dumps.append(cur)
            continue
        if cur is None or cur.ended:
            if EVENT.match(line):
                problem(lineno, "an event line outside a dump (no header line before it): skipped")
            continue
        if END.match(line):
            cur.ended = True
            continue
        m = WINDOW.match(line)
        if m:
            cur.window = float(m.group("t")) if "." in m.group("t") else int(m.group("t"))
            cur.dropped = int(m.group("dropped"))
            continue
        m = EVENT.match(line)
        if not m:
            problem(lineno, "cannot read this trace line (truncated?), skipped: %r" % line)
            continue
        kind, rest = m.group("kind"), (m.group("rest") or "").strip()
        ev = {
            "i": len(cur.events),
            "t": float(m.group("t")) if "." in m.group("t") else int(m.group("t")),
            "cpu": int(m.group("cpu")),
            "kind": kind,
            "text": rest,
            "line": lineno,
        }
        ev.update(parse_fields(kind, rest))
        if kind not in KINDS:
            problem(lineno, "unknown event kind %r (shown as it is)" % kind)
        elif not all(re.search(part, without_owners(rest)) for part in KINDS[kind]):
            problem(lineno, "a %s line without all its fields (truncated?): %r" % (kind, line))
        cur.events.append(ev)
    if cur is not None and not cur.ended:
        problem(cur.line, "the dump has no end line 'tlbtrace: end' (the log is truncated?); "
                "showing the %d events read" % len(cur.events))
    return dumps


def load(path, which=None, warnings=None):
    """The chosen dump of the log at `path` (the last by default; `which`
    counts from 1).  Raises TraceError when there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise TraceError("cannot read %s: %s" % (path, e.strerror or e))
    dumps = read_dumps(path, text, warnings)
    if not dumps:
        raise TraceError("%s holds no TLB trace dump (no line 'tlbtrace: last ... events'); "
                         "boot with tlbtrace=dump, e.g. python3 tools/run-tests.py --smp 4 "
                         "--tests mm_smp --cmdline tlbtrace=dump" % path)
    if which is None:
        which = len(dumps)
    if not 1 <= which <= len(dumps):
        raise TraceError("%s holds %d dump%s; there is no dump %d"
                         % (path, len(dumps), "" if len(dumps) == 1 else "s", which))
    d = dumps[which - 1]
    if not d.events:
        raise TraceError("%s: the dump at line %d holds no events" % (path, d.line))
    return d, len(dumps)


def cpus_of(events):
    most = max(e["cpu"] for e in events)
    for e in events:
        for cpus in e.get("skipped", {}).values():
            most = max([most] + cpus)
    return list(range(most + 1))


def owners(events):
    """ctx -> its owner as the dump names it ("pid 3 hello", "kthread ktest",
    "kernel"), for the ctxs whose lines carry one."""
    out = {}
    for e in events:
        if "ctx" in e and "owner" in e:
            out.setdefault(e["ctx"], e["owner"])
        if "next_ctx" in e and "next_owner" in e:
            out.setdefault(e["next_ctx"], e["next_owner"])
    return out


def unaccounted(e, cpus):
    """The CPUs of the dump an IPI batch neither called nor gave a reason to
    skip: on a correct kernel none (each other CPU is called, lazy, not
    running the mm or offline; for a kernel flush: called, or deferred in
    user mode or idle), so one here is a CPU that was forgotten.  A kernel
    flush line of an older kernel names no deferred CPUs: not judged."""
    if e["kind"] not in ("ipi_send", "kernel_flush") or "skipped" not in e:
        return []
    told = set(e.get("targets", [])) | {e["cpu"]}
    for cpus_skipped in e["skipped"].values():
        told |= set(cpus_skipped)
    return [c for c in cpus if c not in told]


def skips(events):
    """(event index, cpu, reason) for each CPU an IPI batch left out; the
    reason "unaccounted" for one it left out without a reason."""
    cpus = cpus_of(events)
    out = []
    for e in events:
        if e["kind"] not in ("ipi_send", "kernel_flush"):
            continue
        for reason in SKIP_REASONS + DEFER_REASONS:
            out += [(e["i"], cpu, reason) for cpu in e.get("skipped", {}).get(reason, [])]
        out += [(e["i"], cpu, "unaccounted") for cpu in unaccounted(e, cpus)]
    return out


def lazy_periods(events):
    """The spans each CPU spent lazy (a kernel thread on a borrowed mm),
    from lazy_enter to lazy_leave.  A CPU whose first lazy event is a
    handover or a leave was lazy before its ring's window: its span starts
    at its first event in the dump.  A handover on a CPU known not to be
    lazy starts a span there: the last switch away from an exiting task,
    whose mm is already gone, is a kernel -> kernel switch.  leave_mm (the
    CPU moves to init_mm, ctx 0) and a handover to another mm split a span."""
    t_first = {}
    for e in events:
        t_first.setdefault(e["cpu"], e["t"])
    t_last = events[-1]["t"]
    open_ = {}
    known = set()       # CPUs whose lazy state is known from a transition
    out = []

    def close(cpu, t, end_kind):
        p = open_.pop(cpu, None)
        if p is not None:
            p["t1"] = t
            p["end"] = end_kind
            out.append(p)

    def start(cpu, t, ctx, kind):
        open_[cpu] = {"cpu": cpu, "ctx": ctx, "t0": t, "start": kind}

    for e in events:
        cpu, kind, t = e["cpu"], e["kind"], e["t"]
        ctx = e.get("ctx")
        if kind == "lazy_enter":
            close(cpu, t, kind)
            start(cpu, t, ctx, kind)
        elif kind == "lazy_handover":
            p = open_.get(cpu)
            if p is None:
                if cpu in known:
                    start(cpu, t, ctx, kind)
                else:
                    start(cpu, t_first[cpu], ctx, "(before the dump)")
            elif p["ctx"] != ctx:
                close(cpu, t, kind)
                start(cpu, t, ctx, kind)
        elif kind == "lazy_leave":
            if cpu not in open_ and cpu not in known:
                start(cpu, t_first[cpu], ctx, "(before the dump)")
            close(cpu, t, kind)
        elif kind == "leave_mm" and cpu in open_:
            close(cpu, t, kind)
            start(cpu, t, 0, kind)
        elif kind == "switch_mm":
            close(cpu, t, kind)
        if kind in ("lazy_enter", "lazy_handover", "lazy_leave", "switch_mm"):
            known.add(cpu)
    for cpu in list(open_):
        close(cpu, t_last, "(after the dump)")
    return sorted(out, key=lambda p: (p["cpu"], p["t0"]))


def ipi_links(events):
    """Pairs (send index, receive index): each ipi_recv tied to the latest
    ipi_send before it by its sender for the same ctx."""
    last_send = {}
    links = []
    for e in events:
        if e["kind"] == "ipi_send":
            last_send[(e["cpu"], e.get("ctx"))] = e["i"]
        elif e["kind"] == "ipi_recv" and "from" in e:
            s = last_send.get((e["from"], e.get("ctx")))
            if s is not None:
                links.append((s, e["i"]))
    return links


# ---- the text view ----------------------------------------------------------

# A flush's cause in the narrow column (the page and the log have it whole).
SHORT_CAUSE = {"mprotect": "mprot", "cow_fault": "cow", "fork_wrprotect": "fork", "teardown": "tdown"}


def short(e):
    """A few words for an event in a narrow column."""
    k, f = e["kind"], e
    c = "c%s" % f["ctx"] if "ctx" in f else ""
    if k in ("switch_mm", "lazy_leave") and "next_ctx" in f:
        return "%s %s->c%d" % ({"switch_mm": "switch", "lazy_leave": "lazy-leave"}[k], c, f["next_ctx"])
    if k == "flush":
        if "end" not in f:
            what = "?"
        else:
            n = (f["end"] - f["start"]) // 4096
            what = "all" if n >= 1 << 20 else "%dp" % n
        cause = SHORT_CAUSE.get(f.get("cause"), f.get("cause"))
        return "FLUSH %s%s %s g%s%s" % (c, " " + cause if cause else "", what, f.get("gen", "?"),
                                      " ft" if f.get("freed_tables") else "")
    if k == "flush_local":
        return "own %s %s" % (c, f.get("work", ""))
    if k == "ipi_send":
        return "IPI> %s to %s" % (c, ",".join(str(t) for t in f.get("targets", [])) or "-")
    if k == "ipi_recv":
        return "<IPI %s cpu%s %s" % (c, f.get("from", "?"), f.get("work", ""))
    if k == "cr3_load":
        return "cr3 %s p%s %s" % (c, f.get("pcid", "?"), f.get("load", ""))
    if k == "lazy_catchup":
        return "catchup %s %s" % (c, "FLUSH" if f.get("caught_up") == "full flush" else "none")
    if k == "kernel_flush":
        return "KFLUSH to %s" % (",".join(str(t) for t in f.get("targets", [])) or "-")
    if k == "kflush_entry":
        return "KFLUSH deferred, done"
    if k == "lazy_enter":
        return "lazy %s" % c
    if k == "lazy_handover":
        return "lazy-hand %s" % c
    return "%s %s" % (k, c)


def fmt_time(t):
    return ("%.3f" % t) if isinstance(t, float) else str(t)


SKIP_CELL = {"lazy": "skip:lazy", "not_running": "skip:not-run", "offline": "skip:offline",
             "user": "defer:user", "idle": "defer:idle", "unaccounted": "SKIPPED?!"}


def window_note(d):
    """The header's additions: where the dump starts, and why it was made."""
    notes = []
    if d.window is not None:
        notes.append("from %s %s, where every cpu's ring is complete (%d older lines dropped)"
                     % (fmt_time(d.window), d.unit, d.dropped))
    if d.frozen_by is not None:
        notes.append("frozen by a checker violation on cpu%d" % d.frozen_by)
    return notes


def text_view(d, ctx=None, kinds=None, width=24, out=sys.stdout):
    events = d.events
    cpus = cpus_of(events)
    shown = [e for e in events
             if (ctx is None or ctx in (e.get("ctx"), e.get("next_ctx")))
             and (kinds is None or e["kind"] in kinds)]
    tw = max(8, max(len(fmt_time(e["t"])) for e in events))
    # A CPU lazy at a row's time (a kernel thread on a borrowed mm) shows
    # ':' in its otherwise empty cell: who a flush can skip, and why.
    lazy = {}
    for p in lazy_periods(events):
        lazy.setdefault(p["cpu"], []).append((p["t0"], p["t1"]))

    def is_lazy(cpu, t):
        return any(t0 < t < t1 for t0, t1 in lazy.get(cpu, ()))

    out.write("%s\n" % "; ".join([d.header] + window_note(d)))
    out.write("%*s  %s\n" % (tw, d.unit, " ".join(("cpu%d" % c).ljust(width) for c in cpus).rstrip()))
    out.write("%s  %s\n" % ("-" * tw, " ".join("-" * width for _ in cpus)))
    for e in shown:
        cells = [":" if is_lazy(c, e["t"]) else "" for c in cpus]
        # An IPI batch's row: the CPUs it left out say why.
        for reason in SKIP_REASONS + DEFER_REASONS:
            for c in e.get("skipped", {}).get(reason, []):
                cells[c] = SKIP_CELL[reason]
        for c in unaccounted(e, cpus):
            cells[c] = SKIP_CELL["unaccounted"]
        cells[e["cpu"]] = short(e)[:width]
        out.write("%*s  %s\n" % (tw, fmt_time(e["t"]), " ".join(c[:width].ljust(width) for c in cells).rstrip()))
    counts = {}
    for e in shown:
        counts[e["kind"]] = counts.get(e["kind"], 0) + 1
    out.write("(':' in a cpu's column: that cpu is lazy, a kernel thread on a borrowed mm; 'skip:why' on an IPI row:\n"
              " the batch left that cpu out - lazy (catches up later), not-run (not running the mm), offline;\n"
              " 'defer:user', 'defer:idle' on a KFLUSH row: that cpu flushes at its next kernel entry instead;\n"
              " 'SKIPPED?!': neither called nor given a reason - a forgotten cpu)\n")
    out.write("%d events shown of %d on %d cpus: %s\n"
              % (len(shown), len(events), len(cpus),
                 ", ".join("%s %d" % (k, n) for k, n in sorted(counts.items())) or "none"))
    names = owners(shown)
    if names:
        out.write("address spaces: %s\n" % ", ".join("c%d = %s" % (c, names[c]) for c in sorted(names)))


# ---- the HTML page ----------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>TLB trace: @TITLE@</title>
<style>
body { font: 13px sans-serif; margin: 12px; color: #222; }
#controls { margin-bottom: 8px; line-height: 1.9; }
#controls label { margin-right: 10px; white-space: nowrap; }
#chart { overflow-x: auto; border: 1px solid #ccc; }
svg text { font: 11px sans-serif; }
.lane-bg { fill: #f6f6f6; }
.period { fill: #ffe8a8; }
.period.init { fill: #e6e6e6; }
.mark { stroke: #000; stroke-width: 0.5; cursor: default; }
.mark:hover { stroke-width: 2; }
.link { stroke: #c33; stroke-width: 0.8; opacity: 0.5; }
.skip { fill: none; stroke-width: 1.5; }
.skip.lazy { stroke: #e69500; }
.skip.not_running { stroke: #aaa; }
.skip.offline { stroke: #000; stroke-dasharray: 2 1; }
.skip.user, .skip.idle { stroke: #8c1a1a; stroke-dasharray: 3 2; }
.skip.unaccounted { stroke: #f00; stroke-width: 3; }
#window { margin-bottom: 6px; }
.hidden { display: none; }
#legend span { display: inline-block; margin-right: 12px; }
#legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; border: 1px solid #000; }
#info { margin-top: 6px; min-height: 1.4em; font-family: monospace; }
</style></head>
<body>
<h3>TLB trace: @TITLE@</h3>
<div id="controls">
 <label>mm: <select id="ctx"><option value="">all</option></select></label>
 <label>time axis: <select id="axis"><option value="order">event order</option><option value="time">time</option></select></label>
 <label>zoom: <select id="zoom"><option>1</option><option>2</option><option>4</option><option>8</option><option>16</option></select></label>
 <span id="kinds"></span>
</div>
<div id="window"></div>
<div id="legend"></div>
<div id="chart"></div>
<div id="info">hover a mark for its trace line</div>
<script type="application/json" id="trace-data">@DATA@</script>
<script>
"use strict";
window.addEventListener("error", function (e) {
  document.body.setAttribute("data-errors", String(e.message || e));
});
(function () {
  var D = JSON.parse(document.getElementById("trace-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = {flush: "#d62728", kernel_flush: "#8c1a1a", kflush_entry: "#c46060", lazy_catchup: "#ff9896",
    flush_local: "#f4a582", ipi_send: "#1f77b4", ipi_recv: "#9ecae1", cr3_load: "#2ca02c", switch_mm: "#9467bd",
    lazy_enter: "#f0b400", lazy_handover: "#ffd966", lazy_leave: "#b38600", leave_mm: "#8c564b",
    lazy_drop: "#e377c2", lazy_free: "#7f7f7f", mm_free: "#000000"};
  var LANE = 34, LEFT = 60, TOP = 24, R = 5;
  function el(name, attrs, parent) {
    var n = document.createElementNS(NS, name);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }
  function color(k) { return COLORS[k] || "#17becf"; }
  var kinds = [];
  D.events.forEach(function (e) { if (kinds.indexOf(e.kind) < 0) kinds.push(e.kind); });
  kinds.sort(function (a, b) { return D.order.indexOf(a) - D.order.indexOf(b); });
  var ctxs = [];
  D.events.forEach(function (e) {
    [e.ctx, e.next_ctx].forEach(function (c) { if (c !== undefined && ctxs.indexOf(c) < 0) ctxs.push(c); });
  });
  ctxs.sort(function (a, b) { return a - b; });
  var sel = document.getElementById("ctx");
  ctxs.forEach(function (c) {
    var o = document.createElement("option");
    var who = D.owners[String(c)] || (c === 0 ? "kernel" : "");
    o.value = String(c); o.textContent = "ctx " + c + (who ? " (" + who + ")" : "");
    sel.appendChild(o);
  });
  var kbox = document.getElementById("kinds"), legend = document.getElementById("legend");
  kinds.forEach(function (k) {
    var l = document.createElement("label");
    var cb = document.createElement("input");
    cb.type = "checkbox"; cb.checked = true; cb.value = k; cb.className = "kind";
    l.appendChild(cb); l.appendChild(document.createTextNode(" " + k));
    kbox.appendChild(l);
    var s = document.createElement("span");
    s.innerHTML = "<i></i>"; s.firstChild.style.background = color(k);
    s.appendChild(document.createTextNode(k)); legend.appendChild(s);
  });
  var lz = document.createElement("span");
  lz.innerHTML = "<i style='background:#ffe8a8'></i>lazy (borrowed mm)";
  legend.appendChild(lz);
  [["lazy", "#e69500"], ["not_running", "#aaa"], ["offline", "#000"],
   ["unaccounted", "#f00"]].forEach(function (r) {
    var s = document.createElement("span");
    s.innerHTML = "<i style='border-radius:6px;background:none;border:2px solid " + r[1] + "'></i>";
    s.appendChild(document.createTextNode("left out of an IPI batch: " + r[0].replace("_", " ")));
    legend.appendChild(s);
  });
  var df = document.createElement("span");
  df.innerHTML = "<i style='border-radius:6px;background:none;border:2px dashed #8c1a1a'></i>";
  df.appendChild(document.createTextNode("kernel flush deferred to its next kernel entry (user mode, idle)"));
  legend.appendChild(df);
  document.getElementById("window").textContent = D.notes.join("; ");

  function draw() {
    var chart = document.getElementById("chart");
    chart.textContent = "";
    var zoom = Number(document.getElementById("zoom").value);
    var byTime = document.getElementById("axis").value === "time";
    var ctx = sel.value === "" ? null : Number(sel.value);
    var on = {};
    Array.prototype.forEach.call(document.querySelectorAll("input.kind"), function (cb) { on[cb.value] = cb.checked; });
    function visible(e) {
      return on[e.kind] && (ctx === null || e.ctx === ctx || e.next_ctx === ctx);
    }
    // In event order only the shown events take a column (a hidden one
    // sits at the next shown one's), so a filtered view is not mostly gaps.
    var shownEv = D.events.filter(visible);
    if (!shownEv.length) shownEv = D.events;
    var rank = [], r = 0;
    D.events.forEach(function (e) { rank.push(Math.min(r, shownEv.length - 1)); if (visible(e)) r++; });
    var n = shownEv.length, t0 = D.events[0].t, t1 = D.events[D.events.length - 1].t;
    var W = Math.max(800, Math.min(n * 8, 4000)) * zoom;
    function x(e) {
      if (byTime) return LEFT + (t1 > t0 ? (e.t - t0) / (t1 - t0) : 0) * W;
      return LEFT + (n > 1 ? rank[e.i] / (n - 1) : 0) * W;
    }
    function xt(t) {
      if (byTime) return LEFT + (t1 > t0 ? (t - t0) / (t1 - t0) : 0) * W;
      // In event order a time falls at the first event at or after it.
      var lo = 0, hi = n - 1;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (shownEv[mid].t < t) lo = mid + 1; else hi = mid; }
      return LEFT + (n > 1 ? lo / (n - 1) : 0) * W;
    }
    var H = TOP + D.cpus.length * LANE + 10;
    var svg = el("svg", {width: LEFT + W + 20, height: H, id: "timeline"}, chart);
    var axis = el("g", {"class": "axis"}, svg);
    for (var k = 0; k <= 10; k++) {
      var ax = LEFT + W * k / 10;
      var at = byTime ? t0 + (t1 - t0) * k / 10 : shownEv[Math.round((n - 1) * k / 10)].t;
      el("line", {x1: ax, x2: ax, y1: TOP - 4, y2: H - 10, stroke: "#ddd"}, axis);
      var lab = el("text", {x: ax + 2, y: TOP - 8}, axis);
      var dt = D.unit === "ticks" ? Math.round(at - t0) : Math.round((at - t0) * 1000) / 1000;
      lab.textContent = String(dt) + (k === 0 ? " " + D.unit : "");
    }
    var lanes = {};
    D.cpus.forEach(function (c, j) {
      var g = el("g", {"class": "lane", "data-cpu": c}, svg);
      var y = TOP + j * LANE;
      el("rect", {"class": "lane-bg", x: LEFT, y: y + 2, width: W, height: LANE - 4}, g);
      var t = el("text", {x: 4, y: y + LANE / 2 + 4}, g); t.textContent = "cpu" + c;
      lanes[c] = {g: g, y: y};
    });
    D.periods.forEach(function (p) {
      if (ctx !== null && p.ctx !== ctx) return;
      var L = lanes[p.cpu], a = xt(p.t0), b = xt(p.t1);
      var r = el("rect", {"class": "period" + (p.ctx === 0 ? " init" : ""), x: a, y: L.y + LANE - 10,
        width: Math.max(b - a, 1), height: 6}, L.g);
      el("title", {}, r).textContent = "cpu" + p.cpu + " lazy on ctx " + p.ctx + " from " + p.start + " to " + p.end;
    });
    var links = el("g", {"class": "links"}, svg);
    D.links.forEach(function (l) {
      var s = D.events[l[0]], r = D.events[l[1]];
      if (!visible(s) || !visible(r)) return;
      el("line", {"class": "link", x1: x(s), y1: lanes[s.cpu].y + LANE / 2, x2: x(r), y2: lanes[r.cpu].y + LANE / 2}, links);
    });
    // The CPUs an IPI batch left out: a hollow ring on their lane at the
    // batch's time, coloured by the reason.
    var skipped = 0;
    D.skips.forEach(function (s) {
      var e = D.events[s[0]], L = lanes[s[1]];
      if (!L || !visible(e)) return;
      var c = el("circle", {"class": "skip " + s[2], "data-reason": s[2], "data-i": e.i,
        cx: x(e), cy: L.y + LANE / 2 - 3, r: R + 2}, L.g);
      var why = e.kind === "kernel_flush" ?
        (s[2] === "unaccounted" ? " left out of cpu" + e.cpu + "'s kernel flush: unaccounted" :
         " not called by cpu" + e.cpu + "'s kernel flush: " + (s[2] === "user" ? "in user mode" : s[2]) +
         ", it flushes at its next kernel entry") :
        " left out of cpu" + e.cpu + "'s IPI batch for ctx " + e.ctx + ": " + s[2].replace("_", " ");
      el("title", {}, c).textContent = "cpu" + s[1] + why + "  (" + e.t + " " + D.unit + ", log line " + e.line + ")";
      skipped++;
    });
    var drawn = 0;
    D.events.forEach(function (e) {
      var L = lanes[e.cpu], cx = x(e), cy = L.y + LANE / 2 - 3;
      var m;
      var attrs = {"class": "mark", "data-kind": e.kind, "data-i": e.i, fill: color(e.kind)};
      if (e.kind === "flush" || e.kind === "flush_local" || e.kind === "kernel_flush" || e.kind === "kflush_entry" ||
          e.kind === "lazy_catchup") {
        attrs.x = cx - R; attrs.y = cy - R; attrs.width = 2 * R; attrs.height = 2 * R;
        m = el("rect", attrs, L.g);
      } else if (e.kind === "ipi_send" || e.kind === "ipi_recv") {
        var d = e.kind === "ipi_send" ? -R : R;
        attrs.points = [cx, cy - d, cx - R, cy + d, cx + R, cy + d].join(" ");
        m = el("polygon", attrs, L.g);
      } else {
        attrs.cx = cx; attrs.cy = cy; attrs.r = e.kind === "mm_free" ? R + 1 : R - 1;
        m = el("circle", attrs, L.g);
      }
      if (e.ctx !== undefined) m.setAttribute("data-ctx", e.ctx);
      el("title", {}, m).textContent = e.t + " " + D.unit + "  cpu" + e.cpu + "  " + e.kind + "  " + e.text +
        "  (log line " + e.line + ")";
      m.addEventListener("mouseover", function () {
        document.getElementById("info").textContent = "cpu" + e.cpu + " " + e.kind + " " + e.text + "   [log line " + e.line + "]";
      });
      if (!visible(e)) m.classList.add("hidden"); else drawn++;
    });
    document.body.setAttribute("data-lanes", String(D.cpus.length));
    document.body.setAttribute("data-marks", String(svg.querySelectorAll(".mark").length));
    document.body.setAttribute("data-shown", String(drawn));
    document.body.setAttribute("data-skips", String(skipped));
  }
  // A link can carry the filters: page.html#ctx=96&kinds=flush,ipi_send
  // (the tests use it, and a student can share a view).
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("="), v = decodeURIComponent(p[1] || "");
    if (p[0] === "ctx" && ctxs.indexOf(Number(v)) >= 0) sel.value = v;
    if (p[0] === "kinds") {
      var want = v.split(",");
      Array.prototype.forEach.call(document.querySelectorAll("input.kind"), function (cb) {
        cb.checked = want.indexOf(cb.value) >= 0;
      });
    }
    if (p[0] === "axis" && (v === "time" || v === "order")) document.getElementById("axis").value = v;
  });
  sel.addEventListener("change", draw);
  document.getElementById("axis").addEventListener("change", draw);
  document.getElementById("zoom").addEventListener("change", draw);
  Array.prototype.forEach.call(document.querySelectorAll("input.kind"), function (cb) { cb.addEventListener("change", draw); });
  draw();
  if (!document.body.hasAttribute("data-errors")) document.body.setAttribute("data-ok", "1");
})();
</script>
</body></html>
"""


def html_page(d, title):
    data = {
        "unit": d.unit,
        "header": d.header,
        "cpus": cpus_of(d.events),
        "events": d.events,
        "periods": lazy_periods(d.events),
        "links": ipi_links(d.events),
        "owners": {str(c): o for c, o in owners(d.events).items()},
        "skips": skips(d.events),
        "notes": window_note(d),
        "order": [k for _, ks in GROUPS for k in ks],
    }
    # "</" inside the JSON would end the script element.
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return PAGE.replace("@TITLE@", html.escape(title)).replace("@DATA@", blob)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Show the TLB trace dump of a serial log "
                                 "(a kernel booted with tlbtrace=dump).")
    ap.add_argument("log", help="the serial log (e.g. build/test-logs/smp4.log)")
    ap.add_argument("--html", metavar="OUT", help="write the HTML timeline page to OUT")
    ap.add_argument("--ctx", type=int, help="text view: only the events naming this ctx")
    ap.add_argument("--kind", help="text view: only these event kinds (comma separated)")
    ap.add_argument("--width", type=int, default=24, help="text view: a CPU column's width")
    ap.add_argument("--dump", type=int, metavar="N", help="the N-th dump of the log (default: the last)")
    args = ap.parse_args(argv)
    if args.width < 8:
        ap.error("--width must be at least 8")
    try:
        d, ndumps = load(args.log, args.dump)
    except TraceError as e:
        print("tlbtrace: error: %s" % e, file=sys.stderr)
        return 2
    kinds = None
    if args.kind:
        kinds = {k.strip() for k in args.kind.split(",") if k.strip()}
        # A kind this tool does not know is fine if the log has it.
        known = set(KINDS) | {e["kind"] for e in d.events}
        unknown = sorted(kinds - known)
        if unknown:
            print("tlbtrace: error: --kind: unknown event kind%s %s (the kinds: %s)"
                  % ("" if len(unknown) == 1 else "s", ", ".join(unknown), ", ".join(sorted(known))),
                  file=sys.stderr)
            return 2
    if ndumps > 1 and args.dump is None:
        print("tlbtrace: note: %s holds %d dumps; showing the last (--dump N picks another)"
              % (args.log, ndumps), file=sys.stderr)
    if args.html:
        title = "%s (dump %d of %d)" % (os.path.basename(args.log), args.dump or ndumps, ndumps)
        try:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(html_page(d, title))
        except OSError as e:
            print("tlbtrace: error: cannot write %s: %s" % (args.html, e.strerror or e), file=sys.stderr)
            return 2
        print("tlbtrace: %s: %d events on %d cpus" % (args.html, len(d.events), len(cpus_of(d.events))))
        return 0
    try:
        text_view(d, args.ctx, kinds, args.width)
    except BrokenPipeError:
        # `| head`: the reader left; not an error.
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
