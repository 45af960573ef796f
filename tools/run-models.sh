#!/bin/sh
# tools/run-models.sh [NAME-PATTERN] - the Promela models (tests/models/,
# docs/models.md) checked exhaustively with spin.  `make models` runs it,
# and tools/run-tests.py runs it before the boots of `make test`.
#
# Each row below is one exhaustive search: a model, the spin -D flags of
# its configuration and of the variant, and what must come out:
#   pass  0 errors (the protocol as the code has it, or a step that the
#         model shows is not needed - docs/models.md says why)
#   fail  spin finds an assertion violation (a step the code relies on was
#         removed: the model must be able to fail)
# A run that hits pan's depth limit, or fails in any other way, fails.
# cc is the optimization pan.c is compiled with: -O0 compiles in a
# fraction of the time, -O2 pays off only for the biggest search.
#
# Every run has its own directory build/models/ROW/ (pan, its output
# pan.out, and for a violation the trail: see docs/models.md for reading
# it).  Prints one line per row and, last, "models: N passed, N failed".
# Exit status 1 if any row failed.  NAME-PATTERN (a shell pattern) runs
# only the matching rows.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/models
PAT=${1:-*}

# name                           model         spin -D flags (comma separated)                            expect cc
ROWS='
switch-flush                     switch_flush  -DFLUSHERS=1,-DROUNDS=2                                    pass -O0
switch-flush-no-s2-lazy-fence    switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DNO_S2_LAZY_FENCE                 fail -O0
switch-flush-no-catchup-fence    switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DNO_CATCHUP_FENCE                 fail -O0
switch-flush-no-leave-fence      switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DNO_LEAVE_FENCE                   fail -O0
switch-flush-no-park-fence       switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DNO_PARK_FENCE                    fail -O0
switch-flush-cr3-no-drain        switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DCR3_NO_DRAIN                     fail -O0
switch-flush-f2-before-f1        switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DF2_BEFORE_F1                     fail -O0
switch-flush-s3-after-cr3        switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DS3_AFTER_CR3                     fail -O0
switch-flush-catchup-gen-late    switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DCATCHUP_GEN_LATE                 fail -O0
switch-flush-skip-lazy-freed     switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DSKIP_LAZY_FREED                  fail -O0
switch-flush-no-wait             switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DNO_WAIT                          fail -O0
switch-flush-no-s2-rmw           switch_flush  -DFLUSHERS=1,-DROUNDS=2,-DNO_S2_RMW                        pass -O0
switch-flush2                    switch_flush  -DFLUSHERS=2,-DONLY_M                                      pass -O2
switch-flush2-partial-any-gen    switch_flush  -DFLUSHERS=2,-DONLY_M,-DPARTIAL_ANY_GEN                    fail -O0
switch-flush2-handler-gen-late   switch_flush  -DFLUSHERS=2,-DONLY_M,-DHANDLER_GEN_LATE                   fail -O0
lazy-refcount                    lazy_mm       -DMODE=REFCOUNT                                            pass -O0
lazy-refcount-no-grab            lazy_mm       -DMODE=REFCOUNT,-DRC_NO_GRAB                               fail -O0
lazy-refcount-drop-before-cr3    lazy_mm       -DMODE=REFCOUNT,-DRC_DROP_BEFORE_CR3                       pass -O0
lazy-shootdown                   lazy_mm       -DMODE=SHOOTDOWN                                           pass -O0
lazy-shootdown-skip              lazy_mm       -DMODE=SHOOTDOWN,-DSD_SKIP                                 fail -O0
lazy-shootdown-clear-borrowed    lazy_mm       -DMODE=SHOOTDOWN,-DSD_CLEAR_BORROWED                       fail -O0
lazy-shootdown-no-wait           lazy_mm       -DMODE=SHOOTDOWN,-DNO_WAIT                                 fail -O0
lazy-shootdown-drop-no-leave     lazy_mm       -DMODE=SHOOTDOWN,-DDROP_NO_LEAVE                           pass -O0
lazy-hazard                      lazy_mm       -DMODE=HAZARD                                              pass -O0
lazy-hazard-skip                 lazy_mm       -DMODE=HAZARD,-DHZ_SKIP                                    fail -O0
lazy-hazard-exit-publish-late    lazy_mm       -DMODE=HAZARD,-DHZ_EXIT_PUBLISH_LATE                       fail -O0
lazy-hazard-no-wait              lazy_mm       -DMODE=HAZARD,-DNO_WAIT                                    fail -O0
lazy-hazard-publish-late         lazy_mm       -DMODE=HAZARD,-DHZ_PUBLISH_LATE                            pass -O0
lazy-hazard-clear-early          lazy_mm       -DMODE=HAZARD,-DHZ_CLEAR_EARLY                             pass -O0
lazy-hazard-drop-no-leave        lazy_mm       -DMODE=HAZARD,-DDROP_NO_LEAVE                              pass -O0
lazy-mmput                       lazy_mm       -DMODE=MMPUT                                               pass -O0
lazy-mmput-skip-drop             lazy_mm       -DMODE=MMPUT,-DMP_SKIP_DROP                                fail -O0
lazy-mmput-2                     lazy_mm       -DMODE=MMPUT,-DMUNMAPS=2                                   pass -O0
lazy-mmput-clear-borrowed        lazy_mm       -DMODE=MMPUT,-DMUNMAPS=2,-DSD_CLEAR_BORROWED               fail -O0
lazy-mmput-no-wait               lazy_mm       -DMODE=MMPUT,-DNO_WAIT                                     fail -O0
lazy-nt-refcount                 lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=REFCOUNT                        pass -O0
lazy-nt-refcount-drop-before-cr3 lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=REFCOUNT,-DRC_DROP_BEFORE_CR3   fail -O0
lazy-nt-shootdown                lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=SHOOTDOWN                       pass -O0
lazy-nt-shootdown-drop-no-leave  lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=SHOOTDOWN,-DDROP_NO_LEAVE       fail -O0
lazy-nt-hazard                   lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=HAZARD                          pass -O0
lazy-nt-hazard-publish-late      lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=HAZARD,-DHZ_PUBLISH_LATE        fail -O0
lazy-nt-hazard-clear-early       lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=HAZARD,-DHZ_CLEAR_EARLY         fail -O0
lazy-nt-hazard-drop-no-leave     lazy_mm       -DNO_TEARDOWN_FLUSH,-DMODE=HAZARD,-DDROP_NO_LEAVE          fail -O0
rcu                              rcu           -DROUNDS=2                                                 pass -O0
rcu-no-qs-fence                  rcu           -DROUNDS=2,-DNO_QS_FENCE                                   fail -O0
rcu-no-g1-fence                  rcu           -DROUNDS=2,-DNO_G1_FENCE                                   fail -O0
rcu-no-wait                      rcu           -DROUNDS=2,-DNO_WAIT                                       fail -O0
rcu-no-g4-fence                  rcu           -DROUNDS=2,-DNO_G4_FENCE                                   pass -O0
kflush-defer                     kflush_defer  -DROUNDS=3                                                 pass -O0
kflush-defer-d1-split            kflush_defer  -DROUNDS=2,-DD1_SPLIT                                      fail -O0
kflush-defer-d1-skip-if-pending  kflush_defer  -DROUNDS=2,-DD1_SKIP_IF_PENDING                            fail -O0
kflush-defer-e1-split            kflush_defer  -DROUNDS=2,-DE1_SPLIT                                      fail -O0
kflush-defer-no-entry-flush      kflush_defer  -DROUNDS=2,-DNO_ENTRY_FLUSH                                fail -O0
'

