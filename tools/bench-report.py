#!/usr/bin/env python3
"""tools/bench-report.py - the table and the plots of `make bench`.

Reads the raw files tools/bench.py wrote (build/bench/raw/*.txt: one per
boot, a `# bench-boot emulator=... boot=K ...` header and the `BENCH ...`
lines of the bench program) and writes into build/bench/ (--out):

  build/bench/results.md
                  one markdown table: a row per benchmark (its name and its
                  k=, pages=, state= words), a column per configuration
                  (emulator, CPUs, lazy-mm mode, PCID); each cell is the
                  median over the boots of each boot's median, and in
                  parentheses the spread between the boots: (largest -
                  smallest boot median) / that median.  Below it, how large
                  the spreads were, and the boots left out (a failed boot's
                  lines are not used).
  *-k-*.svg       for each benchmark measured against k (the other threads
                  of the process, busy or idle): its cost and its IPIs per
                  operation against k, one line per lazy-mm mode and state,
                  one file per machine.  A vertical bar through a point
                  spans the smallest to the largest boot median.
  fork-exit.svg   the benchmarks whose name starts with fork, spawn, exit or
                  thread: cycles per mode, a panel per machine.
  pcid.svg        where a machine was booted with pcid=on and pcid=off
                  (Bochs): cycles with PCID / cycles without, per benchmark
                  and mode (below 1: PCID made it cheaper).

A BENCH line is, as the bench program (run=bench) prints it:
  BENCH name=N cpus=C mode=M pcid=on|off [k=K] [pages=P] [state=busy|idle]
        value=MEDIAN unit=cycles iters=I min=.. p10=.. p90=.. COUNTER=AVG ...
where every word after p90= is a kernel counter's average per operation.
A line that does not have this shape is an error naming its file and line
(exit status 2), as is a raw directory without any BENCH line.

The SVG is written by hand (no plotting library): plain lines, rectangles
and text, readable by a browser or any SVG viewer.

Python 3 standard library only.
"""

import argparse
import math
import os
import re
import statistics
import sys
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True    # no __pycache__ in tools/
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAZY_MM_SOURCE = os.path.join(ROOT, "kernel", "mm", "lazy_mm.c")

REQUIRED = ("name", "cpus", "mode", "pcid", "value", "unit", "iters", "min", "p10", "p90")
NUMBERS = ("cpus", "value", "iters", "min", "p10", "p90")
PARAMS = ("k", "pages", "state")    # words that say which case of a benchmark a line is
WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)=(\S+)$")
EMULATORS = ("qemu", "bochs")
FORK_EXIT = re.compile(r"^(fork|spawn|exit|thread)")    # not yield_thread, ipc_thread...


class BadInput(Exception):
    pass


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def parse_words(words, where):
    out = {}
    for w in words:
        m = WORD.match(w)
        if not m:
            raise BadInput("%s: '%s' is not a NAME=VALUE word" % (where, w))
        out[m.group(1)] = m.group(2)
    return out


def number(text, where, what):
    try:
        v = float(text)
    except ValueError:
        raise BadInput("%s: %s=%s is not a number" % (where, what, text)) from None
    if math.isnan(v) or math.isinf(v):
        raise BadInput("%s: %s=%s is not a finite number" % (where, what, text))
    return v


def parse_bench_line(line, where):
    """A BENCH line -> dict: the required fields (numbers as floats), params
    {k, pages, state present}, counters {name: per-op average}."""
    words = line.split()
    if not words or words[0] != "BENCH":
        raise BadInput("%s: not a BENCH line" % where)
    fields = parse_words(words[1:], where)
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise BadInput("%s: BENCH line without %s" % (where, ", ".join(f + "=" for f in missing)))
    r = {"name": fields["name"], "mode": fields["mode"], "pcid": fields["pcid"], "unit": fields["unit"]}
    if r["pcid"] not in ("on", "off"):
        raise BadInput("%s: pcid=%s (on or off)" % (where, r["pcid"]))
    for f in NUMBERS:
        r[f] = number(fields[f], where, f)
    r["cpus"] = int(r["cpus"])
    params = {}
    for p in PARAMS:
        if p in fields:
            params[p] = fields[p] if p == "state" else int(number(fields[p], where, p))
    if "state" in params and params["state"] not in ("busy", "idle"):
        raise BadInput("%s: state=%s (busy or idle)" % (where, params["state"]))
    r["params"] = params
    known = set(REQUIRED) | set(PARAMS)
    r["counters"] = {k: number(v, where, k) for k, v in fields.items() if k not in known}
    return r


