#!/usr/bin/env python3
"""tools/tests/test_lab.py - tests of tools/lab.py without booting anything:
what `start` makes of the solution regions (with and without ELSE, other
labs' regions untouched, malformed ones refused with exit status 2), what
`check` says, how `grade` groups parts into boots and scores a part from a
serial log (tools/run-tests.py's judge on a made-up log), and its refusals.
Each check prints `ok NAME` or `FAIL NAME: detail`; the last line is
`lab-tool: N passed, N failed` (tools/tests/checks.py).  make test-host runs it."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, HERE)
sys.path.insert(0, TOOLS)
from checks import Checks  # noqa: E402
import importlib.util  # noqa: E402

LAB_PY = os.path.join(TOOLS, "lab.py")
spec = importlib.util.spec_from_file_location("lab", LAB_PY)
lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab)

ok = Checks()


def grade_json(name, parts=None):
    return {"lab": name, "title": "a lab", "parts": parts or [
        {"name": "one", "points": 10, "boot": {"smp": 2, "tests": ["suite_a"]},
         "pass": {"tests": ["suite_a/test_x"]}}]}


SOURCE = """\
int before;
/* LAB(alpha) BEGIN: compute the answer */
int answer(void) { return 42; }
/* LAB(alpha) ELSE
int answer(void) { return 0; }  // yours
LAB(alpha) END */
int between;
    /* LAB(beta) BEGIN: beta's part */
    beta_solution();
    /* LAB(beta) ELSE
    beta_starter();
    LAB(beta) END */
/* LAB(alpha) BEGIN: nothing needed in the starting tree */
static int helper;
/* LAB(alpha) END */
int after;
"""

STARTED_ALPHA = """\
int before;
/* LAB(alpha): compute the answer */
int answer(void) { return 0; }  // yours
int between;
    /* LAB(beta) BEGIN: beta's part */
    beta_solution();
    /* LAB(beta) ELSE
    beta_starter();
    LAB(beta) END */
/* LAB(alpha): nothing needed in the starting tree */
int after;
"""


def make_repo(files, labs=("alpha", "beta")):
    root = tempfile.mkdtemp(prefix="test-lab-")
    for name in labs:
        d = os.path.join(root, "labs", name)
        os.makedirs(d)
        with open(os.path.join(d, "grade.json"), "w") as f:
            json.dump(grade_json(name), f)
        for doc in ("handout.md", "answers.md"):
            with open(os.path.join(d, doc), "w") as f:
                f.write("# %s\n\n1. \n" % doc)
    with open(os.path.join(root, "labs", "alpha", "solution-answers.md"), "w") as f:
        f.write("the answers\n")
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    return root


def run(*argv):
    """tools/lab.py ARGV, in this process: (exit status, its output)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            status = lab.main(list(argv))
        except SystemExit as e:
            status = e.code
    return status, out.getvalue()


def read(path):
    with open(path) as f:
        return f.read()


def test_start():
    root = make_repo({"kernel/x.c": SOURCE, "kernel/x.h": "/* LAB(beta) BEGIN: b */\nb();\n/* LAB(beta) END */\n",
                      "docs/x.md": "LAB(alpha) in a doc is prose, not a region\n"})
    os.chmod(os.path.join(root, "kernel", "x.c"), 0o755)
    dest = os.path.join(tempfile.mkdtemp(prefix="test-lab-dest-"), "tree")
    try:
        status, out = run("--root", root, "start", "alpha", dest)
        ok("start: exit status 0", status == 0, out)
        got = read(os.path.join(dest, "kernel/x.c")) if status == 0 else ""
        ok("start: ELSE region -> BEGIN line + starter lines; no-ELSE region -> BEGIN line; "
           "the other lab's region untouched", got == STARTED_ALPHA, repr(got))
        ok("start: a file without the lab's regions copied as it is",
           status == 0 and read(os.path.join(dest, "kernel/x.h")) == read(os.path.join(root, "kernel/x.h")))
        ok("start: file modes kept", status == 0 and os.stat(os.path.join(dest, "kernel/x.c")).st_mode & 0o111)
        ok("start: the lab's model answers left out",
           not os.path.exists(os.path.join(dest, "labs/alpha/solution-answers.md"))
           and os.path.exists(os.path.join(dest, "labs/alpha/answers.md")))
        ok("start: the starting tree is one git commit 'lab start: alpha'",
           shutil.which("git") is None or subprocess.run(
               ["git", "-C", dest, "log", "--format=%s"], stdout=subprocess.PIPE).stdout.decode().strip()
           == "lab start: alpha")
        status, out = run("--root", root, "start", "alpha", dest)
        ok("start: an existing non-empty DIR -> exit status 2", status == 2 and "not an empty" in out, out)
        status, out = run("--root", root, "start", "gamma", dest + "2")
        ok("start: an unknown lab -> exit status 2 naming the labs",
           status == 2 and "no lab named 'gamma'" in out and "alpha, beta" in out, out)
        ok("start: an unknown lab writes nothing", not os.path.exists(dest + "2"))
        status, out = run("--root", root, "start", "../alpha", dest + "3")
        ok("start: a lab name with a path -> exit status 2", status == 2, out)
        status, out = run("--root", dest, "start", "beta", dest + "4")
        got = read(os.path.join(dest + "4", "kernel/x.c")) if status == 0 else ""
        ok("start: beta from alpha's starting tree takes beta's regions out too",
           status == 0 and "beta_starter();\n" in got and "beta_solution" not in got
           and "LAB(beta) ELSE" not in got and "LAB(beta) END" not in got
           and read(os.path.join(dest + "4", "kernel/x.h")) == "/* LAB(beta): b */\n"
           and "/* LAB(alpha): compute the answer */" in got, got + out)
        status, out = run("--root", dest, "check")
        ok("check passes a starting tree (the lab's work spots count as its regions)",
           status == 0, out)
    finally:
        shutil.rmtree(root)
        shutil.rmtree(os.path.dirname(dest))


