/*
 * tests/smp_test_util.h - helpers shared by the multi-CPU test suites.
 */
#pragma once
#include <kernel/smp.h>
#include <kernel/time.h>
#include <arch/x86.h>

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
            cpu_relax();                                                       \
        __ok;                                                                  \
    })
