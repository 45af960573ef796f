#!/usr/bin/env python3
"""tools/lab.py - the graded labs of labs/ (labs/README.md).

    tools/lab.py start NAME DIR     the student's starting tree of lab NAME in
                                    DIR (make lab-start LAB=NAME DIR=DIR)
    tools/lab.py grade [NAME...]    boot the lab's configurations and print
                                    the points per part (make grade [LAB=NAME])
    tools/lab.py check              every solution region is well formed and
                                    names a lab that exists; every lab's files
                                    are there and its grade.json reads
                                    (make test-host)
    tools/lab.py selftest [NAME...] the grader proved both ways, per lab: this
                                    tree scores full marks; the starting tree
                                    builds (gcc and clang), boots and scores
                                    zero on the lab's parts (make test-labs)
    --root DIR                      the repository to read (default: the one
                                    this file is in)

SOLUTION REGIONS.  In a C source or header (*.c, *.h) a lab's solution is
marked, with the starter code the student gets in its place:

    /* LAB(name) BEGIN: one line telling the student what goes here */
    ...the solution (compiled in this tree)...
    /* LAB(name) ELSE
    ...the starter code (compiled only in the starting tree)...
    LAB(name) END */

or, when the starting tree needs no code there, `/* LAB(name) END */`
closing the region with no ELSE part.  `start` turns the BEGIN line into a
work spot, `/* LAB(name): the same hint */`, puts the starter lines in
place of the solution, and drops the ELSE and END lines; regions of other
labs stay as they are (so a starting tree can be started again for another
lab).  The starter lines sit inside
a comment in this tree, so they cannot hold `*/` (use // comments there).
A lab whose grade.json says "hide_regions": true (a find-the-bug lab) gets
no work spot: only the starter lines stay, nothing marks the place; and the
starting trees of the other labs keep its solution without its markers, so
that they do not show where its bug goes.

GRADING.  labs/NAME/grade.json lists the lab's parts (labs/README.md has the
format).  A part scores its points when the boot it names ended cleanly (no
panic - a checker violation is one -, no hang, the kernel's KTAP complete)
and each KTAP test it lists reported ok (not skipped); otherwise 0, with the
reason.  Parts with the same boot share one boot.  The boots are those of
tools/run-tests.py (its Config, boot() and judge(), imported) - QEMU TCG, or
Bochs (its PCID CPU model) for a boot with "emulator": "bochs" - always with
the shadow-TLB checker on (tlbcheck=on); their serial logs are
build/test-logs/lab-NAME-K.log.  Output, per part and per lab:

    lab NAME part PART: P/POINTS (reason when 0)
    lab NAME: total T/MAX
and last `grade: T/MAX`.  The exit status is 0 whatever the points (a grade
is not an error) and 2 for bad input (no such lab, a malformed grade.json,
no kernel built).

Exit status of start and check: 0, or 2 for bad input (start) / 1 when
a check failed (check).  Python 3 standard library only.
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in tools/
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tests"))
from checks import Checks  # noqa: E402

ROOT = os.path.dirname(HERE)

# The files solution regions may be in.
SOURCE_SUFFIXES = (".c", ".h")
LAB_NAME = r"[a-z][a-z0-9_-]*"
MARK_BEGIN = re.compile(r"^\s*/\* LAB\((%s)\) BEGIN:\s*(.*?)\s*\*/\s*$" % LAB_NAME)
MARK_ELSE = re.compile(r"^\s*/\* LAB\((%s)\) ELSE\s*$" % LAB_NAME)
MARK_END_AFTER_ELSE = re.compile(r"^\s*LAB\((%s)\) END \*/\s*$" % LAB_NAME)
MARK_END_ALONE = re.compile(r"^\s*/\* LAB\((%s)\) END \*/\s*$" % LAB_NAME)
# What lab-start leaves of a BEGIN line: where the student works.
MARK_SPOT = re.compile(r"^\s*/\* LAB\((%s)\):\s*(.*?)\s*\*/\s*$" % LAB_NAME)
ANY_MARK = re.compile(r"LAB\(")

# What a part's boot may say (grade.json "boot"), with its default.
BOOT_KEYS = {"smp": 4, "mode": None, "tests": None, "cmdline": "", "mem": "256M", "emulator": "qemu"}
MODES = ("refcount", "shootdown", "hazard", "mmput")     # lazy_mm= (kernel/mm/lazy_mm.c)
# qemu: TCG with SeaBIOS, as `run-tests.py --smp N` boots it.  bochs: the
# runner's Bochs CPU model, the only machine here with PCID and INVPCID.
EMULATORS = ("qemu", "bochs")
# The keys of grade.json itself.  hide_regions: lab-start leaves no work spot
# where the lab's regions were (a find-the-bug lab must not point at the bug).
LAB_KEYS = ("lab", "title", "parts", "hide_regions")


class BadInput(Exception):
    """Bad input: the command says why and exits with status 2."""


# ---------------------------------------------------------------------------
# Solution regions
# ---------------------------------------------------------------------------

class Region:
    def __init__(self, lab, begin, hint):
        self.lab, self.begin, self.hint = lab, begin, hint    # begin: 0-based line index
        self.else_at = None
        self.end = None
        self.spot = False       # a work spot of a started lab: no solution


def spot_line(line, lab):
    """The BEGIN line as the starting tree shows it: `/* LAB(x): hint */`."""
    return line.replace("LAB(%s) BEGIN:" % lab, "LAB(%s):" % lab, 1)


def parse_regions(text, where):
    """The regions of one file, in order.  Raises BadInput naming the file
    and line of the first malformed marker: an ELSE or END with no open
    region of that lab, a region opened inside another, a region left open,
    a `*/` among the starter lines, or a line that says LAB( but is no
    marker."""
    regions = []
    open_region = None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        at = "%s:%d" % (where, i + 1)
        if not ANY_MARK.search(line):
            if open_region and open_region.else_at is not None and "*/" in line:
                raise BadInput("%s: '*/' in the starter code of LAB(%s) (it sits inside a "
                               "comment; use // comments)" % (at, open_region.lab))
            continue
        m = MARK_SPOT.match(line)
        if m:
            if open_region:
                raise BadInput("%s: LAB(%s) work spot inside the region LAB(%s) opened at line %d"
                               % (at, m.group(1), open_region.lab, open_region.begin + 1))
            r = Region(m.group(1), i, m.group(2))
            r.spot = True
            r.end = i
            regions.append(r)
            continue
        m = MARK_BEGIN.match(line)
        if m:
            if open_region:
                raise BadInput("%s: LAB(%s) BEGIN inside the region LAB(%s) opened at line %d"
                               % (at, m.group(1), open_region.lab, open_region.begin + 1))
            open_region = Region(m.group(1), i, m.group(2))
            continue
        m = MARK_ELSE.match(line)
        if m:
            if not open_region or open_region.lab != m.group(1) or open_region.else_at is not None:
                raise BadInput("%s: LAB(%s) ELSE with no open LAB(%s) BEGIN before it"
                               % (at, m.group(1), m.group(1)))
            open_region.else_at = i
            continue
        m = MARK_END_AFTER_ELSE.match(line) or MARK_END_ALONE.match(line)
        if m:
            after_else = bool(MARK_END_AFTER_ELSE.match(line))
            if not open_region or open_region.lab != m.group(1):
                raise BadInput("%s: LAB(%s) END with no open LAB(%s) BEGIN before it"
                               % (at, m.group(1), m.group(1)))
            if after_else != (open_region.else_at is not None):
                raise BadInput("%s: LAB(%s) END: %s" % (
                    at, m.group(1), "'LAB(name) END */' closes the comment an ELSE opened; "
                    "this region has no ELSE (write '/* LAB(name) END */')" if after_else else
                    "after an ELSE the end is 'LAB(name) END */' on a line of its own"))
            open_region.end = i
            regions.append(open_region)
            open_region = None
            continue
        raise BadInput("%s: a line with 'LAB(' that is no marker: %s" % (at, line.strip()))
    if open_region:
        raise BadInput("%s:%d: LAB(%s) BEGIN is never closed by its END"
                       % (where, open_region.begin + 1, open_region.lab))
    return regions


def strip_regions(text, regions, lab, hide=False):
    """text with each region of `lab` replaced by its BEGIN line and its
    starter lines (with hide, by its starter lines alone)."""
    lines = text.split("\n")
    out = []
    pos = 0
    for r in regions:
        if r.lab != lab or r.spot:
            continue
        out += lines[pos:r.begin]
        if not hide:
            out.append(spot_line(lines[r.begin], lab))  # the BEGIN line, as a work spot
        if r.else_at is not None:
            out += lines[r.else_at + 1:r.end]       # the starter lines
        pos = r.end + 1
    out += lines[pos:]
    return "\n".join(out)


def unmark_regions(text, regions, labs):
    """text with each region of the labs in `labs` replaced by its solution
    lines alone: no marker, no starter lines."""
    lines = text.split("\n")
    out = []
    pos = 0
    for r in regions:
        if r.lab not in labs or r.spot:
            continue
        out += lines[pos:r.begin]
        out += lines[r.begin + 1:r.else_at if r.else_at is not None else r.end]
        pos = r.end + 1
    out += lines[pos:]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# The repository and its labs
# ---------------------------------------------------------------------------

def tracked_files(root):
    """The repository's files (relative paths): git's list when root is a
    git work tree, else every file below root but build output."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        if os.path.exists(os.path.join(root, ".git")):
            return sorted(p for p in out.decode().split("\0")
                          if p and os.path.lexists(os.path.join(root, p)))
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in (".git", "build", "__pycache__")
                         and not (d == root and x.startswith("build")))
        files += [os.path.relpath(os.path.join(d, n), root) for n in sorted(names)]
    return files


