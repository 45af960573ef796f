/*
 * tests/test_smp_call.c - cross-CPU function calls: to each CPU, to masks,
 * with and without waiting, calls made from inside calls, and a stress in
 * which every CPU calls every other one thousands of times at once.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/percpu.h>
#include <stdatomic.h>

/* hits[c]: calls that ran on CPU c.  wrong_cpu: calls that ran elsewhere
 * than where their argument says they should. */
static _Atomic unsigned hits[MAX_CPUS];
static _Atomic unsigned wrong_cpu;

static void reset_hits(void)
{
    for (unsigned i = 0; i < MAX_CPUS; i++)
        atomic_store(&hits[i], 0);
    atomic_store(&wrong_cpu, 0);
}

/* arg: the CPU the call was sent to (or ~0 for "any"). */
static void count_hit(void *arg)
{
    unsigned me = this_cpu_id();
    unsigned target = (unsigned)(uintptr_t)arg;
    if (target != ~0u && target != me)
        atomic_fetch_add(&wrong_cpu, 1);
    atomic_fetch_add(&hits[me], 1);
}

static unsigned total_hits(void)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < MAX_CPUS; i++)
        sum += atomic_load(&hits[i]);
    return sum;
}

static bool ran_with_irqs_off;
static void note_irq_state(void *arg)
{
    (void)arg;
    ran_with_irqs_off = !arch_irqs_enabled();
    count_hit((void *)(uintptr_t)0);
}

static void test_call_self_runs_locally(struct ktest *t)
{
    reset_hits();
    ran_with_irqs_off = false;
    /* Without waiting, too: a call to the caller's CPU runs before return. */
    ASSERT_EQ(t, smp_call_cpu(0, note_irq_state, NULL, false), 0);
    EXPECT_EQ(t, atomic_load(&hits[0]), 1u);
    EXPECT_TRUE(t, ran_with_irqs_off);
    EXPECT_TRUE(t, arch_irqs_enabled());
    EXPECT_EQ(t, atomic_load(&wrong_cpu), 0u);
}

static void test_call_offline_cpu_fails(struct ktest *t)
{
    if (nr_cpus_online == MAX_CPUS)
        KTEST_SKIP(t, "every possible CPU is online");
    EXPECT_EQ(t, smp_call_cpu(MAX_CPUS - 1, count_hit, NULL, true), -1);
    EXPECT_EQ(t, smp_call_cpu(MAX_CPUS + 5, count_hit, NULL, true), -1);
}

static void test_call_each_cpu_waiting(struct ktest *t)
{
    unsigned cpu;
    reset_hits();
    for_each_online_cpu(cpu) {
        ASSERT_EQ(t, smp_call_cpu(cpu, count_hit, (void *)(uintptr_t)cpu, true), 0);
        /* A waited-for call has finished when the call returns. */
        EXPECT_EQ(t, atomic_load(&hits[cpu]), 1u);
    }
    EXPECT_EQ(t, total_hits(), nr_cpus_online);
    EXPECT_EQ(t, atomic_load(&wrong_cpu), 0u);
}

static void test_call_each_cpu_not_waiting(struct ktest *t)
{
    unsigned cpu;
    const unsigned rounds = 50;
    reset_hits();
    for (unsigned r = 0; r < rounds; r++)
        for_each_online_cpu(cpu)
            ASSERT_EQ(t, smp_call_cpu(cpu, count_hit, (void *)(uintptr_t)cpu, false), 0);
    EXPECT_TRUE(t, SPIN_UNTIL(total_hits() == rounds * nr_cpus_online));
    for_each_online_cpu(cpu)
        EXPECT_EQ(t, atomic_load(&hits[cpu]), rounds);
    EXPECT_EQ(t, atomic_load(&wrong_cpu), 0u);
}

/* Run one mask through smp_call_mask and check exactly its CPUs ran. */
static void check_mask(struct ktest *t, const struct cpumask *mask, bool wait)
{
    unsigned cpu;
    reset_hits();
    smp_call_mask(mask, count_hit, (void *)(uintptr_t)~0u, wait);
    unsigned want = cpumask_weight(mask);
    if (!wait)
        EXPECT_TRUE(t, SPIN_UNTIL(total_hits() == want));
    EXPECT_EQ(t, total_hits(), want);
    for_each_online_cpu(cpu)
        EXPECT_EQ(t, atomic_load(&hits[cpu]), cpumask_test_cpu(mask, cpu) ? 1u : 0u);
}