def read_raw(paths):
    """The boots in these files: a list of dicts {file, emulator, boot,
    failed (None or why), results [...]}.  A file may hold several boots,
    each starting with its `# bench-boot` header."""
    boots = []
    for path in paths:
        name = os.path.basename(path)
        current = None
        with open(path, errors="replace") as f:
            for no, line in enumerate(f, 1):
                line = line.strip()
                where = "%s:%d" % (name, no)
                if line.startswith("# bench-boot"):
                    meta = parse_words(line.split()[2:], where)
                    if "emulator" not in meta:
                        raise BadInput("%s: a bench-boot header without emulator=" % where)
                    current = {"file": name, "emulator": meta["emulator"],
                               "boot": meta.get("boot", "?"), "failed": None, "results": []}
                    boots.append(current)
                elif line.startswith("# failed:"):
                    if current is None:
                        raise BadInput("%s: '# failed:' before any '# bench-boot' header" % where)
                    current["failed"] = line[len("# failed:"):].strip()
                elif line.startswith("BENCH"):
                    if current is None:
                        raise BadInput("%s: a BENCH line before any '# bench-boot' header" % where)
                    current["results"].append(parse_bench_line(line, where))
                elif line and not line.startswith("#"):
                    raise BadInput("%s: neither a BENCH line nor a '#' comment: %.60s" % (where, line))
    return boots


# ---------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------

def kernel_mode_order():
    try:
        with open(LAZY_MM_SOURCE) as f:
            m = re.search(r"lazy_mm_choices\[\]\s*=\s*\{([^}]*)\}", f.read())
        return re.findall(r'"([a-z_0-9]+)"', m.group(1)) if m else []
    except OSError:
        return []


class Data:
    """cells[(bench, config)] = [per-boot result dicts]."""

    def __init__(self, boots):
        self.boots = boots
        self.used = [b for b in boots if not b["failed"]]
        self.cells = {}
        bench_seen, modes_seen = [], []
        for b in self.used:
            for r in b["results"]:
                bench = bench_key(r)
                config = (b["emulator"], r["cpus"], r["mode"], r["pcid"])
                self.cells.setdefault((bench, config), []).append(r)
                if r["name"] not in bench_seen:
                    bench_seen.append(r["name"])
                if r["mode"] not in modes_seen:
                    modes_seen.append(r["mode"])
        order = kernel_mode_order()
        self.modes = [m for m in order if m in modes_seen] + sorted(m for m in modes_seen if m not in order)
        self.name_order = bench_seen

        def bench_sort(bk):
            name, params = bk
            p = dict(params)
            return (self.name_order.index(name), p.get("pages", -1), p.get("state", ""), p.get("k", -1))
        self.benches = sorted({bk for bk, _ in self.cells}, key=bench_sort)
        self.configs = sorted({c for _, c in self.cells}, key=self.config_sort)

    def config_sort(self, c):
        emu, cpus, mode, pcid = c
        e = EMULATORS.index(emu) if emu in EMULATORS else len(EMULATORS)
        return (e, emu, cpus, self.modes.index(mode), pcid != "on")

    def values(self, bench, config, counter=None):
        rs = self.cells.get((bench, config), [])
        if counter is None:
            return [r["value"] for r in rs]
        return [r["counters"][counter] for r in rs if counter in r["counters"]]


def bench_key(r):
    return (r["name"], tuple(sorted(r["params"].items())))


def bench_label(bk):
    name, params = bk
    p = dict(params)
    words = [name] + ["%s=%s" % (k, p[k]) for k in ("pages", "k", "state") if k in p]
    return " ".join(words)


