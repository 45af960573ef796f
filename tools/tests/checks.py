"""tools/tests/checks.py - the tally the tool tests keep: one `ok NAME` or
`FAIL NAME: detail` line per check, and the counts for the final line
`NAME: N passed, N failed` that tools/run-tests.py reads."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, ": " + detail if detail else ""))
        return ok

    def summary(self, what):
        """Print the final line; the exit status for it."""
        print("%s: %d passed, %d failed" % (what, self.passed, self.failed))
        return 1 if self.failed else 0
