#!/usr/bin/env python3
"""tools/tests/test_tlbtrace_page.py - the HTML timeline of tools/tlbtrace.py
in a real browser: headless Chromium (Debian package `chromium`,
tools/deps.sh) loads the page made from tools/tests/tlbtrace-sample.log and
prints the DOM its script built (--dump-dom).  The checks:

  - the script ran to its end without an error: <body data-ok="1"> and no
    data-errors (a window error handler sets it);
  - one lane (<g class="lane" data-cpu=N>) per CPU of the dump;
  - one mark per event parsed, and in each lane as many marks as the CPU
    has events, each of the event's kind;
  - each CPU an IPI batch left out is a ring on that CPU's lane with its
    reason (the lazy skip of the sample on cpu1, "lazy"), and the
    address spaces are offered by owner in the mm filter;
  - the filters: the page opened as page.html#ctx=89&kinds=... hides
    every mark but those of the listed kinds that name ctx 89;
  - the detector itself: a page whose script throws after drawing is seen
    as failed (data-errors set, no data-ok).

Without chromium, or when it does not answer within its time, the test
prints "tlbtrace-page: skipped: REASON" and passes: the page is then
unchecked, and the line says so.  Run by tools/run-tests.py (`make test`)
and `make test-tlbtrace`; last line "tlbtrace-page: N passed, N failed".
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tlbtrace  # noqa: E402
from checks import Checks  # noqa: E402

SAMPLE = os.path.join(HERE, "tlbtrace-sample.log")
# One page load takes about 8 s on a quiet 2-core machine, much of it
# Chromium's start; this bound only turns a hung browser into a skip.
TIMEOUT = 45

check = Checks()


def skip(reason):
    print("tlbtrace-page: skipped: %s" % reason)
    print("tlbtrace-page: 0 passed, 0 failed")
    sys.exit(0)


class Dom(HTMLParser):
    """The body's attributes, the lanes, and the marks in each lane."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.lanes = []         # cpu numbers, in document order
        self.marks = []         # (lane cpu or None, kind, event index, hidden)
        self.skips = []         # (event index, lane cpu, reason): CPUs an IPI batch left out
        self.options = []       # the texts of the <option>s
        self.in_option = False
        self.stack = []         # the lane of each open <g>

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.body = a
        if tag == "option":
            self.in_option = True
        if tag == "g":
            lane = int(a["data-cpu"]) if "lane" in classes and "data-cpu" in a else None
            if lane is not None:
                self.lanes.append(lane)
            self.stack.append(lane)
        if "mark" in classes:
            here = next((x for x in reversed(self.stack) if x is not None), None)
            self.marks.append((here, a.get("data-kind"), int(a.get("data-i", -1)), "hidden" in classes))
        if "skip" in classes:
            here = next((x for x in reversed(self.stack) if x is not None), None)
            self.skips.append((int(a.get("data-i", -1)), here, a.get("data-reason")))

    def handle_endtag(self, tag):
        if tag == "g" and self.stack:
            self.stack.pop()
        if tag == "option":
            self.in_option = False

    def handle_data(self, data):
        if self.in_option:
            self.options.append(data)


