#!/bin/sh
# tests/host/run.sh PROGRAM... - run the host test programs and add up their
# "<group>: N passed, N failed" lines.  The last line printed is
# "host: N passed, N failed"; the exit status is 1 if anything failed.
passed=0
failed=0
for prog in "$@"; do
    out=$("$prog" 2>&1)
    status=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | sed -n 's/^[a-z0-9_]*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' | tail -n 1)
    if [ -n "$line" ]; then
        p=${line% *}
        f=${line#* }
        passed=$((passed + p))
        failed=$((failed + f))
    fi
    # No summary (killed by a sanitizer) or a failure status without failed
    # checks: count the program itself as a failure.
    if [ -z "$line" ] || { [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
        echo "$prog: exited with status $status"
        failed=$((failed + 1))
    fi
    f=
done
echo "host: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