static void run_masks(struct ktest *t, bool wait)
{
    struct cpumask m;
    unsigned cpu;

    cpumask_clear(&m);                      /* empty: nothing runs */
    check_mask(t, &m, wait);
    check_mask(t, &cpu_online_mask, wait);  /* everyone, the caller included */
    cpumask_clear(&m);                      /* even CPUs */
    for_each_online_cpu(cpu)
        if (cpu % 2 == 0)
            cpumask_set_cpu(&m, cpu);
    check_mask(t, &m, wait);
    cpumask_clear(&m);                      /* odd CPUs (empty on one CPU) */
    for_each_online_cpu(cpu)
        if (cpu % 2 == 1)
            cpumask_set_cpu(&m, cpu);
    check_mask(t, &m, wait);
    cpumask_clear(&m);                      /* only the last CPU */
    cpumask_set_cpu(&m, nr_cpus_online - 1);
    check_mask(t, &m, wait);
}

static void test_call_masks_waiting(struct ktest *t) { run_masks(t, true); }
static void test_call_masks_not_waiting(struct ktest *t) { run_masks(t, false); }

static void test_call_others(struct ktest *t)
{
    unsigned cpu;
    reset_hits();
    smp_call_others(count_hit, (void *)(uintptr_t)~0u, true);
    for_each_online_cpu(cpu)
        EXPECT_EQ(t, atomic_load(&hits[cpu]), cpu == 0 ? 0u : 1u);
    reset_hits();
    smp_call_all(count_hit, (void *)(uintptr_t)~0u, true);
    EXPECT_EQ(t, total_hits(), nr_cpus_online);
}

/* A call that calls back: CPU 0 waits on CPU n-1, whose function makes a
 * waiting call to CPU 0.  This completes only because CPU 0 serves its own
 * queue while it waits. */
static void call_back_to_zero(void *arg)
{
    count_hit(arg);
    smp_call_cpu(0, count_hit, (void *)(uintptr_t)0, true);
}

static void test_call_back_to_waiting_caller(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs at least 2 CPUs");
    unsigned last = nr_cpus_online - 1;
    reset_hits();
    /* Twice: once with interrupts on, once with them off on CPU 0. */
    ASSERT_EQ(t, smp_call_cpu(last, call_back_to_zero, (void *)(uintptr_t)last, true), 0);
    uint64_t flags = arch_irq_save();
    int r = smp_call_cpu(last, call_back_to_zero, (void *)(uintptr_t)last, true);
    arch_irq_restore(flags);
    ASSERT_EQ(t, r, 0);
    EXPECT_EQ(t, atomic_load(&hits[last]), 2u);
    EXPECT_EQ(t, atomic_load(&hits[0]), 2u);
    EXPECT_EQ(t, atomic_load(&wrong_cpu), 0u);
}

/*
 * The stress.  CPU 0 starts stress_source on every CPU with one
 * non-waiting call to all (itself included, which runs it locally).  Each
 * CPU then makes stress_rounds calls to every other CPU, all CPUs
 * at once, from inside their call handlers with interrupts off - the
 * hardest case for deadlock.  stress_received counts, per CPU, the calls
 * that ran there; it is touched only by its own CPU with interrupts off.
 * Expected: each CPU received exactly (n - 1) * stress_rounds calls.  The
 * same again with non-waiting calls, which exercises the reuse of slots.
 *
 * Ordering of the final check: every increment on CPU c happens before the
 * release that ends the waited-for call; the caller's acquire sees it, and
 * the caller then release-increments stress_done, which CPU 0 reads with
 * acquire.  So CPU 0 sees every count once stress_done == n.
 */
/* Calls per mode over the whole machine, split evenly over the n * (n - 1)
 * (caller, target) pairs: 3000 calls of each CPU to the other on 2 CPUs,
 * 107 per pair on 8.  Kept moderate because emulated CPUs outnumber host
 * cores: a waiting call needs its target's vCPU to be running. */
#define STRESS_TOTAL_CALLS 6000u
#define STRESS_MIN_ROUNDS 2u
static unsigned stress_rounds;

static DEFINE_PER_CPU(uint64_t, stress_received);
static _Atomic unsigned stress_done;
static bool stress_wait;        /* waiting or non-waiting calls */