def machine_label(emu, cpus, pcid):
    return "%s, %d CPU%s, pcid=%s" % ({"qemu": "QEMU TCG", "bochs": "Bochs"}.get(emu, emu),
                                      cpus, "" if cpus == 1 else "s", pcid)


def config_label(c):
    emu, cpus, mode, pcid = c
    return "%s %dcpu %s%s" % ({"qemu": "QEMU"}.get(emu, emu.capitalize()), cpus, mode,
                              " pcid=" + pcid if emu != "qemu" or pcid == "on" else "")


def summary(vals):
    """(median, smallest, largest, spread in % or None with one value)."""
    med = statistics.median(vals)
    spread = (max(vals) - min(vals)) / med * 100 if len(vals) > 1 and med > 0 else None
    return med, min(vals), max(vals), spread


def fmt_value(v):
    if v >= 100:
        return "%d" % round(v)
    return ("%.2f" % v).rstrip("0").rstrip(".") or "0"


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def table(data):
    head = ["benchmark"] + [config_label(c) for c in data.configs]
    rows = [head, ["---"] + ["---:"] * len(data.configs)]
    for bk in data.benches:
        row = [bench_label(bk)]
        for c in data.configs:
            vals = data.values(bk, c)
            if not vals:
                row.append("")
                continue
            med, _, _, spread = summary(vals)
            row.append("%s (%s)" % (fmt_value(med), "%.0f%%" % spread if spread is not None else "1 boot"))
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def spread_summary(data):
    spreads = []
    for bk in data.benches:
        for c in data.configs:
            vals = data.values(bk, c)
            if len(vals) > 1:
                s = summary(vals)[3]
                if s is not None:
                    spreads.append((s, bk, c))
    if not spreads:
        return "Spread between boots: only one boot per configuration, so none to show."
    spreads.sort()
    only = [s for s, _, _ in spreads]
    worst = spreads[-1]
    return ("Spread between boots (largest - smallest boot median, over the median), over %d cells "
            "with two boots or more: median %.1f%%, 90th percentile %.1f%%, largest %.1f%% (%s, %s)."
            % (len(only), statistics.median(only), only[min(len(only) - 1, int(0.9 * len(only)))],
               worst[0], bench_label(worst[1]), config_label(worst[2])))


# ---------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]
FONT = 'font-family="sans-serif"'


def color(i):
    return COLORS[i % len(COLORS)]


