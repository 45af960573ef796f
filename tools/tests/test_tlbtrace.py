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


def event_lines():
    """The sample's event lines, found without the parser: every line
    "tlbtrace: <number> us cpuN <kind> ..." between the header and the end."""
    return [line for line in sample_lines() if re.match(r"^tlbtrace:\s+\d+\.\d+ us cpu\d+ ", line)]


def test_sample():
    want = event_lines()
    warnings = []
    d, ndumps = tlbtrace.load(SAMPLE, warnings=warnings)
    check("sample: one dump, read without a warning", ndumps == 1 and not warnings, "; ".join(warnings))
    check("sample: every event line is one event", len(d.events) == len(want) == 260,
          "%d events, %d lines" % (len(d.events), len(want)))
    check("sample: events keep the log's order and time (microseconds)",
          [e["t"] for e in d.events] == [float(line.split()[1]) for line in want]
          and [e["cpu"] for e in d.events] == [int(line.split()[3][3:]) for line in want])
    check("sample: 4 cpus", tlbtrace.cpus_of(d.events) == [0, 1, 2, 3])
    kinds = {}
    for e in d.events:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    check("sample: counts by kind", kinds.get("flush") == 70 and kinds.get("ipi_send") == 70
          and kinds.get("flush_local") == 71 and kinds.get("ipi_recv") == 1 and kinds.get("mm_free") == 11,
          str(kinds))
    check("sample: the header's unit is microseconds", d.unit == "us")
    # The kernel's window: it starts where every CPU's ring is complete,
    # and says how many older lines it left out.
    check("sample: the window's start and the lines dropped before it",
          d.window == 1478481.117 and d.dropped == 252 and d.events[0]["t"] >= d.window,
          "%s %s" % (d.window, d.dropped))
    return d


def find(d, kind, **fields):
    return [e for e in d.events if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items())]


def test_fields(d):
    lv = find(d, "lazy_leave")[0]
    check("lazy_leave: ctx -> next ctx, each with its owner",
          (lv["ctx"], lv["next_ctx"], lv["owner"], lv["next_owner"]) == (0, 85, "kernel", "kthread ktest"), str(lv))
    fl = [e for e in find(d, "flush") if e.get("freed_tables")]
    check("flush: ctx, range, gen, freed_tables, cause",
          fl and fl[0]["start"] == 0 and fl[0]["end"] == 0x800000000000
          and isinstance(fl[0]["gen"], int) and fl[0]["cause"] == "teardown", str(fl[:1]))
    causes = {e.get("cause") for e in find(d, "flush")}
    check("flush: the causes of the sample's flushes",
          causes == {"cow_fault", "fork_wrprotect", "mprotect", "munmap", "teardown"}, str(causes))
    own = find(d, "flush_local")
    check("flush_local: the initiator's own part, on the flushing cpu",
          {"pages", "not loaded"} <= {e["work"] for e in own}
          and all(any(f["cpu"] == e["cpu"] and f["ctx"] == e["ctx"] and f["i"] < e["i"] for f in find(d, "flush"))
                  for e in own[1:]), str({e.get("work") for e in own}))
    sends = find(d, "ipi_send")
    check("ipi_send: the targets from the mask, the skipped cpus by reason",
          all("targets" in e and set(e["skipped"]) == {"lazy", "not_running", "offline"} for e in sends)
          and any(e["targets"] == [1] for e in sends), str(sends[:2]))
    lz = [e for e in sends if e["skipped"]["lazy"]]
    check("ipi_send: the lazy skip (tlb_trace's test) names cpu1 as lazy",
          len(lz) == 1 and lz[0]["ctx"] == 89 and lz[0]["targets"] == [] and lz[0]["skipped"] == {
              "lazy": [1], "not_running": [2, 3], "offline": []} and lz[0]["owner"] == "kthread tlb-lazy-skip",
          str(lz))
    check("ipi_send: every batch accounts for every other cpu",
          all(not tlbtrace.unaccounted(e, [0, 1, 2, 3]) for e in sends))
    rc = find(d, "ipi_recv")
    check("ipi_recv: sender and work", [(e["ctx"], e["from"], e["work"]) for e in rc] == [(89, 0, "not loaded")],
          str(rc))
    cr3 = find(d, "cr3_load")[0]
    check("cr3_load: pcid and how", (cr3["ctx"], cr3["pcid"], cr3["load"]) == (85, 0, "flush"), str(cr3))
    cu = find(d, "lazy_catchup")[0]
    check("lazy_catchup: the two generations", (cu["slot_gen"], cu["mm_gen"], cu["caught_up"]) == (0, 1, "full flush"),
          str(cu))
    kf = find(d, "kernel_flush")[0]
    check("kernel_flush: the range", kf["start"] == 0xffffc0000002c000 and "ctx" not in kf, str(kf))
    names = tlbtrace.owners(d.events)
    check("owners: every ctx of the sample has one", names.get(0) == "kernel" and names.get(88) == "kthread tlb-causes"
          and all(e["ctx"] in names for e in d.events if "ctx" in e), str(names))


