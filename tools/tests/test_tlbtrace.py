#!/usr/bin/env python3
"""tools/tests/test_tlbtrace.py - host tests of tools/tlbtrace.py's parser
and text view, on the checked-in sample log tools/tests/tlbtrace-sample.log
(cut from a real `tlbtrace=dump` boot) and on small broken logs made here.

Run by tools/run-tests.py (`make test`, with the host tests) and by
`make test-tlbtrace`.  Prints one line per check and, last,
"tlbtrace: N passed, N failed"; the exit status is non-zero on a failure.
"""
import io
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path.insert(0, TOOLS)
import tlbtrace  # noqa: E402
from checks import Checks  # noqa: E402

SAMPLE = os.path.join(HERE, "tlbtrace-sample.log")
TOOL = os.path.join(TOOLS, "tlbtrace.py")

check = Checks()


def sample_lines():
    with open(SAMPLE) as f:
        return f.read().splitlines()


def run_tool(args):
    p = subprocess.run([sys.executable, TOOL] + args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def write_log(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
    f.write(text)
    f.close()
    return f.name


def load_text(text):
    """(dump or None, warnings, error) for a log given as text."""
    path = write_log(text)
    warnings = []
    try:
        d, _ = tlbtrace.load(path, warnings=warnings)
        return d, warnings, None
    except tlbtrace.TraceError as e:
        return None, warnings, str(e)
    finally:
        os.unlink(path)


HEAD = "tlbtrace: last 128 events per CPU, merged by TSC (ticks since the first shown)\n"


def test_sample():
    # What the sample holds, counted here without the parser: every line
    # "tlbtrace: <number> cpuN <kind> ..." between the header and the end.
    want = [line for line in sample_lines() if re.match(r"^tlbtrace:\s+\d+ cpu\d+ ", line)]
    warnings = []
    d, ndumps = tlbtrace.load(SAMPLE, warnings=warnings)
    check("sample: one dump, read without a warning", ndumps == 1 and not warnings, "; ".join(warnings))
    check("sample: every event line is one event", len(d.events) == len(want) == 92,
          "%d events, %d lines" % (len(d.events), len(want)))
    check("sample: events keep the log's order and time",
          [e["t"] for e in d.events] == [int(line.split()[1]) for line in want]
          and [e["cpu"] for e in d.events] == [int(line.split()[2][3:]) for line in want])
    check("sample: 4 cpus", tlbtrace.cpus_of(d.events) == [0, 1, 2, 3])
    kinds = {}
    for e in d.events:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    check("sample: counts by kind", kinds.get("flush") == 6 and kinds.get("ipi_send") == 4
          and kinds.get("ipi_recv") == 11 and kinds.get("mm_free") == 1 and kinds.get("lazy_drop") == 4,
          str(kinds))
    check("sample: the header's unit is ticks", d.unit == "ticks")
    return d


def find(d, kind, **fields):
    return [e for e in d.events if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items())]


def test_fields(d):
    sw = find(d, "switch_mm")[0]
    check("switch_mm: ctx -> next ctx", (sw["ctx"], sw["next_ctx"]) == (94, 95), str(sw))
    fl = [e for e in find(d, "flush") if e.get("freed_tables")]
    check("flush: ctx, range, gen, freed_tables",
          fl and fl[0]["ctx"] == 96 and fl[0]["start"] == 0 and fl[0]["end"] == 0x800000000000
          and isinstance(fl[0]["gen"], int), str(fl[:1]))
    sends = find(d, "ipi_send")
    check("ipi_send: the targets from the mask", all(e["targets"] and 0 <= min(e["targets"]) for e in sends)
          and any(len(e["targets"]) == 3 for e in sends), str(sends))
    rc = find(d, "ipi_recv")
    check("ipi_recv: sender and work", all("from" in e and e["work"] for e in rc)
          and {"pages", "lazy: leave_mm"} <= {e["work"] for e in rc}, str({e.get("work") for e in rc}))
    cr3 = find(d, "cr3_load")[0]
    check("cr3_load: pcid and how", (cr3["ctx"], cr3["pcid"], cr3["load"]) == (95, 0, "flush"), str(cr3))
    cu = find(d, "lazy_catchup")[0]
    check("lazy_catchup: the two generations", (cu["slot_gen"], cu["mm_gen"], cu["caught_up"]) == (11, 11, "nothing"),
          str(cu))
    kf = find(d, "kernel_flush")[0]
    check("kernel_flush: the range", kf["start"] == 0xffffc0000002c000 and "ctx" not in kf, str(kf))


def test_derived(d):
    periods = tlbtrace.lazy_periods(d.events)
    cpu3 = [p for p in periods if p["cpu"] == 3]
    # cpu3: lazy_enter ctx 95 at 28509936, lazy_leave at 265544838.
    check("lazy period from lazy_enter to lazy_leave",
          any(p["t0"] == 28509936 and p["t1"] == 265544838 and p["ctx"] == 95 for p in cpu3), str(cpu3[:3]))
    check("lazy periods never run backwards", all(p["t0"] <= p["t1"] for p in periods))
    # No CPU is lazy twice at once: a CPU's spans do not overlap.
    ok = all(a["t1"] <= b["t0"] for c in range(4)
             for a, b in zip([p for p in periods if p["cpu"] == c], [p for p in periods if p["cpu"] == c][1:]))
    check("a cpu's lazy periods do not overlap", ok, str(periods))
    d2, w, _ = load_text(HEAD + "tlbtrace: 10 cpu0 lazy_handover ctx 5\n"
                         "tlbtrace: 20 cpu0 lazy_leave ctx 5 -> ctx 6\n"
                         "tlbtrace: 30 cpu0 lazy_handover ctx 6\n"
                         "tlbtrace: 40 cpu0 lazy_leave ctx 6 -> ctx 7\n"
                         "tlbtrace: 50 cpu0 lazy_enter ctx 7\n"
                         "tlbtrace: end\n")
    got = [(p["ctx"], p["t0"], p["t1"]) for p in tlbtrace.lazy_periods(d2.events)] if d2 else None
    check("lazy before the window, after an exiting task's handover, open at the end",
          got == [(5, 10, 20), (6, 30, 40), (7, 50, 50)], str(got))
    links = tlbtrace.ipi_links(d.events)
    ev = d.events
    check("every ipi_recv whose send is in the dump is linked to it",
          links and all(ev[s]["kind"] == "ipi_send" and ev[r]["kind"] == "ipi_recv"
                        and ev[s]["cpu"] == ev[r]["from"] and ev[s]["ctx"] == ev[r]["ctx"]
                        and ev[r]["cpu"] in ev[s]["targets"] and s < r for s, r in links),
          str(links))


def test_text_view(d):
    out = io.StringIO()
    width = 20
    tlbtrace.text_view(d, width=width, out=out)
    lines = out.getvalue().splitlines()
    rows = lines[3:-2]
    check("text: a row per event", len(rows) == len(d.events), "%d rows" % len(rows))
    tw = len(lines[2].split()[0])
    ok = True
    for row, e in zip(rows, d.events):
        # Exactly one CPU's column holds an event: the event's own (the
        # others are empty or ':' for a lazy CPU).
        cells = [row[tw + 2 + c * (width + 1): tw + 2 + c * (width + 1) + width].strip() for c in range(4)]
        filled = [c for c, s in enumerate(cells) if s not in ("", ":")]
        if filled != [e["cpu"]] or int(row[:tw]) != e["t"]:
            ok = False
            print("     row %r for %s" % (row, e))
            break
    check("text: each event in its cpu's column, in time order", ok)
    check("text: a header with one column per cpu", lines[1].split()[1:] == ["cpu0", "cpu1", "cpu2", "cpu3"],
          lines[1])
    out = io.StringIO()
    tlbtrace.text_view(d, ctx=95, out=out)
    rows = out.getvalue().splitlines()[3:-2]
    want = [e for e in d.events if 95 in (e.get("ctx"), e.get("next_ctx"))]
    check("text: --ctx 95 keeps only the events naming ctx 95", len(rows) == len(want) > 0,
          "%d rows, %d events" % (len(rows), len(want)))
    out = io.StringIO()
    tlbtrace.text_view(d, kinds={"ipi_send", "ipi_recv"}, out=out)
    rows = out.getvalue().splitlines()[3:-2]
    check("text: --kind ipi_send,ipi_recv", len(rows) == 15 and all("IPI" in r for r in rows), "%d rows" % len(rows))


def test_text_lazy():
    d, w, _ = load_text(HEAD + "tlbtrace: 10 cpu1 lazy_enter ctx 5\n"
                        "tlbtrace: 20 cpu0 flush ctx 5 [0x1000, 0x2000) gen 3\n"
                        "tlbtrace: 30 cpu1 lazy_leave ctx 5 -> ctx 6\n"
                        "tlbtrace: 40 cpu0 mm_free ctx 5\n"
                        "tlbtrace: end\n")
    out = io.StringIO()
    tlbtrace.text_view(d, width=12, out=out)
    rows = out.getvalue().splitlines()[3:-2]
    cell = lambda row, c: row[10 + c * 13: 10 + c * 13 + 12].strip()
    check("text: a lazy cpu shows ':' on other cpus' rows, only while lazy",
          [cell(r, 1) for r in rows] == ["lazy c5", ":", "lazy-leave c", ""]
          and cell(rows[1], 0).startswith("FLUSH c5 1p"), "\n".join(rows))


def test_bad_input():
    rc, out, err = run_tool([write_log("boot\nno trace here\n")])
    check("no dump: exit 2 and a clear error, no traceback",
          rc == 2 and "no TLB trace dump" in err and "tlbtrace=dump" in err and "Traceback" not in err, err)
    rc, out, err = run_tool(["/nonexistent/serial.log"])
    check("missing file: exit 2, no traceback", rc == 2 and "cannot read" in err and "Traceback" not in err, err)
    rc, out, err = run_tool([write_log(HEAD + "tlbtrace: end\n")])
    check("an empty dump: exit 2", rc == 2 and "holds no events" in err and "Traceback" not in err, err)

    d, w, _ = load_text(HEAD + "tlbtrace:   100 cpu0 flush         ctx 4 [0, 0x1000) gen 2\n"
                        "tlbtrace:   200 cpu1 ipi_recv      ctx 4 from cp\n"
                        "tlbtrace:   30\n"
                        "tlbtrace: end\n")
    check("a truncated line: warned with its line number, the rest kept",
          d is not None and len(d.events) == 2 and any(":3:" in x and "ipi_recv" in x for x in w)
          and any(":4:" in x and "cannot read" in x for x in w), str(w))
    d, w, _ = load_text("boot\n" + HEAD + "tlbtrace:   100 cpu0 flush         ctx 4 [0, 0x1000) gen 2\n"
                        "tlbtrace:   200 cpu2 mm_free       ctx 4\n")
    check("a dump without its end line: warned, events kept",
          d is not None and len(d.events) == 2 and any("no end line" in x for x in w), str(w))
    check("cpus up to the highest seen get a lane", d is not None and tlbtrace.cpus_of(d.events) == [0, 1, 2])
    d, w, _ = load_text(HEAD + "tlbtrace:   100 cpu0 tlb_teleport  ctx 4\ntlbtrace: end\n")
    check("an unknown event kind: warned, kept", d is not None and d.events[0]["kind"] == "tlb_teleport"
          and any("unknown event kind" in x for x in w), str(w))
    rc, out, err = run_tool([write_log(HEAD + "tlbtrace:   100 cpu0 flush ctx 4 [0, 0x10\ntlbtrace: end\n")])
    check("the tool on a truncated line: warning on stderr, view on stdout",
          rc == 0 and "warning" in err and "truncated" in err and "FLUSH c4 ? g?" in out and "Traceback" not in err,
          err + out)


def test_tolerant():
    d, w, _ = load_text(HEAD + "tlbtrace:   12.5 us cpu1 flush  ctx 7 (pid 3 hello) [0x400000, 0x402000) gen 9 "
                        "cause=munmap self=pages\n"
                        "tlbtrace:   13.0 us cpu0 ipi_recv ctx 7 from cpu1: pages took=3\n"
                        "tlbtrace: end\n")
    ok = d is not None and not w
    if ok:
        f, r = d.events
        ok = (f["t"] == 12.5 and f["ctx"] == 7 and f["end"] - f["start"] == 0x2000 and f["gen"] == 9
              and f["cause"] == "munmap" and f["self"] == "pages" and r["work"] == "pages" and r["took"] == "3")
    check("extra key=value fields and microsecond times are read", ok, "%s %s" % (w, d and d.events))
    d, w, _ = load_text("[   1.0] tlbtrace: last 4 events per CPU, microseconds since boot\n"
                        "junk tlbtrace:   5 cpu0 mm_free ctx 3\ntlbtrace: end\n")
    check("a prefix before 'tlbtrace:' and a header in microseconds", d is not None and d.unit == "us"
          and len(d.events) == 1 and not w, str(w))
    two = HEAD + "tlbtrace: 1 cpu0 mm_free ctx 1\ntlbtrace: end\n" + HEAD + \
        "tlbtrace: 1 cpu0 mm_free ctx 2\ntlbtrace: 2 cpu0 mm_free ctx 3\ntlbtrace: end\n"
    path = write_log(two)
    d, n = tlbtrace.load(path)
    d1, _ = tlbtrace.load(path, which=1)
    rc, out, err = run_tool([path, "--dump", "3"])
    os.unlink(path)
    check("several dumps: the last by default, --dump N picks one",
          n == 2 and len(d.events) == 2 and len(d1.events) == 1 and rc == 2 and "no dump 3" in err, err)


def test_page(d):
    page = tlbtrace.html_page(d, "sample")
    check("page: no network (no src=, href=, url(), @import)",
          not re.search(r"\b(src|href)\s*=|url\(|@import", page))
    m = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    data = json.loads(m.group(1)) if m else {}
    check("page: embeds every event and a lane list", len(data.get("events", [])) == len(d.events)
          and data.get("cpus") == [0, 1, 2, 3])
    out = os.path.join(tempfile.mkdtemp(), "t.html")
    rc, so, se = run_tool([SAMPLE, "--html", out])
    check("page: --html writes the file", rc == 0 and os.path.getsize(out) > 1000 and "92 events on 4 cpus" in so,
          so + se)


def main():
    d = test_sample()
    test_fields(d)
    test_derived(d)
    test_text_view(d)
    test_text_lazy()
    test_bad_input()
    test_tolerant()
    test_page(d)
    return check.summary("tlbtrace")


if __name__ == "__main__":
    sys.exit(main())