BAD_SOURCES = {
    "BEGIN never closed": "/* LAB(alpha) BEGIN: x */\nint a;\n",
    "END with no BEGIN": "int a;\n/* LAB(alpha) END */\n",
    "ELSE with no BEGIN": "/* LAB(alpha) ELSE\nint a;\nLAB(alpha) END */\n",
    "a region inside another": "/* LAB(alpha) BEGIN: x */\n/* LAB(beta) BEGIN: y */\n/* LAB(beta) END */\n/* LAB(alpha) END */\n",
    "END of another lab": "/* LAB(alpha) BEGIN: x */\nint a;\n/* LAB(beta) END */\n",
    "two ELSEs": "/* LAB(alpha) BEGIN: x */\n/* LAB(alpha) ELSE\n/* LAB(alpha) ELSE\nLAB(alpha) END */\n",
    "ELSE closed by the no-ELSE END": "/* LAB(alpha) BEGIN: x */\n/* LAB(alpha) ELSE\nint a;\n/* LAB(alpha) END */\n",
    "'*/' in starter code": "/* LAB(alpha) BEGIN: x */\n/* LAB(alpha) ELSE\nint a; /* no */\nLAB(alpha) END */\n",
    "a marker with a typo": "/* LAB(alpha) BEGINS: x */\n/* LAB(alpha) END */\n",
    "a work spot inside a region": "/* LAB(alpha) BEGIN: x */\n/* LAB(beta): y */\n/* LAB(alpha) END */\n",
}


def test_start_hidden():
    """A lab with "hide_regions": its starting tree has the starter lines and
    no work spot, and check accepts the tree without regions of it."""
    root = make_repo({"kernel/x.c": SOURCE})
    with open(os.path.join(root, "labs", "alpha", "grade.json"), "w") as f:
        json.dump(dict(grade_json("alpha"), hide_regions=True), f)
    dest = os.path.join(tempfile.mkdtemp(prefix="test-lab-dest-"), "tree")
    try:
        status, out = run("--root", root, "start", "alpha", dest)
        got = read(os.path.join(dest, "kernel/x.c")) if status == 0 else ""
        ok("start of a lab that hides its regions: the starter lines, no trace of the region",
           status == 0 and "int answer(void) { return 0; }  // yours\n" in got
           and "LAB(alpha)" not in got and "static int helper" not in got
           and "/* LAB(beta) BEGIN: beta's part */" in got, got + out)
        status, out = run("--root", dest, "check")
        ok("check passes the starting tree of a lab that hides its regions", status == 0, out)
        status, out = run("--root", root, "start", "beta", dest + "2")
        got = read(os.path.join(dest + "2", "kernel/x.c")) if status == 0 else ""
        ok("start of another lab: the hidden lab's solution stays, without its markers",
           status == 0 and "int answer(void) { return 42; }\n" in got and "static int helper;\n" in got
           and "LAB(alpha)" not in got and "return 0; }  // yours" not in got
           and "/* LAB(beta): beta's part */" in got, got + out)
        ok("start of another lab: the hidden lab's model answers left out",
           status == 0 and not os.path.exists(os.path.join(dest + "2", "labs/alpha/solution-answers.md")))
        status, out = run("--root", dest + "2", "check")
        ok("check passes that tree too (the hidden lab has no region there)", status == 0, out)
    finally:
        shutil.rmtree(root)
        shutil.rmtree(os.path.dirname(dest))


