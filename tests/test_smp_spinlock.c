/*
 * tests/test_smp_spinlock.c - every CPU hammers one lock at once; the
 * counter it protects must come out exact.  Both kinds of lock() run on
 * every configuration (kernel/spinlock.h: ticket, and test-and-set for
 * virtual CPUs), switched for the test: the two kinds keep the same lock
 * word, so switching is safe even while locks are held.
 *
 * The increment is a separate load and store with a pause in between, so
 * that without mutual exclusion updates would be lost quickly.  The CPUs are
 * started with one non-waiting call to all (CPU 0 runs its share locally);
 * they run with interrupts off, inside their call handlers.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/percpu.h>
#include <kernel/spinlock.h>
#include <stdatomic.h>

/* Each CPU takes the lock again and again until the CPUs have interleaved
 * INTERLEAVINGS_PER_CPU times per CPU in all ("this CPU found the counter moved by another
 * since its own last round") or it has done ROUND_CAP rounds (and at least
 * ROUND_MIN, which is all a lone CPU does).  A fixed
 * number of rounds proved nothing here: on a busy 2-core host one vCPU
 * often did its whole share inside one host time slice, so the CPUs took
 * turns and the lock never had to exclude anyone (0 interleavings in most
 * runs).  Counting interleavings makes the test run until exclusion was
 * really exercised, and then it judges the count.  A ticket lock pays a host
 * scheduling delay per hand-off when waiters are descheduled
 * (kernel/spinlock.h), so the target is small. */
#define INTERLEAVINGS_PER_CPU 8u
#define ROUND_CAP (1u << 20)
#define ROUND_MIN 100u

static DEFINE_SPINLOCK(counter_lock, LOCK_RANK_LEAF);
static uint64_t counter;            /* protected by counter_lock */
static _Atomic unsigned arrived, finished;
static _Atomic uint64_t interleaved, rounds_done;
static unsigned interleavings_wanted;
static bool use_irqsave;

static void hammer(void *arg)
{
    (void)arg;
    /* Start together: the call IPIs reach the CPUs milliseconds apart.  The
     * wait is on progress (another arrival), not time. */
    atomic_fetch_add(&arrived, 1);
    SPIN_UNTIL_PROGRESS(atomic_load(&arrived) == nr_cpus_online, atomic_load(&arrived));
    uint64_t mine = ~0ull;          /* the value this CPU wrote last */
    unsigned rounds = 0;
    uint64_t noted = ktime_ns();
    while (rounds < ROUND_MIN ||
           (rounds < ROUND_CAP &&
            atomic_load_explicit(&interleaved, memory_order_relaxed) < READ_ONCE(interleavings_wanted))) {
        if (this_cpu_id() == 0 && !(rounds % 64))   /* the run's silence, on a crowded host */
            progress_note(&noted, "rounds on CPU 0", rounds);
        uint64_t flags = 0;
        if (READ_ONCE(use_irqsave))
            flags = spin_lock_irqsave(&counter_lock);
        else
            spin_lock(&counter_lock);
        /* A load and a store with a pause between: without exclusion,
         * updates are lost. */
        uint64_t v = READ_ONCE(counter);
        if (mine != ~0ull && v != mine)
            atomic_fetch_add_explicit(&interleaved, 1, memory_order_relaxed);
        arch_cpu_relax();
        WRITE_ONCE(counter, v + 1);
        mine = v + 1;
        if (READ_ONCE(use_irqsave))
            spin_unlock_irqrestore(&counter_lock, flags);
        else
            spin_unlock(&counter_lock);
        rounds++;
    }
    atomic_fetch_add_explicit(&rounds_done, rounds, memory_order_relaxed);
    /* Release: pairs with CPU 0's acquire, which then reads `counter`
     * (also ordered by the lock itself). */
    atomic_fetch_add_explicit(&finished, 1, memory_order_release);
}

static void run(struct ktest *t, enum spin_kind kind, bool irqsave)
{
    unsigned n = nr_cpus_online;
    enum spin_kind booted = spin_kind;
    ASSERT_TRUE(t, booted == SPIN_TICKET || booted == SPIN_TAS);   /* settled at boot */
    WRITE_ONCE(spin_kind, kind);
    counter = 0;
    atomic_store(&arrived, 0);
    atomic_store(&finished, 0);
    atomic_store(&interleaved, 0);
    atomic_store(&rounds_done, 0);
    use_irqsave = irqsave;
    /* One CPU cannot interleave with anyone: it does a few rounds. */
    interleavings_wanted = n < 2 ? 0 : INTERLEAVINGS_PER_CPU * n;
    uint64_t t0 = ktime_ns();
    smp_call_all(hammer, NULL, false);
    /* Progress, not time: a ticket lock on more vCPUs than free host cores
     * may take minutes (kernel/spinlock.h). */
    EXPECT_TRUE(t, SPIN_UNTIL_PROGRESS(atomic_load_explicit(&finished, memory_order_acquire) == n,
                                       READ_ONCE(counter)));
    WRITE_ONCE(spin_kind, booted);
    /* Interrupts off: counter_lock is a LEAF lock, and the tick that
     * lands while it is held takes the run queue's sleepers_lock, of a
     * lower rank, on top of it (the hammers hold it only with interrupts
     * off: in the call's IPI handler, or under smp_call's own save). */
    uint64_t flags = spin_lock_irqsave(&counter_lock);
    EXPECT_EQ(t, counter, atomic_load(&rounds_done));
    spin_unlock_irqrestore(&counter_lock, flags);
    EXPECT_FALSE(t, spin_is_locked(&counter_lock));
    EXPECT_TRUE(t, atomic_load(&interleaved) >= interleavings_wanted);
    if (n < 2)
        ktest_log("only one CPU: the lock saw no contention");
    /* Informational only: nothing is judged by time. */
    ktest_log("%s: %u CPUs, %llu rounds, %llu after another CPU's, %lu ms",
              kind == SPIN_TAS ? "test-and-set" : "ticket", n,
              (unsigned long long)atomic_load(&rounds_done),
              (unsigned long long)atomic_load(&interleaved),
              (unsigned long)((ktime_ns() - t0) / 1000000));
}

static void test_ticket_stress_all_cpus(struct ktest *t) { run(t, SPIN_TICKET, false); }
static void test_ticket_irqsave_stress_all_cpus(struct ktest *t) { run(t, SPIN_TICKET, true); }
static void test_tas_stress_all_cpus(struct ktest *t) { run(t, SPIN_TAS, false); }
static void test_tas_irqsave_stress_all_cpus(struct ktest *t) { run(t, SPIN_TAS, true); }

static const struct ktest_case cases[] = {
    KTEST_CASE(test_ticket_stress_all_cpus),
    KTEST_CASE(test_ticket_irqsave_stress_all_cpus),
    KTEST_CASE(test_tas_stress_all_cpus),
    KTEST_CASE(test_tas_irqsave_stress_all_cpus),
    {0},
};
KTEST_SUITE(smp_spinlock, cases);
