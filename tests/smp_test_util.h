/*
 * tests/smp_test_util.h - helpers shared by the multi-CPU test suites.
 */
#pragma once
#include "ktest_suite.h"
#include <kernel/cpumask.h>
#include <kernel/smp.h>
#include <kernel/time.h>
#include <arch/cpu.h>

/*
 * Spin until `cond` holds; give up after SPIN_GUARD_NS.  The guard only
 * keeps a lost interrupt or call from hanging the run: tests judge what
 * happened (counts, progress), never how long it took, and the guard is far
 * beyond anything a descheduled vCPU needs.  Evaluates to whether `cond`
 * finally held.
 */
#define SPIN_GUARD_NS (60ull * 1000 * 1000 * 1000)
#define SPIN_UNTIL(cond)                                                       \
    ({                                                                         \
        uint64_t __t0 = ktime_ns();                                            \
        bool __ok;                                                             \
        while (!(__ok = (cond)) && ktime_ns() - __t0 < SPIN_GUARD_NS)          \
            arch_cpu_relax();                                                       \
        __ok;                                                                  \
    })

/*
 * Spin until `cond` holds, for as long as `progress` (an integer
 * expression, e.g. a count of calls handled) keeps changing: give up only
 * after SPIN_GUARD_NS without any progress.  For long stress loops, where
 * the whole run may legitimately take minutes when vCPUs outnumber busy
 * host cores - a fixed guard would then judge elapsed time - while a lost
 * call still ends the wait.  Evaluates to whether `cond` finally held.
 *
 * While progress goes on, a line every SPIN_NOTE_NS says so: the test runner
 * takes a serial log silent for the configuration's timeout for a hung
 * machine (tools/run-tests.py), and a long stress loop on a crowded host is
 * slow, not hung.  A wait with no progress prints nothing and still ends at
 * the guard - and a machine that really hangs stays silent.
 */
#define SPIN_NOTE_NS (20ull * 1000 * 1000 * 1000)

/* The same note from a long loop of the test's own: call it with the loop's
 * progress count as often as convenient; it prints at most once per
 * SPIN_NOTE_NS.  *noted starts at ktime_ns(). */
static inline void progress_note(uint64_t *noted, const char *what, uint64_t value)
{
    uint64_t now = ktime_ns();
    if (now - *noted >= SPIN_NOTE_NS) {
        *noted = now;
        ktest_log("still in progress: %s = %llu", what, (unsigned long long)value);
    }
}
#define SPIN_UNTIL_PROGRESS(cond, progress) \
    WAIT_UNTIL_PROGRESS(cond, progress, arch_cpu_relax())

/* The same wait with another pause between two looks (`step`: e.g. msleep(1)
 * where the waiter must let other threads of its CPU run). */
#define WAIT_UNTIL_PROGRESS(cond, progress, step)                              \
    ({                                                                         \
        uint64_t __t0 = ktime_ns(), __noted = __t0;                            \
        uint64_t __seen = (uint64_t)(progress);                                \
        bool __ok;                                                             \
        while (!(__ok = (cond))) {                                             \
            uint64_t __now = (uint64_t)(progress);                             \
            if (__now != __seen) {                                             \
                __seen = __now;                                                \
                __t0 = ktime_ns();                                             \
                progress_note(&__noted, #progress, __now);                     \
            } else if (ktime_ns() - __t0 >= SPIN_GUARD_NS) {                   \
                break;                                                         \
            }                                                                  \
            step;                                                              \
        }                                                                      \
        __ok;                                                                  \
    })

/* The highest-numbered online CPU: another CPU than the boot CPU the tests
 * run on, when there is one (CPU 0 on -smp 1). */
static inline unsigned last_online_cpu(void)
{
    unsigned cpu, last = 0;
    for_each_online_cpu(cpu)
        last = cpu;
    return last;
}