def test_bad_regions():
    for what, text in BAD_SOURCES.items():
        root = make_repo({"kernel/ok.c": SOURCE, "arch/bad.c": text})
        dest = os.path.join(root, "..", os.path.basename(root) + "-dest")
        try:
            status, out = run("--root", root, "start", "alpha", dest)
            ok("start refuses %s: exit status 2, names the file" % what,
               status == 2 and "arch/bad.c:" in out, "status %d: %s" % (status, out))
            ok("start refuses %s: writes nothing" % what, not os.path.exists(dest))
            status, out = run("--root", root, "check")
            ok("check fails on %s" % what, status == 1 and "arch/bad.c:" in out, out)
        finally:
            shutil.rmtree(root)
            shutil.rmtree(dest, ignore_errors=True)
    root = make_repo({"kernel/ok.c": SOURCE, "kernel/other.c": "/* LAB(omega) BEGIN: x */\n/* LAB(omega) END */\n"})
    try:
        status, out = run("--root", root, "check")
        ok("check fails on a region of a lab that does not exist",
           status == 1 and "LAB(omega)" in out and "no labs/omega/grade.json" in out, out)
        status, out = run("--root", root, "start", "alpha", os.path.join(root, "dest"))
        ok("start refuses a tree with a region of a lab that does not exist", status == 2, out)
    finally:
        shutil.rmtree(root)
    root = make_repo({"kernel/ok.c": SOURCE})
    try:
        status, out = run("--root", root, "check")
        ok("check passes a well-formed tree", status == 0 and "lab-check: " in out, out)
        os.remove(os.path.join(root, "labs", "beta", "handout.md"))
        status, out = run("--root", root, "check")
        ok("check fails on a lab without its handout", status == 1 and "beta/handout.md" in out, out)
    finally:
        shutil.rmtree(root)


def test_grade_json():
    root = make_repo({"kernel/ok.c": SOURCE})
    path = os.path.join(root, "labs", "alpha", "grade.json")
    bad = {
        "not JSON": "{",
        "no parts": {"lab": "alpha", "parts": []},
        "wrong lab name": grade_json("beta"),
        "test of a suite not booted": grade_json("alpha", [
            {"name": "one", "points": 5, "boot": {"tests": ["suite_a"]}, "pass": {"tests": ["suite_b/t"]}}]),
        "checker turned off": grade_json("alpha", [
            {"name": "one", "points": 5, "boot": {"tests": ["suite_a"], "cmdline": "tlbcheck=off"},
             "pass": {"tests": ["suite_a/t"]}}]),
        "unknown mode": grade_json("alpha", [
            {"name": "one", "points": 5, "boot": {"tests": ["suite_a"], "mode": "lazy"},
             "pass": {"tests": ["suite_a/t"]}}]),
        "zero points": grade_json("alpha", [
            {"name": "one", "points": 0, "boot": {"tests": ["suite_a"]}, "pass": {"tests": ["suite_a/t"]}}]),
        "unknown emulator": grade_json("alpha", [
            {"name": "one", "points": 5, "boot": {"tests": ["suite_a"], "emulator": "kvm"},
             "pass": {"tests": ["suite_a/t"]}}]),
        "unknown lab key": dict(grade_json("alpha"), hidden=True),
        "hide_regions not a boolean": dict(grade_json("alpha"), hide_regions="yes"),
        "unknown boot key": grade_json("alpha", [
            {"name": "one", "points": 5, "boot": {"tests": ["suite_a"], "cpus": 2},
             "pass": {"tests": ["suite_a/t"]}}]),
    }
    try:
        for what, content in bad.items():
            with open(path, "w") as f:
                f.write(content if isinstance(content, str) else json.dumps(content))
            status, out = run("--root", root, "grade", "alpha")
            ok("grade refuses a grade.json with %s: exit status 2" % what,
               status == 2 and "grade.json" in out, "status %d: %s" % (status, out))
        status, out = run("--root", root, "grade", "nosuch")
        ok("grade of an unknown lab: exit status 2", status == 2 and "no lab named" in out, out)
        with open(path, "w") as f:
            json.dump(grade_json("alpha"), f)
        status, out = run("--root", root, "grade", "alpha")
        ok("grade without a built kernel: exit status 2 saying so",
           status == 2 and "build the kernel first" in out, out)
    finally:
        shutil.rmtree(root)


def part(name, tests, pass_tests, **boot):
    b = {"tests": tests}
    b.update(boot)
    return {"name": name, "points": 10, "boot": b, "pass": {"tests": pass_tests}}


