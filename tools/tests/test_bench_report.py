#!/usr/bin/env python3
"""tools/tests/test_bench_report.py - host tests of tools/bench-report.py
(make bench's table and plots) on the synthetic raw sample
tools/tests/bench-sample.txt, and on broken raw files made here.

What is checked: every BENCH line of the sample parses (k=, pages=, state=
and the counters included); the table has a row per benchmark case and a
column per configuration, the median of the boot medians and the spread
between boots in its cells, and nothing of the boot the sample marks
failed; the plots are well-formed SVG (parsed as XML) with a line per
mode and state; bad input ends with a clear error naming the file and
line (exit status 2).

Run by `make test-host` and by tools/run-tests.py (make test, with the
host tests).  Prints one line per check and, last,
"bench-report: N passed, N failed"; the exit status is non-zero on a failure.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from checks import Checks  # noqa: E402

SAMPLE = os.path.join(HERE, "bench-sample.txt")
TOOL = os.path.join(TOOLS, "bench-report.py")
SVG = "{http://www.w3.org/2000/svg}"

spec = importlib.util.spec_from_file_location("bench_report", TOOL)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)

check = Checks()


def run_tool(raw, out):
    p = subprocess.run([sys.executable, TOOL, "--raw", raw, "--out", out],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def sample_bench_lines():
    with open(SAMPLE) as f:
        return [line.strip() for line in f if line.startswith("BENCH")]


def table_rows(md):
    """The markdown table's rows as lists of cells (header first)."""
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows if not r.startswith("| ---")]


def test_parse():
    lines = sample_bench_lines()
    parsed = [report.parse_bench_line(line, "sample") for line in lines]
    check("parse: every BENCH line of the sample parses", len(parsed) == len(lines) and len(lines) > 50,
          "%d of %d" % (len(parsed), len(lines)))
    k = [r for r in parsed if r["name"] == "munmap_k"]
    check("parse: k= and state= are the case's words, not counters",
          k and all("k" in r["params"] and r["params"]["state"] in ("busy", "idle") for r in k)
          and all("k" not in r["counters"] for r in k))
    r = next(r for r in k if r["params"] == {"k": 1, "state": "busy"})
    check("parse: a counter's per-op average is a number", r["counters"].get("tlb.ipi_sent") == 1.0,
          repr(r["counters"]))
    check("parse: median, iterations, percentiles", r["value"] > 0 and r["iters"] == 1000
          and r["min"] <= r["p10"] <= r["value"] <= r["p90"], repr(r))
    pages = [r["params"].get("pages") for r in parsed if r["name"] == "munmap"]
    check("parse: pages=", set(pages) == {1, 33}, repr(set(pages)))