def test_derived(d):
    periods = tlbtrace.lazy_periods(d.events)
    cpu1 = [p for p in periods if p["cpu"] == 1]
    # cpu1: lazy_enter ctx 89 at 1700819.681 (the lazy-skip test's borrower),
    # lazy_leave at 1710424.357.
    check("lazy period from lazy_enter to lazy_leave",
          any(p["t0"] == 1700819.681 and p["t1"] == 1710424.357 and p["ctx"] == 89 for p in cpu1), str(cpu1[:3]))
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
    sk = tlbtrace.skips(d.events)
    check("skips: one per skipped cpu of each batch, with its reason",
          len(sk) == sum(len(c) for e in find(d, "ipi_send") for c in e["skipped"].values())
          and (find(d, "ipi_send", ctx=89)[0]["i"], 1, "lazy") in sk, str(sk[:4]))


def test_text_view(d):
    out = io.StringIO()
    width = 20
    tlbtrace.text_view(d, width=width, out=out)
    lines = out.getvalue().splitlines()
    rows = lines[3:3 + len(d.events)]
    tw = len(lines[2].split()[0])
    cell = lambda row, c: row[tw + 2 + c * (width + 1): tw + 2 + c * (width + 1) + width].strip()
    ok = True
    for row, e in zip(rows, d.events):
        # Exactly one CPU's column holds an event: the event's own (the
        # others are empty, ':' for a lazy CPU, or why an IPI batch skipped it).
        cells = [cell(row, c) for c in range(4)]
        filled = [c for c, s in enumerate(cells) if s not in ("", ":") and not s.startswith("skip:")]
        if filled != [e["cpu"]] or float(row[:tw]) != e["t"]:
            ok = False
            print("     row %r for %s" % (row, e))
            break
    check("text: each event in its cpu's column, in time order", ok and len(rows) == len(d.events))
    check("text: a header with one column per cpu", lines[1].split()[1:] == ["cpu0", "cpu1", "cpu2", "cpu3"],
          lines[1])
    check("text: the header says where the window starts and what it dropped",
          "from 1478481.117 us" in lines[0] and "252 older lines dropped" in lines[0], lines[0])
    lazy_row = rows[find(d, "ipi_send", ctx=89)[0]["i"]]
    check("text: the lazy skip's row names cpu1 lazy, cpu2 and cpu3 not running",
          [cell(lazy_row, c) for c in range(4)] == ["IPI> c89 to -", "skip:lazy", "skip:not-run", "skip:not-run"],
          lazy_row)
    flush_row = rows[find(d, "flush", cause="mprotect")[0]["i"]]
    check("text: a flush row shows its cause", "FLUSH c87 mprot 1p" in flush_row, flush_row)
    check("text: the address spaces' owners are listed",
          "c88 = kthread tlb-causes" in lines[-1] and "c0 = kernel" in lines[-1], lines[-1])
    out = io.StringIO()
    tlbtrace.text_view(d, ctx=89, out=out)
    want = [e for e in d.events if 89 in (e.get("ctx"), e.get("next_ctx"))]
    rows = out.getvalue().splitlines()[3:3 + len(want)]
    check("text: --ctx 89 keeps only the events naming ctx 89", len(want) > 0 and all("c89" in r for r in rows)
          and "\n%d events shown" % len(want) in out.getvalue(),
          "%d rows, %d events" % (len(rows), len(want)))
    out = io.StringIO()
    tlbtrace.text_view(d, kinds={"ipi_send", "ipi_recv"}, out=out)
    rows = out.getvalue().splitlines()[3:3 + 71]
    check("text: --kind ipi_send,ipi_recv", all("IPI" in r for r in rows)
          and "71 events shown" in out.getvalue(), "%d rows" % len(rows))