static void stress_target(void *arg)
{
    if ((unsigned)(uintptr_t)arg != this_cpu_id())
        atomic_fetch_add(&wrong_cpu, 1);
    (*this_cpu_ptr(&stress_received))++;
}

static void stress_source(void *arg)
{
    (void)arg;
    unsigned me = this_cpu_id();
    uint64_t noted = ktime_ns();
    for (unsigned r = 0; r < READ_ONCE(stress_rounds); r++) {
        if (me == 0)        /* CPU 0's share is most of the run's silence */
            progress_note(&noted, "CPU 0's rounds of calls", r);
        /* Every other CPU once per round, starting at a different one each
         * round so that the callers do not all queue on one target in
         * lockstep: (k + r) % (n - 1) runs over 0..n-2 as k does. */
        unsigned n = nr_cpus_online;
        for (unsigned k = 0; k < n - 1; k++) {
            unsigned cpu = (me + 1 + (k + r) % (n - 1)) % n;
            smp_call_cpu(cpu, stress_target, (void *)(uintptr_t)cpu, READ_ONCE(stress_wait));
        }
    }
    atomic_fetch_add_explicit(&stress_done, 1, memory_order_release);
}

static uint64_t stress_total(void)
{
    uint64_t sum = 0;
    unsigned cpu;
    for_each_online_cpu(cpu)
        sum += READ_ONCE(*per_cpu_ptr(&stress_received, cpu));
    return sum;
}

static void run_stress(struct ktest *t, bool wait)
{
    unsigned n = nr_cpus_online, cpu;
    if (n < 2)
        KTEST_SKIP(t, "needs at least 2 CPUs");
    reset_hits();
    for_each_online_cpu(cpu)
        *per_cpu_ptr(&stress_received, cpu) = 0;
    atomic_store(&stress_done, 0);
    stress_wait = wait;
    stress_rounds = MAX(STRESS_TOTAL_CALLS / (n * (n - 1)), STRESS_MIN_ROUNDS);

    uint64_t t0 = ktime_ns();
    smp_call_all(stress_source, NULL, false);
    /* Waits as long as calls keep arriving somewhere: with 8 vCPUs on a
     * busy 2-core host the whole run can take minutes, and only a run that
     * stopped making progress is a failure. */
    bool done = SPIN_UNTIL_PROGRESS(atomic_load_explicit(&stress_done, memory_order_acquire) == n,
                                    stress_total());
    EXPECT_TRUE(t, done);
    uint64_t want = (uint64_t)(n - 1) * stress_rounds;
    /* Non-waiting calls may still be running after their callers finished. */
    if (!wait)
        EXPECT_TRUE(t, SPIN_UNTIL_PROGRESS(stress_total() == want * n, stress_total()));
    for_each_online_cpu(cpu) {
        uint64_t got = READ_ONCE(*per_cpu_ptr(&stress_received, cpu));
        if (got != want)
            ktest_log("cpu%u received %lu calls, expected %lu", cpu, (unsigned long)got,
                      (unsigned long)want);
        EXPECT_EQ(t, got, want);
    }
    EXPECT_EQ(t, atomic_load(&wrong_cpu), 0u);
    /* Informational only: nothing is judged by time. */
    ktest_log("%u CPUs, %lu calls in all, %lu ms", n, (unsigned long)(want * n),
              (unsigned long)((ktime_ns() - t0) / 1000000));
}

static void test_stress_all_to_all_waiting(struct ktest *t) { run_stress(t, true); }
static void test_stress_all_to_all_not_waiting(struct ktest *t) { run_stress(t, false); }

static const struct ktest_case smp_call_cases[] = {
    KTEST_CASE(test_call_self_runs_locally),
    KTEST_CASE(test_call_offline_cpu_fails),
    KTEST_CASE(test_call_each_cpu_waiting),
    KTEST_CASE(test_call_each_cpu_not_waiting),
    KTEST_CASE(test_call_masks_waiting),
    KTEST_CASE(test_call_masks_not_waiting),
    KTEST_CASE(test_call_others),
    KTEST_CASE(test_call_back_to_waiting_caller),
    KTEST_CASE(test_stress_all_to_all_waiting),
    KTEST_CASE(test_stress_all_to_all_not_waiting),
    {0},
};
KTEST_SUITE(smp_call, smp_call_cases);