def test_report(tmp):
    raw, out = os.path.join(tmp, "raw"), os.path.join(tmp, "out")
    os.makedirs(raw)
    shutil.copy(SAMPLE, raw)
    status, stdout, stderr = run_tool(raw, out)
    check("report: exit status 0 on the sample", status == 0, stderr.strip())
    if status != 0:
        return
    with open(os.path.join(out, "results.md")) as f:
        md = f.read()
    rows = table_rows(md)
    check("table: one table", md.count("| --- |") == 1)
    head, body = rows[0], rows[1:]
    labels = [r[0] for r in body]
    want = ["syscall", "ipc_pingpong", "yield_pingpong", "munmap_k k=0 state=busy", "munmap_k k=1 state=busy",
            "munmap_k k=0 state=idle", "munmap_k k=1 state=idle", "munmap pages=1", "munmap pages=33",
            "fork_cow", "thread_spawn"]
    check("table: a row per benchmark case, in the program's order", labels == want, repr(labels))
    check("table: a column per configuration", head[1:] == [
        "QEMU 2cpu refcount", "QEMU 2cpu hazard",
        "Bochs 2cpu refcount pcid=on", "Bochs 2cpu refcount pcid=off",
        "Bochs 2cpu hazard pcid=on", "Bochs 2cpu hazard pcid=off"], repr(head))
    # The sample's syscall on QEMU, 2 CPUs, refcount: boot 1 302 cycles,
    # boot 2 311; boot 3 failed (999999) and must not count.  Median 306.5,
    # spread (311 - 302) / 306.5 = 2.9%.
    cell = body[0][1]
    check("table: a cell is the median of the boot medians and the spread", cell == "306 (3%)", repr(cell))
    check("table: a failed boot's lines are left out", "999999" not in md and "left out" in md)
    check("table: one boot shows as such", body[0][3].endswith("(1 boot)"), body[0][3])
    check("report: the spread between boots is summarised", re.search(r"median \d+\.\d%", md) is not None)
    svgs = sorted(f for f in os.listdir(out) if f.endswith(".svg"))
    check("plots: k plots per machine, fork/exit, pcid", svgs == [
        "fork-exit.svg", "munmap_k-k-bochs-smp2-pcidoff.svg", "munmap_k-k-bochs-smp2-pcidon.svg",
        "munmap_k-k-qemu-smp2.svg", "pcid.svg"], repr(svgs))
    roots = {}
    for name in svgs:
        try:
            root = ET.parse(os.path.join(out, name)).getroot()
            ok = root.tag == SVG + "svg" and int(root.get("width")) > 0 and int(root.get("height")) > 0
            check("plots: %s is well-formed SVG" % name, ok, root.tag)
            roots[name] = root
        except ET.ParseError as e:
            check("plots: %s is well-formed SVG" % name, False, str(e))
    if "munmap_k-k-qemu-smp2.svg" in roots:
        root = roots["munmap_k-k-qemu-smp2.svg"]
        lines = root.findall(SVG + "polyline")
        texts = " ".join(t.text or "" for t in root.iter(SVG + "text"))
        # 2 modes x 2 states, in each of the two panels (cycles, IPIs).
        check("plots: a line per mode and state in both panels", len(lines) == 8, "%d polylines" % len(lines))
        check("plots: the legend names each series",
              all(s in texts for s in ("refcount busy", "refcount idle", "hazard busy", "hazard idle")), texts[:200])
        check("plots: the IPI panel names its counter", "tlb.ipi_sent per operation" in texts)
    if "pcid.svg" in roots:
        root = roots["pcid.svg"]
        bars = [r for r in root.findall(SVG + "rect") if r.get("fill") not in ("white", "none")]
        check("plots: pcid.svg has a bar per benchmark case and mode", len(bars) == 11 * 2, "%d bars" % len(bars))


def test_bad_input(tmp):
    cases = [
        ("no header", "BENCH name=x cpus=2 mode=refcount pcid=off value=1 unit=cycles iters=1 min=1 p10=1 p90=1\n",
         r"bad\.txt:1: a BENCH line before any '# bench-boot' header"),
        ("missing field", "# bench-boot emulator=qemu boot=1\nBENCH name=x cpus=2 mode=refcount pcid=off value=1\n",
         r"bad\.txt:2: BENCH line without unit=, iters=, min=, p10=, p90="),
        ("not a number", "# bench-boot emulator=qemu boot=1\nBENCH name=x cpus=2 mode=refcount pcid=off "
         "value=fast unit=cycles iters=1 min=1 p10=1 p90=1\n", r"bad\.txt:2: value=fast is not a number"),
        ("stray text", "# bench-boot emulator=qemu boot=1\nhello\n", r"bad\.txt:2: neither a BENCH line"),
        ("no lines", "# bench-boot emulator=qemu boot=1\n", r"no BENCH line"),
    ]
    for what, content, pattern in cases:
        raw = tempfile.mkdtemp(dir=tmp)
        with open(os.path.join(raw, "bad.txt"), "w") as f:
            f.write(content)
        status, _, stderr = run_tool(raw, os.path.join(raw, "out"))
        check("bad input: %s: exit 2 and a clear error" % what,
              status == 2 and re.search(pattern, stderr) is not None, "%d %s" % (status, stderr.strip()))
    status, _, stderr = run_tool(os.path.join(tmp, "nowhere"), os.path.join(tmp, "out2"))
    check("bad input: no raw directory", status == 2 and "no such directory" in stderr, stderr.strip())


def main():
    tmp = tempfile.mkdtemp(prefix="bench-report-test.")
    try:
        test_parse()
        test_report(tmp)
        test_bad_input(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary("bench-report")


if __name__ == "__main__":
    sys.exit(main())