def test_text_lazy():
    d, w, _ = load_text(HEAD + "tlbtrace: 10 cpu1 lazy_enter ctx 5\n"
                        "tlbtrace: 20 cpu0 flush ctx 5 [0x1000, 0x2000) gen 3\n"
                        "tlbtrace: 30 cpu1 lazy_leave ctx 5 -> ctx 6\n"
                        "tlbtrace: 40 cpu0 mm_free ctx 5\n"
                        "tlbtrace: end\n")
    out = io.StringIO()
    tlbtrace.text_view(d, width=12, out=out)
    rows = out.getvalue().splitlines()[3:7]
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
    check("page: --html writes the file", rc == 0 and os.path.getsize(out) > 1000 and "260 events on 4 cpus" in so,
          so + se)
    check("page: embeds the owners, the skipped cpus and the window",
          data.get("owners", {}).get("89") == "kthread tlb-lazy-skip"
          and [s[1:] for s in data.get("skips", []) if s[2] == "lazy"] == [[1, "lazy"]]
          and any("252 older lines dropped" in n for n in data.get("notes", [])), str(data.get("notes")))


def test_explained():
    """A violation's dump (frozen, with a forgotten cpu) and the old format."""
    d, w, _ = load_text("tlbtrace: the trace as cpu0 stopped it (a checker violation); the report follows\n"
                        "tlbtrace: last 128 events per CPU, merged by time (microseconds since boot)\n"
                        "tlbtrace: from 5.500 us (cpu1's oldest event; every CPU's ring holds all its events "
                        "from there): 7 older lines dropped\n"
                        "tlbtrace: 6.000 us cpu1 lazy_leave    ctx 0 (kernel) -> ctx 2 (pid 3 hello)\n"
                        "tlbtrace: 7.250 us cpu0 flush         ctx 2 (pid 3 hello) [0x501000, 0x502000) gen 1 "
                        "cause=munmap\n"
                        "tlbtrace: 7.500 us cpu0 ipi_send      ctx 2 (pid 3 hello) to 0 cpus (mask 0) skipped: "
                        "lazy={} not_running={} offline={}\n"
                        "tlbtrace: 7.750 us cpu0 flush_local   ctx 2 (pid 3 hello) own part: not loaded\n"
                        "tlbtrace: end (4 lines, 7 older dropped)\n")
    ok = d is not None and not w
    if ok:
        lv, fl, ipi, own = d.events
        ok = (d.frozen_by == 0 and d.window == 5.5 and d.dropped == 7 and lv["next_owner"] == "pid 3 hello"
              and fl["cause"] == "munmap" and own["work"] == "not loaded"
              and tlbtrace.unaccounted(ipi, [0, 1]) == [1])
    check("a frozen dump: its cpu, window, owners, cause, and the forgotten cpu", ok, "%s %s" % (w, d and d.events))
    out = io.StringIO()
    if d:
        tlbtrace.text_view(d, width=14, out=out)
    text = out.getvalue()
    check("text: a forgotten cpu is shown on the IPI row, the freeze in the header",
          "SKIPPED?!" in text.splitlines()[5] and "frozen by a checker violation on cpu0" in text.splitlines()[0],
          text)