def nice_ticks(lo, hi, n=5):
    """Round tick values covering [lo, hi] (lo is usually 0)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t < hi + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def tick_text(v):
    if v >= 1e6:
        return "%gM" % (v / 1e6)
    if v >= 1e4:
        return "%gk" % (v / 1e3)
    return "%g" % v


def text(x, y, s, size=12, anchor="start", extra=""):
    return '<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" %s%s>%s</text>' % (
        x, y, size, anchor, FONT, extra, escape(str(s)))


def svg_document(width, height, parts):
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>',
                      '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'
                      % (width, height, width, height),
                      '<rect x="0" y="0" width="%d" height="%d" fill="white"/>' % (width, height)]
                     + parts + ["</svg>", ""])


def line_panel(x0, y0, w, h, title, xlabel, ylabel, series):
    """A line chart at (x0, y0) of size w x h.  series: [(label, color,
    dashed, [(x, y, lo, hi)])].  Returns SVG parts."""
    parts = []
    pts = [p for s in series for p in s[3]]
    left, right, top, bottom = 60, 10, 28, 40
    pw, ph = w - left - right, h - top - bottom
    xs = sorted({p[0] for p in pts}) or [0, 1]
    xmin, xmax = min(xs), max(xs)
    if xmax == xmin:
        xmax = xmin + 1
    yticks = nice_ticks(0, max([p[3] for p in pts] + [p[1] for p in pts] + [1e-9]))
    ymax = yticks[-1]

    def X(v):
        return x0 + left + (v - xmin) / (xmax - xmin) * pw

    def Y(v):
        return y0 + top + ph - v / ymax * ph
    parts.append(text(x0 + w / 2, y0 + 16, title, 13, "middle", ' font-weight="bold"'))
    for t in yticks:
        parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>' % (X(xmin), Y(t), X(xmax), Y(t)))
        parts.append(text(X(xmin) - 6, Y(t) + 4, tick_text(t), 11, "end"))
    for v in xs:
        parts.append(text(X(v), y0 + top + ph + 16, tick_text(v), 11, "middle"))
    parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444444"/>'
                 % (x0 + left, y0 + top, pw, ph))
    parts.append(text(x0 + left + pw / 2, y0 + h - 6, xlabel, 12, "middle"))
    parts.append(text(x0 + 14, y0 + top + ph / 2, ylabel, 12, "middle",
                      ' transform="rotate(-90 %.1f %.1f)"' % (x0 + 14, y0 + top + ph / 2)))
    for label, col, dashed, points in series:
        points = sorted(points)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        if len(points) > 1:
            parts.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                         % (col, dash, " ".join("%.1f,%.1f" % (X(p[0]), Y(p[1])) for p in points)))
        for x, y, lo, hi in points:
            if hi > lo:
                parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                             % (X(x), Y(lo), X(x), Y(hi), col))
            if dashed:
                parts.append('<rect x="%.1f" y="%.1f" width="7" height="7" fill="white" stroke="%s" stroke-width="2"/>'
                             % (X(x) - 3.5, Y(y) - 3.5, col))
            else:
                parts.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (X(x), Y(y), col))
    return parts


def legend(x, y, entries, columns=3, width=220):
    """entries: [(label, color, dashed)]; returns (parts, height)."""
    parts = []
    for i, (label, col, dashed) in enumerate(entries):
        ex, ey = x + (i % columns) * width, y + (i // columns) * 18
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>'
                     % (ex, ey, ex + 28, ey, col, dash))
        parts.append(text(ex + 34, ey + 4, label, 12))
    rows = (len(entries) + columns - 1) // columns
    return parts, rows * 18


def hbar_panels(title, subtitle, panels, series, xlabel, reference=None, label_width=230, width=820):
    """Horizontal grouped bars.  panels: [(panel title, [(row label,
    {series: (value, lo, hi)})])]; series: [names] (one color each).
    reference: an x value drawn as a line (e.g. 1.0 for a ratio)."""
    bar, gap = 11, 8
    parts = [text(width / 2, 20, title, 14, "middle", ' font-weight="bold"'),
             text(width / 2, 38, subtitle, 12, "middle")]
    leg, leg_h = legend(label_width, 58, [(s, color(i), False) for i, s in enumerate(series)], columns=4, width=130)
    parts += leg
    y = 58 + leg_h + 10
    plot_w = width - label_width - 30
    for ptitle, rows in panels:
        vmax = max([v[2] for _, vals in rows for v in vals.values()] + [reference or 0, 1e-9])
        ticks = nice_ticks(0, vmax)
        xmax = ticks[-1]

        def X(v):
            return label_width + v / xmax * plot_w
        parts.append(text(10, y + 14, ptitle, 13, "start", ' font-weight="bold"'))
        y += 24
        top = y
        bars = []    # after the grid lines, so that those stay behind them
        for label, vals in rows:
            n = max(1, len([s for s in series if s in vals]))
            bars.append(text(label_width - 8, y + n * bar / 2 + 4, label, 11, "end"))
            for i, s in enumerate(series):
                if s not in vals:
                    continue
                v, lo, hi = vals[s]
                bars.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"/>'
                            % (X(0), y, max(0.5, X(v) - X(0)), bar - 1, color(i)))
                if hi > lo:
                    bars.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222222"/>'
                                % (X(lo), y + bar / 2, X(hi), y + bar / 2))
                y += bar
            y += gap
        for t in ticks:
            parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#cccccc"/>' % (X(t), top, X(t), y))
            parts.append(text(X(t), y + 14, tick_text(t), 11, "middle"))
        parts += bars
        if reference is not None:
            parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000000" stroke-dasharray="4 3"/>'
                         % (X(reference), top, X(reference), y))
        y += 34
    parts.append(text(label_width + plot_w / 2, y + 2, xlabel, 12, "middle"))
    return svg_document(width, int(y + 12), parts)


def pick_counter(data, want):
    seen = []
    for rs in data.cells.values():
        for r in rs:
            for c in r["counters"]:
                if c not in seen:
                    seen.append(c)
    if want in seen:
        return want
    return next((c for c in seen if "ipi" in c), None)


def machines(data):
    out = []
    for emu, cpus, _, pcid in data.configs:
        if (emu, cpus, pcid) not in out:
            out.append((emu, cpus, pcid))
    return out


def k_plots(data, ipi_counter):
    """{file name: svg} for each benchmark with k= words, per machine."""
    out = {}
    counter = pick_counter(data, ipi_counter)
    names = [n for n in data.name_order if any(b[0] == n and "k" in dict(b[1]) for b in data.benches)]
    for name in names:
        for emu, cpus, pcid in machines(data):
            panels = {"cost": [], "ipis": []}
            entries = []
            for mi, mode in enumerate(data.modes):
                config = (emu, cpus, mode, pcid)
                states = sorted({dict(b[1]).get("state", "") for b in data.benches if b[0] == name})
                for state in states:
                    benches = [b for b in data.benches if b[0] == name and dict(b[1]).get("state", "") == state
                               and "k" in dict(b[1]) and data.values(b, config)]
                    if not benches:
                        continue
                    label = mode + (" " + state if state else "")
                    dashed = state == "idle"
                    cost, ipis = [], []
                    for b in benches:
                        k = dict(b[1])["k"]
                        med, lo, hi, _ = summary(data.values(b, config))
                        cost.append((k, med, lo, hi))
                        if counter:
                            iv = data.values(b, config, counter)
                            if iv:
                                m2, lo2, hi2, _ = summary(iv)
                                ipis.append((k, m2, lo2, hi2))
                    panels["cost"].append((label, color(mi), dashed, cost))
                    panels["ipis"].append((label, color(mi), dashed, ipis))
                    entries.append((label, color(mi), dashed))
            if not entries:
                continue
            w, h = 460, 320
            title = "%s against k (%s): busy = the k threads spin in user mode, idle = they are blocked" % (
                name, machine_label(emu, cpus, pcid))
            parts = [text(w, 20, title, 13, "middle", ' font-weight="bold"')]
            parts += line_panel(0, 30, w, h, "cycles per operation (median of boots)", "k (other threads)",
                                "cycles", panels["cost"])
            parts += line_panel(w, 30, w, h, "%s per operation" % (counter or "IPIs (no counter)"),
                                "k (other threads)", "per op", panels["ipis"])
            leg, leg_h = legend(60, 30 + h + 16, entries, columns=4, width=200)
            parts += leg
            fname = "%s-k-%s-smp%d%s.svg" % (re.sub(r"[^A-Za-z0-9_]", "_", name), emu, cpus,
                                             "-pcid" + pcid if emu != "qemu" or pcid == "on" else "")
            out[fname] = svg_document(2 * w, 30 + h + 24 + leg_h, parts)
    return out


def fork_exit_plot(data):
    benches = [b for b in data.benches if FORK_EXIT.search(b[0]) and "k" not in dict(b[1])]
    if not benches:
        return None
    panels = []
    for emu, cpus, pcid in machines(data):
        rows = []
        for b in benches:
            vals = {}
            for mode in data.modes:
                v = data.values(b, (emu, cpus, mode, pcid))
                if v:
                    med, lo, hi, _ = summary(v)
                    vals[mode] = (med, lo, hi)
            if vals:
                rows.append((bench_label(b), vals))
        if rows:
            panels.append((machine_label(emu, cpus, pcid), rows))
    return hbar_panels("Process and thread life cycle: cycles per operation, per lazy-mm mode",
                       "bar: the median of the boots' medians; line through it: smallest to largest",
                       panels, data.modes, "cycles per operation")


def pcid_plot(data):
    """Cycles with PCID over cycles without, where a machine had both."""
    panels = []
    for emu, cpus, pcid in machines(data):
        if pcid != "on" or (emu, cpus, "off") not in machines(data):
            continue
        rows = []
        for b in data.benches:
            vals = {}
            for mode in data.modes:
                on = data.values(b, (emu, cpus, mode, "on"))
                off = data.values(b, (emu, cpus, mode, "off"))
                if on and off and statistics.median(off) > 0:
                    r = statistics.median(on) / statistics.median(off)
                    lo, hi = min(on) / max(off), max(on) / max(min(off), 1e-9)
                    vals[mode] = (r, min(lo, r), max(hi, r))
            if vals:
                rows.append((bench_label(b), vals))
        if rows:
            panels.append((machine_label(emu, cpus, "on/off"), rows))
    if not panels:
        return None
    return hbar_panels("PCID: what tagging the TLB saves, per lazy-mm mode",
                       "cycles with pcid=on / cycles with pcid=off (below 1: cheaper with PCID); "
                       "line: the least and most favourable pair of boots",
                       panels, data.modes, "ratio of the medians", reference=1.0)


# ---------------------------------------------------------------------------

def write_report(raw_dir, out_dir, ipi_counter="tlb.ipi_sent"):
    """Reads raw_dir, writes the table and the SVGs into out_dir; returns
    (Data, [files written])."""
    if not os.path.isdir(raw_dir):
        raise BadInput("%s: no such directory (make bench writes it)" % raw_dir)
    paths = sorted(os.path.join(raw_dir, f) for f in os.listdir(raw_dir) if f.endswith(".txt"))
    boots = read_raw(paths)
    data = Data(boots)
    if not data.cells:
        raise BadInput("%s: no BENCH line from a boot that did not fail (%d files, %d boots)"
                       % (raw_dir, len(paths), len(boots)))
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.endswith(".svg"):
            os.unlink(os.path.join(out_dir, f))
    svgs = k_plots(data, ipi_counter)
    fork = fork_exit_plot(data)
    if fork:
        svgs["fork-exit.svg"] = fork
    pcid = pcid_plot(data)
    if pcid:
        svgs["pcid.svg"] = pcid
    for name, svg in svgs.items():
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(svg)
    counts = {}
    for b in data.used:
        counts.setdefault(b["emulator"], 0)
        counts[b["emulator"]] += 1
    md = ["# make bench: results", "",
          "Cycles per operation (TSC) of the bench program (run=bench), each cell the median over boots of each boot's median, "
          "in parentheses the spread between boots: (largest - smallest boot median) / median.  "
          "%d boots used (%s); QEMU TCG's CPU has no PCID, Bochs (corei7_haswell_4770) has."
          % (len(data.used), ", ".join("%s %d" % kv for kv in sorted(counts.items()))), "",
          table(data), "", spread_summary(data), ""]
    left_out = [b for b in data.boots if b["failed"]]
    if left_out:
        md.append("Boots left out (failed): " + "; ".join("%s boot %s: %s" % (b["file"], b["boot"], b["failed"])
                                                          for b in left_out) + ".")
        md.append("")
    if svgs:
        md.append("Plots: " + ", ".join("[%s](%s)" % (n, n) for n in sorted(svgs)) + ".")
        md.append("")
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md))
    return data, ["results.md"] + sorted(svgs)


def main():
    ap = argparse.ArgumentParser(description="make bench's table and plots from build/bench/raw/.")
    ap.add_argument("--raw", default=os.path.join(ROOT, "build", "bench", "raw"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--ipi-counter", default="tlb.ipi_sent",
                    help="the counter the k plots show per operation (default tlb.ipi_sent)")
    args = ap.parse_args()
    try:
        data, files = write_report(args.raw, args.out, args.ipi_counter)
    except BadInput as e:
        print("bench-report: error: %s" % e, file=sys.stderr)
        return 2
    print("bench-report: %d benchmarks x %d configurations from %d boots; wrote %s in %s/"
          % (len(data.benches), len(data.configs), len(data.used), ", ".join(files),
             os.path.relpath(args.out, os.getcwd())))
    print("bench-report: " + spread_summary(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
