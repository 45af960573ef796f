/*
 * tests/test_smp_spinlock.c - every CPU hammers one ticket lock at once;
 * the counter it protects must come out exact.
 *
 * The increment is a separate load and store with a pause in between, so
 * that without mutual exclusion updates would be lost quickly.  The CPUs are
 * started with one non-waiting call to all (CPU 0 runs its share locally);
 * they run with interrupts off, inside their call handlers.
 */
#include "ktest.h"
#include "smp_test_util.h"
#include <kernel/spinlock.h>
#include <stdatomic.h>

/* Increments over the whole machine, split over the CPUs (at least
 * LOCK_MIN_ROUNDS each).  Moderate, because a ticket lock hands over in
 * order, and under emulation the next holder's vCPU may be waiting for a
 * host core. */
#define LOCK_TOTAL 2400u
#define LOCK_MIN_ROUNDS 20u
static unsigned lock_rounds;

static DEFINE_SPINLOCK(counter_lock);
static uint64_t counter;            /* protected by counter_lock */
static _Atomic unsigned finished;
static bool use_irqsave;

static void hammer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < READ_ONCE(lock_rounds); i++) {
        uint64_t flags = 0;
        if (READ_ONCE(use_irqsave))
            flags = spin_lock_irqsave(&counter_lock);
        else
            spin_lock(&counter_lock);
        uint64_t v = READ_ONCE(counter);
        arch_cpu_relax();
        WRITE_ONCE(counter, v + 1);
        if (READ_ONCE(use_irqsave))
            spin_unlock_irqrestore(&counter_lock, flags);
        else
            spin_unlock(&counter_lock);
    }
    /* Release: pairs with CPU 0's acquire, which then reads `counter`
     * (also ordered by the lock itself). */
    atomic_fetch_add_explicit(&finished, 1, memory_order_release);
}

static void run(struct ktest *t, bool irqsave)
{
    unsigned n = nr_cpus_online;
    counter = 0;
    atomic_store(&finished, 0);
    use_irqsave = irqsave;
    lock_rounds = MAX(LOCK_TOTAL / n, LOCK_MIN_ROUNDS);
    uint64_t t0 = ktime_ns();
    smp_call_all(hammer, NULL, false);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load_explicit(&finished, memory_order_acquire) == n));
    spin_lock(&counter_lock);
    EXPECT_EQ(t, counter, (uint64_t)n * lock_rounds);
    spin_unlock(&counter_lock);
    EXPECT_FALSE(t, spin_is_locked(&counter_lock));
    if (n < 2)
        ktest_log("only one CPU: the lock saw no contention");
    /* Informational only: nothing is judged by time. */
    ktest_log("%u CPUs x %u rounds, %lu ms", n, lock_rounds,
              (unsigned long)((ktime_ns() - t0) / 1000000));
}

static void test_lock_stress_all_cpus(struct ktest *t) { run(t, false); }
static void test_lock_irqsave_stress_all_cpus(struct ktest *t) { run(t, true); }

static const struct ktest_case cases[] = {
    KTEST_CASE(test_lock_stress_all_cpus),
    KTEST_CASE(test_lock_irqsave_stress_all_cpus),
    {0},
};
KTEST_SUITE(smp_spinlock, cases);