def test_kernel_flush_deferred(d_sample):
    """A kernel flush names whom it called and whom it deferred (kflush_defer),
    and a deferred cpu's entry flush is its own event."""
    d, w, _ = load_text(
        "tlbtrace: last 128 events per CPU, merged by time (microseconds since boot)\n"
        "tlbtrace: 1.000 us cpu0 kernel_flush  [0xffffc0000002b000, 0xffffc0000002c000) to 1 cpus (mask 0x2) "
        "deferred: user={2} idle={3}\n"
        "tlbtrace: 2.000 us cpu3 kflush_entry  deferred kernel flush done at kernel entry (every global entry dropped)\n"
        "tlbtrace: 3.000 us cpu0 kernel_flush  [0xffffc0000002b000, 0xffffc0000002c000) to 1 cpus (mask 0x2) "
        "deferred: user={} idle={}\n"
        "tlbtrace: end (3 lines, 0 older dropped)\n")
    ok = d is not None and not w
    if ok:
        kf, entry, forgot = d.events
        ok = (kf["targets"] == [1] and kf["skipped"] == {"user": [2], "idle": [3]}
              and tlbtrace.unaccounted(kf, [0, 1, 2, 3]) == [] and entry["kind"] == "kflush_entry"
              and tlbtrace.unaccounted(forgot, [0, 1, 2, 3]) == [2, 3]
              and {(0, 2, "user"), (0, 3, "idle"), (2, 2, "unaccounted"), (2, 3, "unaccounted")}
              <= set(tlbtrace.skips(d.events)))
    check("kernel_flush: the cpus called, deferred by state, and a forgotten one", ok,
          "%s %s" % (w, d and d.events))
    out = io.StringIO()
    if d:
        tlbtrace.text_view(d, width=22, out=out)
    rows = out.getvalue().splitlines()[3:6]
    cell = lambda row, c: row[10 + c * 23: 10 + c * 23 + 22].strip()
    check("text: a kernel flush's row shows the deferred cpus, the entry flush on its cpu",
          len(rows) == 3 and [cell(rows[0], c) for c in range(4)] == ["KFLUSH to 1", "", "defer:user", "defer:idle"]
          and cell(rows[1], 3) == "KFLUSH deferred, done" and cell(rows[2], 2) == "SKIPPED?!", "\n".join(rows))
    old = find(d_sample, "kernel_flush")
    check("an older kernel_flush line (no deferred cpus) is not judged",
          old and all(tlbtrace.unaccounted(e, [0, 1, 2, 3]) == [] for e in old))


def test_kinds_are_the_kernels():
    """The viewer knows exactly the events the kernel prints (event_names[]
    in kernel/debug/tlb_trace.c): a new event it did not learn would be a
    warning on every dump, and one it knows that the kernel dropped is dead."""
    with open(os.path.join(os.path.dirname(TOOLS), "kernel", "debug", "tlb_trace.c")) as f:
        text = f.read()
    m = re.search(r"event_names\[[^]]*\]\s*=\s*\{(.*?)\};", text, re.S)
    kernel = set(re.findall(r'=\s*"(\w+)"', m.group(1))) if m else set()
    grouped = {k for _, ks in tlbtrace.GROUPS for k in ks}
    check("the viewer's event kinds are the kernel's event_names[], each in a legend group",
          kernel and set(tlbtrace.KINDS) == kernel and grouped == kernel,
          "kernel only: %s; viewer only: %s; not grouped: %s"
          % (sorted(kernel - set(tlbtrace.KINDS)), sorted(set(tlbtrace.KINDS) - kernel), sorted(kernel - grouped)))


def main():
    d = test_sample()
    test_fields(d)
    test_derived(d)
    test_text_view(d)
    test_text_lazy()
    test_bad_input()
    test_tolerant()
    test_explained()
    test_kernel_flush_deferred(d)
    test_kinds_are_the_kernels()
    test_page(d)
    return check.summary("tlbtrace")


if __name__ == "__main__":
    sys.exit(main())