def read_text(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def all_regions(root, files=None):
    """{path: [Region]} for every source file that has regions.  Raises
    BadInput at the first malformed one."""
    found = {}
    for rel in files if files is not None else tracked_files(root):
        if not rel.endswith(SOURCE_SUFFIXES):
            continue
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            continue
        text = read_text(path)
        if "LAB(" not in text:
            continue
        regions = parse_regions(text, rel)
        if regions:
            found[rel] = regions
    return found


def lab_names(root):
    labs = os.path.join(root, "labs")
    if not os.path.isdir(labs):
        return []
    return sorted(n for n in os.listdir(labs)
                  if os.path.isfile(os.path.join(labs, n, "grade.json")))


def load_lab(root, name):
    """labs/NAME/grade.json, checked.  Raises BadInput."""
    if not re.fullmatch(LAB_NAME, name or ""):
        raise BadInput("no lab named %r (the labs: %s)" % (name, ", ".join(lab_names(root))))
    path = os.path.join(root, "labs", name, "grade.json")
    if not os.path.isfile(path):
        raise BadInput("no lab named %r (the labs: %s)" % (name, ", ".join(lab_names(root))))
    try:
        with open(path) as f:
            lab = json.load(f)
    except ValueError as e:
        raise BadInput("labs/%s/grade.json: not JSON: %s" % (name, e))
    where = "labs/%s/grade.json" % name
    if not isinstance(lab, dict) or lab.get("lab") != name:
        raise BadInput("%s: \"lab\" must be %r" % (where, name))
    if set(lab) - set(LAB_KEYS):
        raise BadInput("%s: unknown keys %s (it may have %s)"
                       % (where, ", ".join(sorted(set(lab) - set(LAB_KEYS))), ", ".join(LAB_KEYS)))
    if not isinstance(lab.get("hide_regions", False), bool):
        raise BadInput("%s: \"hide_regions\" must be true or false" % where)
    parts = lab.get("parts")
    if not isinstance(parts, list) or not parts:
        raise BadInput("%s: \"parts\" must be a non-empty list" % where)
    seen = set()
    for i, p in enumerate(parts):
        at = "%s: part %d" % (where, i + 1)
        if not isinstance(p, dict):
            raise BadInput("%s: not an object" % at)
        pname = p.get("name")
        if not isinstance(pname, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", pname):
            raise BadInput("%s: \"name\" must be a word of a-z, 0-9, _ and -" % at)
        if pname in seen:
            raise BadInput("%s: two parts named %r" % (at, pname))
        seen.add(pname)
        if not isinstance(p.get("points"), int) or p["points"] <= 0:
            raise BadInput("%s (%s): \"points\" must be a positive integer" % (at, pname))
        boot = p.get("boot")
        if not isinstance(boot, dict) or set(boot) - set(BOOT_KEYS):
            raise BadInput("%s (%s): \"boot\" must be an object with only %s"
                           % (at, pname, ", ".join(sorted(BOOT_KEYS))))
        if not isinstance(boot.get("smp", 4), int) or not 1 <= boot.get("smp", 4) <= 64:
            raise BadInput("%s (%s): boot \"smp\" must be a CPU count" % (at, pname))
        if boot.get("mode") not in (None,) + MODES:
            raise BadInput("%s (%s): boot \"mode\" must be one of %s" % (at, pname, ", ".join(MODES)))
        if boot.get("emulator", "qemu") not in EMULATORS:
            raise BadInput("%s (%s): boot \"emulator\" must be one of %s"
                           % (at, pname, ", ".join(EMULATORS)))
        tests = boot.get("tests")
        if not isinstance(tests, list) or not tests or \
                not all(isinstance(s, str) and re.fullmatch(r"\w+", s) for s in tests):
            raise BadInput("%s (%s): boot \"tests\" must list the suites to boot" % (at, pname))
        cmdline = boot.get("cmdline", "")
        if not isinstance(cmdline, str) or re.search(r"(^|\s)(tlbcheck|test|expect_cpus)=", cmdline):
            raise BadInput("%s (%s): boot \"cmdline\" is a string without tlbcheck=, test= or "
                           "expect_cpus= (the grader sets those: the checker is always on)"
                           % (at, pname))
        want = (p.get("pass") or {}).get("tests") if isinstance(p.get("pass"), dict) else None
        if not isinstance(want, list) or not want or not all(
                isinstance(t, str) and re.fullmatch(r"\w+[./]\w+", t) for t in want):
            raise BadInput("%s (%s): \"pass\": {\"tests\": [\"suite/test\", ...]} (at least one)"
                           % (at, pname))
        for t in want:
            if re.split(r"[./]", t)[0] not in tests:
                raise BadInput("%s (%s): test %s is not in a suite the boot runs (%s)"
                               % (at, pname, t, ", ".join(tests)))
    return lab


def boot_key(part):
    b = dict(BOOT_KEYS)
    b.update(part["boot"])
    return (b["smp"], b["mode"] or "", ",".join(b["tests"]), " ".join(b["cmdline"].split()),
            b["mem"], b["emulator"])


def group_parts(lab):
    """[(boot key, [part, ...])], one entry per distinct boot, in the order
    of the parts' first appearance."""
    groups = []
    for p in lab["parts"]:
        k = boot_key(p)
        for key, parts in groups:
            if key == k:
                parts.append(p)
                break
        else:
            groups.append((k, [p]))
    return groups


# ---------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------

def load_runner(root):
    """tools/run-tests.py of the tree graded, as a module."""
    path = os.path.join(root, "tools", "run-tests.py")
    spec = importlib.util.spec_from_file_location("run_tests_for_lab", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


VIOLATION = re.compile(r"tlbcheck: VIOLATION.*$", re.MULTILINE)


def boot_problems(rt, outcome, text):
    """Why a boot did not end cleanly (panic, checker violation, hang,
    incomplete KTAP), or []: the runner's reasons but failed tests."""
    reasons = list(outcome.reasons)
    if outcome.ktap and outcome.ktap.failed and reasons and re.match(r"^\d+ tests? failed$", reasons[0]):
        reasons = reasons[1:]
    v = VIOLATION.search("\n".join(rt.clean_lines(text)))
    if v:
        reasons.insert(0, v.group(0).strip())
    return reasons


def score_part(part, leaves, problems):
    """(points, reason, detail lines) of one part given the boot's KTAP
    leaves ({path: Leaf}) and its problems."""
    if problems:
        return 0, problems[0], []
    for want in part["pass"]["tests"]:
        path = want.replace(".", "/")
        leaf = leaves.get(path)
        if leaf is None:
            return 0, "%s did not run" % path, []
        if leaf.status == "skip":
            return 0, "%s skipped: %s" % (path, leaf.reason), []
        if leaf.status != "pass":
            return 0, "%s failed" % path, [d for d in leaf.diag if not d.startswith("# Subtest")][-6:]
    return part["points"], "", []


def grade_lab(root, rt, name, lab, say):
    """Boots each of the lab's configurations once and scores its parts.
    Returns (total, max)."""
    total = 0
    maximum = sum(p["points"] for p in lab["parts"])
    results = {}
    for k, (key, parts) in enumerate(group_parts(lab), 1):
        smp, mode, tests, cmdline, mem, emulator = key
        if emulator == "bochs":
            # As the runner's Bochs rows: its PCID/INVPCID CPU model, a few
            # tens of millions of instructions per second.
            c = rt.Config("lab-%s-%d" % (name, k), "lab %s, boot %d" % (name, k), emulator="bochs",
                          smp=smp, cpu=rt.BOCHS_CPU, mem=mem, tests=tests, cmdline=cmdline,
                          timeout=300 + 100 * smp, require=[rt.FEATURES_PCID_INVPCID_X2APIC])
            machine = "Bochs (PCID), %d CPU%s" % (smp, "" if smp == 1 else "s")
        else:
            c = rt.tcg_bios(smp, name="lab-%s-%d" % (name, k), tests=tests, cmdline=cmdline, mem=mem,
                            description="lab %s, boot %d" % (name, k))
            machine = "-smp %d" % smp
        if mode:
            c = rt.with_mode(c, mode)
        say("lab %s: boot %d: %s, %s  (parts: %s)"
            % (name, k, machine, c.kernel_cmdline(), ", ".join(p["name"] for p in parts)))
        o = rt.boot(c)
        text = rt.read(o.log)
        problems = boot_problems(rt, o, text)
        leaves = {leaf.path: leaf for leaf in (o.ktap.leaves if o.ktap else [])}
        say("lab %s: boot %d: %s in %.0f s, log %s"
            % (name, k, "clean" if not problems else "NOT clean", o.seconds, rt.rel(o.log)))
        for line in problems:
            say("      | %s" % line)
        for p in parts:
            results[p["name"]] = score_part(p, leaves, problems)
    for p in lab["parts"]:
        got, reason, detail = results[p["name"]]
        total += got
        say("lab %s part %s: %d/%d%s" % (name, p["name"], got, p["points"],
                                         " (%s)" % reason if reason else ""))
        for d in detail:
            say("      | %s" % d)
    say("lab %s: total %d/%d" % (name, total, maximum))
    return total, maximum


def cmd_grade(root, names):
    all_labs = lab_names(root)
    names = names or all_labs
    if not names:
        raise BadInput("no labs in %s/labs" % root)
    labs = [(n, load_lab(root, n)) for n in names]
    elf = os.path.join(root, "build", "shootdown.elf")
    if not os.path.exists(elf):
        raise BadInput("%s does not exist: build the kernel first (make grade does)" % elf)
    rt = load_runner(root)
    os.makedirs(rt.LOG_DIR, exist_ok=True)

    def say(line):
        print(line, flush=True)
    total = maximum = 0
    for name, lab in labs:
        t, m = grade_lab(root, rt, name, lab, say)
        total += t
        maximum += m
    say("grade: %d/%d" % (total, maximum))
    return 0


# ---------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------

def cmd_start(root, name, dest):
    hide = load_lab(root, name).get("hide_regions", False)
    dest = os.path.abspath(dest)
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        raise BadInput("%s exists and is not an empty directory" % dest)
    files = tracked_files(root)
    regions = all_regions(root, files)          # every region well formed, or nothing written
    unknown = sorted({r.lab for rs in regions.values() for r in rs} - set(lab_names(root)))
    if unknown:
        raise BadInput("regions name labs that do not exist: %s" % ", ".join(unknown))
    mine = sum(1 for rs in regions.values() for r in rs if r.lab == name and not r.spot)
    if not mine:
        raise BadInput("lab %s has no solution region in the sources" % name)
    drop = {"labs/%s/solution-answers.md" % name}
    hidden = {n for n in lab_names(root) if n != name and load_lab(root, n).get("hide_regions")}
    drop |= {"labs/%s/solution-answers.md" % n for n in hidden}
    os.makedirs(dest, exist_ok=True)
    written = []
    for rel in files:
        if rel in drop:
            continue
        src = os.path.join(root, rel)
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), out)
        elif rel in regions and any(r.lab == name or r.lab in hidden for r in regions[rel]):
            text = strip_regions(read_text(src), regions[rel], name, hide)
            # Another lab's hidden regions: its solution stays, its markers
            # go (they would show that lab's bug to this lab's student).
            text = unmark_regions(text, parse_regions(text, rel), hidden)
            with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            shutil.copymode(src, out)
        else:
            shutil.copy2(src, out)
        written.append(rel)
    # One commit, so that the student's `git diff` shows their work.
    git = ["git", "-C", dest, "-c", "user.name=lab start", "-c", "user.email=lab@shootdown.invalid",
           "-c", "commit.gpgsign=false"]
    committed = False
    if shutil.which("git"):
        try:
            for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "lab start: %s" % name]):
                subprocess.run(git + argv, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            committed = True
        except subprocess.CalledProcessError:
            pass
    todo = ("nothing marks where to work" if hide else
            "%d region%s to fill" % (mine, "" if mine == 1 else "s"))
    print("lab %s: starting tree in %s (%d files, %s%s)"
          % (name, dest, len(written), todo,
             "; git commit 'lab start: %s'" % name if committed else "; no git commit"))
    print("next: read labs/%s/handout.md, then `make grade LAB=%s` in %s" % (name, name, dest))
    return 0


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------

def cmd_check(root):
    ok = Checks()
    names = lab_names(root)
    try:
        regions = all_regions(root)
        ok("solution regions well formed (%d files)" % len(regions), True)
    except BadInput as e:
        ok("solution regions well formed", False, str(e))
        regions = {}
    per_lab = {}
    for rel, rs in sorted(regions.items()):
        for r in rs:    # solution regions, or a started lab's work spots
            per_lab.setdefault(r.lab, []).append("%s:%d" % (rel, r.begin + 1))
    for lab in sorted(set(per_lab) - set(names)):
        ok("regions name an existing lab", False,
           "LAB(%s) at %s: no labs/%s/grade.json" % (lab, ", ".join(per_lab[lab]), lab))
    for name in names:
        lab = {}
        try:
            lab = load_lab(root, name)
            ok("labs/%s/grade.json (%d parts, %d points, %d boots)"
               % (name, len(lab["parts"]), sum(p["points"] for p in lab["parts"]),
                  len(group_parts(lab))), True)
        except BadInput as e:
            ok("labs/%s/grade.json" % name, False, str(e))
        for f in ("handout.md", "answers.md"):
            ok("labs/%s/%s exists" % (name, f), os.path.isfile(os.path.join(root, "labs", name, f)))
        if lab.get("hide_regions") and not per_lab.get(name):
            # Its starting tree keeps no trace of the regions (lab-start
            # refuses a tree that has none of this lab's regions to start).
            ok("lab %s hides its regions: none here (a starting tree)" % name, True)
            continue
        ok("lab %s has solution regions or work spots (%d)" % (name, len(per_lab.get(name, []))),
           bool(per_lab.get(name)), "no LAB(%s) BEGIN in any *.c or *.h" % name)
    return ok.summary("lab-check")


# ---------------------------------------------------------------------------
# selftest
# ---------------------------------------------------------------------------

GRADE_PART = re.compile(r"^lab (\S+) part (\S+): (\d+)/(\d+)")
GRADE_TOTAL = re.compile(r"^lab (\S+): total (\d+)/(\d+)$")


def run_logged(argv, cwd=None, env=None):
    """Runs argv, echoing its output indented; returns (status, output)."""
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = []
    for raw in p.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        out.append(line)
        print("    " + line, flush=True)
    return p.wait(), out


def cmd_selftest(root, names):
    names = names or lab_names(root)
    for n in names:
        load_lab(root, n)
    ok = Checks()
    skipped = 0
    start = time.monotonic()
    me = os.path.join(root, "tools", "lab.py")
    status, _ = run_logged([sys.executable, me, "--root", root, "check"])
    ok("lab.py check on this tree", status == 0)
    tmp = tempfile.mkdtemp(prefix="shootdown-labs-")
    try:
        for name in names:
            lab = load_lab(root, name)
            maximum = sum(p["points"] for p in lab["parts"])
            t0 = time.monotonic()
            print("== lab %s: this tree must score %d/%d" % (name, maximum, maximum), flush=True)
            status, out = run_logged([sys.executable, me, "--root", root, "grade", name])
            totals = [m for m in map(GRADE_TOTAL.match, out) if m]
            ok("lab %s: this tree scores full marks" % name,
               status == 0 and totals and int(totals[-1].group(2)) == maximum,
               "exit status %d, %s" % (status, totals[-1].group(0) if totals else "no total line"))

            tree = os.path.join(tmp, name)
            print("== lab %s: the starting tree in %s" % (name, tree), flush=True)
            status, _ = run_logged([sys.executable, me, "--root", root, "start", name, tree])
            if not ok("lab %s: lab-start" % name, status == 0, "exit status %d" % status):
                continue
            status, _ = run_logged([sys.executable, os.path.join(tree, "tools", "lab.py"), "check"])
            ok("lab %s: the starting tree's regions (other labs') well formed" % name, status == 0)
            ok("lab %s: no model answers in the starting tree" % name,
               not os.path.exists(os.path.join(tree, "labs", name, "solution-answers.md")))
            with open(os.path.join(tree, "labs", name, "answers.md")) as f:
                answers = f.read()
            leftover = [r for rs in all_regions(tree).values() for r in rs
                        if r.lab == name and not r.spot]
            ok("lab %s: no region of the lab left in the starting tree" % name, not leftover)
            ok("lab %s: answers.md is there for the student" % name, bool(answers.strip()))

            status, _ = run_logged(["make", "-C", tree, "-j2"])
            if not ok("lab %s: the starting tree builds (gcc)" % name, status == 0,
                      "make exit status %d" % status):
                continue
            if shutil.which("clang"):
                status, _ = run_logged(["make", "-C", tree, "-j2", "CC=clang",
                                        "BUILD=" + os.path.join(tmp, name + "-clang")])
                ok("lab %s: the starting tree builds (clang)" % name, status == 0,
                   "make exit status %d" % status)
            else:
                skipped += 1
                print("skip lab %s: the starting tree builds (clang): no clang" % name)
            print("== lab %s: the starting tree must score 0 on every part" % name, flush=True)
            status, out = run_logged([sys.executable, os.path.join(tree, "tools", "lab.py"),
                                      "grade", name])
            parts = [m for m in map(GRADE_PART.match, out) if m and m.group(1) == name]
            totals = [m for m in map(GRADE_TOTAL.match, out) if m and m.group(1) == name]
            ok("lab %s: the grader finishes on the starting tree" % name,
               status == 0 and len(parts) == len(lab["parts"]) and bool(totals),
               "exit status %d, %d of %d part lines" % (status, len(parts), len(lab["parts"])))
            scored = [m.group(2) for m in parts if int(m.group(3))]
            ok("lab %s: the starting tree scores 0 on each part" % name, parts and not scored,
               "points on " + ", ".join(scored))
            print("== lab %s: %.0f s" % (name, time.monotonic() - t0), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("test-labs: %.0f s for %s" % (time.monotonic() - start, ", ".join(names)))
    print("test-labs: %d passed, %d failed, %d skipped" % (ok.passed, ok.failed, skipped))
    return 1 if ok.failed else 0


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Shootdown's graded labs (see the top of this file "
                                 "and labs/README.md).")
    ap.add_argument("--root", default=ROOT, help="the repository (default: this file's)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="make the starting tree of a lab")
    s.add_argument("lab")
    s.add_argument("dir")
    g = sub.add_parser("grade", help="grade the labs (all, or those named)")
    g.add_argument("labs", nargs="*")
    sub.add_parser("check", help="check the solution regions and the labs' files")
    t = sub.add_parser("selftest", help="the grader both ways, per lab")
    t.add_argument("labs", nargs="*")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.root)
    try:
        if args.cmd == "start":
            return cmd_start(root, args.lab, args.dir)
        if args.cmd == "grade":
            return cmd_grade(root, args.labs)
        if args.cmd == "check":
            return cmd_check(root)
        return cmd_selftest(root, args.labs)
    except BadInput as e:
        print("lab.py %s: error: %s" % (args.cmd, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