def dump_dom(chromium, page, fragment=""):
    argv = [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
            "--user-data-dir=" + tempfile.mkdtemp(prefix="tlbtrace-chromium-"),
            "--dump-dom", "file://" + page + fragment]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        skip("chromium did not print the page within %d s (a busy machine?)" % TIMEOUT)
    finally:
        shutil.rmtree(argv[5].split("=", 1)[1], ignore_errors=True)
    if p.returncode != 0 or "<body" not in p.stdout:
        skip("chromium could not load a page (exit %d): %s"
             % (p.returncode, " | ".join(p.stderr.strip().splitlines()[-3:])))
    dom = Dom()
    dom.feed(p.stdout)
    return dom


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        skip("no chromium on PATH (tools/deps.sh installs the Debian package)")
    d, _ = tlbtrace.load(SAMPLE)
    cpus = tlbtrace.cpus_of(d.events)
    tmp = tempfile.mkdtemp(prefix="tlbtrace-page-")
    try:
        page = os.path.join(tmp, "trace.html")
        with open(page, "w") as f:
            f.write(tlbtrace.html_page(d, "sample"))
        dom = dump_dom(chromium, page)
        check("the page's script ran to its end", dom.body.get("data-ok") == "1" and "data-errors" not in dom.body,
              str(dom.body))
        check("one lane per cpu", dom.lanes == cpus, "lanes %s, cpus %s" % (dom.lanes, cpus))
        check("one mark per event", len(dom.marks) == len(d.events) == int(dom.body.get("data-marks", -1)),
              "%d marks, %d events" % (len(dom.marks), len(d.events)))
        ok = True
        for cpu in cpus:
            want = sorted(e["kind"] for e in d.events if e["cpu"] == cpu)
            got = sorted(k for lane, k, _, _ in dom.marks if lane == cpu)
            if want != got:
                ok = False
                print("     cpu%d: marks %s, events %s" % (cpu, got, want))
        check("each lane holds its cpu's events, of their kinds", ok)
        check("with no filter every mark is shown", not any(h for _, _, _, h in dom.marks)
              and dom.body.get("data-shown") == str(len(d.events)))
        want_skips = sorted(tlbtrace.skips(d.events))
        check("a ring per skipped cpu, on its lane, with its reason",
              len(want_skips) > 0 and sorted(dom.skips) == want_skips
              and dom.body.get("data-skips") == str(len(want_skips))
              and [s[1:] for s in dom.skips if s[2] == "lazy"] == [(1, "lazy")],
              "%d rings, %d skips" % (len(dom.skips), len(want_skips)))
        check("the mm filter names each address space's owner",
              "ctx 89 (kthread tlb-lazy-skip)" in dom.options and "ctx 0 (kernel)" in dom.options,
              str(dom.options[:4]))

        # Both filters must matter on the sample: some events of these
        # kinds name another ctx, and some naming ctx 89 are of other kinds.
        kinds = {"cr3_load", "switch_mm", "lazy_leave", "flush"}
        names89 = [e for e in d.events if 89 in (e.get("ctx"), e.get("next_ctx"))]
        want = sorted(e["i"] for e in names89 if e["kind"] in kinds)
        check("the sample makes both filters matter", 0 < len(want) < len(names89)
              and len(want) < sum(1 for e in d.events if e["kind"] in kinds))
        dom = dump_dom(chromium, page, "#ctx=89&kinds=" + ",".join(sorted(kinds)))
        shown = sorted(i for _, _, i, h in dom.marks if not h)
        check("filtered by ctx and kind: exactly the matching marks are shown",
              dom.body.get("data-ok") == "1" and shown == want
              and dom.body.get("data-shown") == str(len(want)),
              "shown %s, want %s" % (shown, want))

        # A kernel flush's deferred cpus (kflush_defer) and a forgotten one
        # get their rings too, and a deferred cpu's entry flush its mark.
        kf = os.path.join(tmp, "kflush.log")
        with open(kf, "w") as f:
            f.write("tlbtrace: last 128 events per CPU, merged by time (microseconds since boot)\n"
                    "tlbtrace: 1.000 us cpu0 kernel_flush  [0xffffc0000002b000, 0xffffc0000002c000) to 1 cpus "
                    "(mask 0x2) deferred: user={2} idle={3}\n"
                    "tlbtrace: 2.000 us cpu3 kflush_entry  deferred kernel flush done at kernel entry "
                    "(every global entry dropped)\n"
                    "tlbtrace: 3.000 us cpu0 kernel_flush  [0xffffc0000002b000, 0xffffc0000002c000) to 1 cpus "
                    "(mask 0x2) deferred: user={} idle={3}\n"
                    "tlbtrace: end (3 lines, 0 older dropped)\n")
        dk, _ = tlbtrace.load(kf)
        kpage = os.path.join(tmp, "kflush.html")
        with open(kpage, "w") as f:
            f.write(tlbtrace.html_page(dk, "kflush"))
        dom = dump_dom(chromium, kpage)
        check("a kernel flush's deferred and forgotten cpus: a ring each, on its lane, with its reason",
              dom.body.get("data-ok") == "1"
              and sorted(dom.skips) == [(0, 2, "user"), (0, 3, "idle"), (2, 2, "unaccounted"), (2, 3, "idle")]
              and (3, "kflush_entry", 1, False) in dom.marks,
              "rings %s, marks %s" % (sorted(dom.skips), dom.marks))

        # The detector must see a page that fails: one that throws.
        bad = os.path.join(tmp, "throws.html")
        with open(bad, "w") as f:
            f.write(re.sub(r"\n  draw\(\);\n", "\n  draw(); null.boom();\n", tlbtrace.html_page(d, "bad"), count=1))
        dom = dump_dom(chromium, bad)
        check("a page that throws is seen: data-errors, no data-ok",
              "data-ok" not in dom.body and "boom" in dom.body.get("data-errors", ""), str(dom.body))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary("tlbtrace-page")


if __name__ == "__main__":
    sys.exit(main())