for tool in spin ${HOSTCC:-cc}; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run-models: '$tool' is missing (tools/deps.sh installs it)"
        echo "models: 0 passed, 1 failed"
        exit 1
    }
done

passed=0
failed=0
mkdir -p "$OUT"

# Every switch a model tests with #ifdef/#ifndef/defined() must be used by
# some row: a variant written but never run would prove nothing.  (The
# configuration knobs FLUSHERS, ROUNDS, MODE, MUNMAPS, ONLY_M and
# NO_TEARDOWN_FLUSH are switches too, and rows use each of them.)
if [ "$PAT" = "*" ]; then
    for sw in $(grep -ohE '#ifn?def [A-Z0-9_]+|defined\([A-Z0-9_]+\)' "$ROOT"/tests/models/*.pml |
                sed -E 's/#ifn?def //; s/defined\((.*)\)/\1/' | sort -u); do
        case $ROWS in
        *-D$sw[=,\ ]*) ;;
        *) echo "[models] $sw: a switch of tests/models/ that no row of tools/run-models.sh uses  FAIL"
           failed=$((failed + 1)) ;;
        esac
    done
fi
# Read the table from a here-document, not a pipe: the counters must
# survive the loop.
while read -r name model flags expect opt; do
    [ -n "$name" ] || continue
    case $name in $PAT) ;; *) continue ;; esac
    dir=$OUT/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$ROOT"/tests/models/*.pml "$ROOT"/tests/models/*.h "$dir"/
    dflags=$(echo "$flags" | tr ',' ' ')
    start=$(date +%s.%N)
    # shellcheck disable=SC2086  # $dflags is a list of -D flags
    if ! (cd "$dir" && spin $dflags -a "$model.pml" >spin.out 2>&1 &&
          ${HOSTCC:-cc} -w $opt -DSAFETY -DCOLLAPSE -o pan pan.c >cc.out 2>&1); then
        verdict=FAIL; why="spin or cc failed (see $dir)"
    else
        (cd "$dir" && ./pan -m200000 >pan.out 2>&1)
        errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$dir/pan.out" | head -n1)
        states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$dir/pan.out" | head -n1)
        secs=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' "$dir/pan.out" | head -n1)
        what=$(grep -m1 -o 'assertion violated.*' "$dir/pan.out" | cut -c1-90)
        if grep -q 'max search depth too small' "$dir/pan.out"; then
            verdict=FAIL; why="pan's depth limit was hit: the search is not exhaustive"
        elif [ -z "$errors" ]; then
            verdict=FAIL; why="no result from pan (see $dir/pan.out)"
        elif [ "$expect" = pass ] && [ "$errors" = 0 ]; then
            verdict=PASS; why="0 errors, $states states, ${secs}s"
        elif [ "$expect" = fail ] && [ "$errors" != 0 ] && [ -n "$what" ]; then
            verdict=PASS; why="rejected as it must be ($states states, ${secs}s): $what"
        elif [ "$expect" = pass ]; then
            verdict=FAIL; why="$errors error(s), expected none: ${what:-see $dir/pan.out}"
        else
            verdict=FAIL; why="no assertion violation found, but this variant must be rejected ($states states)"
        fi
    fi
    end=$(date +%s.%N)
    printf '[models] %-34s %s  %s  (%s s)\n' "$name" "$verdict" "$why" \
        "$(awk "BEGIN { printf \"%.1f\", $end - $start }")"
    if [ "$verdict" = PASS ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done <<EOF
$ROWS
EOF

echo "models: $passed passed, $failed failed"
[ "$failed" = 0 ]