def test_modes_are_the_kernels():
    """grade.json's boot "mode" takes exactly the kernel's lazy_mm= choices
    (kernel/mm/lazy_mm.c): a mode added to the kernel and not here could not
    be graded (mmput was missing once)."""
    src = os.path.join(ROOT, "kernel", "mm", "lazy_mm.c")
    with open(src) as f:
        m = re.search(r"lazy_mm_choices\[\]\s*=\s*\{(.*?)\};", f.read(), re.S)
    kernel = re.findall(r'"(\w+)"', m.group(1)) if m else []
    ok("grade.json's boot modes are the kernel's lazy_mm= choices", kernel and list(lab.MODES) == kernel,
       "kernel %s, tools/lab.py %s" % (kernel, list(lab.MODES)))


def test_grouping():
    L = grade_json("alpha", [
        part("a", ["s1"], ["s1/t1"]),
        part("b", ["s2"], ["s2/t1"]),
        part("c", ["s1"], ["s1/t2"], smp=4),                  # smp 4 is the default
        part("d", ["s1"], ["s1/t3"], mode="hazard"),
        part("e", ["s1"], ["s1/t4"], cmdline=" pcid=off "),
        part("f", ["s1"], ["s1.t5"], cmdline="pcid=off"),
        part("g", ["s1"], ["s1/t6"], emulator="bochs"),
        part("h", ["s1"], ["s1/t7"], emulator="qemu"),        # qemu is the default
    ])
    groups = [[p["name"] for p in parts] for _, parts in lab.group_parts(L)]
    ok("grade: parts with the same boot share one boot, in order; Bochs is another boot",
       groups == [["a", "c", "h"], ["b"], ["d"], ["e", "f"], ["g"]], repr(groups))


LOG_HEAD = """Shootdown booting
KTAP version 1
1..1
    KTAP version 1
    # Subtest: s1
    1..4
    ok 1 test_pass
        # test_fail: FAIL at tests/x.c:10: sent == k: left = 0, right = 3
    not ok 2 test_fail
    ok 3 test_skip # SKIP needs two CPUs
    ok 4 leak_check
ok 1 s1
"""


def score(log, pass_tests, qemu_status):
    rt = lab.load_runner(ROOT)
    c = rt.tcg_bios(2, name="t", tests="s1")
    o = rt.judge(c, log, qemu_status=qemu_status)
    leaves = {leaf.path: leaf for leaf in o.ktap.leaves}
    p = {"name": "p", "points": 7, "pass": {"tests": pass_tests}}
    return lab.score_part(p, leaves, lab.boot_problems(rt, o, log))


def test_scoring():
    import vmlib
    done = LOG_HEAD + "# shootdown: 2 passed, 1 failed, 1 skipped\n"
    got = score(done, ["s1/test_pass", "s1.leak_check"], vmlib.EXIT_TESTS_FAILED)
    ok("score: every listed test ok -> the points, though another test failed", got[0] == 7, repr(got))
    got = score(done, ["s1/test_pass", "s1/test_fail"], vmlib.EXIT_TESTS_FAILED)
    ok("score: a listed test failed -> 0, naming it, with its FAIL line",
       got[0] == 0 and got[1] == "s1/test_fail failed" and any("left = 0" in d for d in got[2]), repr(got))
    got = score(done, ["s1/test_skip"], vmlib.EXIT_TESTS_FAILED)
    ok("score: a skipped test is not a pass", got[0] == 0 and "skipped: needs two CPUs" in got[1], repr(got))
    got = score(done, ["s1/test_nope"], vmlib.EXIT_TESTS_FAILED)
    ok("score: a test that did not run -> 0", got[0] == 0 and "did not run" in got[1], repr(got))
    panic = (LOG_HEAD.split("    ok 3")[0] +
             "[ 1.0 cpu1] tlbcheck: VIOLATION cpu 1 mm ctx 2 addr 0x400000 op flush_end: stale\n"
             "KERNEL PANIC on cpu0: tlbcheck: flush_end: stale\n")
    got = score(panic, ["s1/test_pass"], vmlib.EXIT_PANIC)
    ok("score: a checker violation -> 0 for every part of the boot, the violation named",
       got[0] == 0 and got[1].startswith("tlbcheck: VIOLATION cpu 1"), repr(got))
    got = score(LOG_HEAD, ["s1/test_pass"], None)
    ok("score: a boot cut short (no final line) -> 0", got[0] == 0 and got[1], repr(got))


def test_repo():
    status, out = run("check")
    ok("check on this repository", status == 0, out[-2000:])


def main():
    test_start()
    test_start_hidden()
    test_bad_regions()
    test_grade_json()
    test_modes_are_the_kernels()
    test_grouping()
    test_scoring()
    test_repo()
    return ok.summary("lab-tool")


if __name__ == "__main__":
    sys.exit(main())
