/*
 * tests/test_lab_shootdown.c - the graded checks of the lab "shootdown"
 * (labs/shootdown/handout.md): which CPUs one flush_tlb_mm_range() sends
 * its IPI to (arch/x86_64/mm/tlb.c, step F2).
 *
 * Each test runs its body bound to CPU 0, parks threads that run the mm
 * (or borrow it, lazily) on the other CPUs, makes ONE flush, and counts
 * what it cost, summed over the CPUs (kernel/debug/counters.h).  The
 * counts are exact: during the flush the other CPUs only spin in this
 * file's threads.  Every test needs the flush to reach the CPUs that need
 * it AND to leave out the others, so a kernel that sends nobody an IPI
 * fails each of them, and so does one that sends everybody one.  The
 * shadow-TLB checker (tlbcheck=on, which the grader always sets) stops
 * the kernel on a missed flush even before the counts are read.
 *
 * Two suites, booted apart by the grader (labs/shootdown/grade.json):
 * lab_shootdown (no page table is freed) and lab_shootdown_freed (a page
 * table is freed under lazy CPUs), so that a kernel the checker stops in
 * the one is still graded on the other.
 */
#include "ktest_suite.h"
#include "lab_test_util.h"
#include <kernel/cpumask.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <arch/x86/tlbstate.h>

/* ---- lab_shootdown ------------------------------------------------------- */

/* Every other CPU runs the mm: each gets exactly one IPI per flush, and
 * flushes the page (one INVLPG each).  The flusher (CPU 0) does not run
 * the mm. */
static void running_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 3);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        EXPECT_EQ(t, cpumask_weight(&mm->cpumask), k);
        struct counts n;
        for (unsigned round = 0; round < 2; round++) {
            unmap_counted(t, mm, ADDR + round * PAGE_SIZE, 1, &n);
            EXPECT_EQ(t, n.sent, (uint64_t)k);
            EXPECT_EQ(t, n.received, (uint64_t)k);
            EXPECT_EQ(t, n.skipped_lazy, 0u);
            EXPECT_EQ(t, n.invlpg, (uint64_t)k);
        }
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_running_cpus(struct ktest *t)
{
    run_body(t, running_body, false, 2);
}

/* The flusher runs the mm itself: it flushes its own TLB without an IPI
 * to itself; the k others get one each. */
static void self_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = a->mm;
    populate(t, mm, ADDR, 2);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        EXPECT_EQ(t, cpumask_weight(&mm->cpumask), k + 1);
        EXPECT_TRUE(t, cpumask_test_cpu(&mm->cpumask, this_cpu_id()));
        struct counts n;
        unmap_counted(t, mm, ADDR, 1, &n);
        EXPECT_EQ(t, n.sent, (uint64_t)k);
        EXPECT_EQ(t, n.received, (uint64_t)k);
        EXPECT_EQ(t, n.invlpg, (uint64_t)k + 1);       /* ours too, without an IPI */
    }
    crew_stop(t, &c);
    unuse_mm(mm);
}

static void test_not_self(struct ktest *t)
{
    run_body(t, self_body, true, 2);
}

/*
 * Only CPU 1 runs the mm; the other CPUs run a second mm.  A flush of the
 * first goes to CPU 1 alone.  When CPU 1 has left the mm its bit is still
 * set (only a CPU clears its own bit, in the flush handler): the next flush
 * still goes to it, and it clears its bit; the flush after that goes to
 * nobody.
 */
static void cpumask_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create(), *other = mm_create();
    ASSERT_TRUE(t, mm != NULL && other != NULL);
    populate(t, mm, ADDR, 4);
    populate(t, other, ADDR, 1);
    struct crew one, rest;
    struct counts n;
    bool started = crew_start(t, &one, mm, 1);
    /* CPUs 2..k run `other` (crew_start counts from CPU 1). */
    rest.n = 0;
    for (unsigned cpu = 2; cpu <= k; cpu++) {
        rest.th[rest.n] = lazy_holder_start(&rest.h[rest.n], other, cpu);
        ASSERT_TRUE(t, rest.th[rest.n] != NULL);
        rest.n++;
    }
    for (unsigned i = 0; i < rest.n; i++)
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&rest.h[i].loaded)));
    if (started) {
        EXPECT_EQ(t, cpumask_weight(&mm->cpumask), 1u);
        unmap_counted(t, mm, ADDR, 1, &n);
        EXPECT_EQ(t, n.sent, 1u);
        EXPECT_EQ(t, n.received, 1u);
        EXPECT_EQ(t, n.invlpg, 1u);
    }
    crew_stop(t, &one);
    EXPECT_TRUE(t, cpumask_test_cpu(&mm->cpumask, 1));     /* stale: CPU 1 left */
    unmap_counted(t, mm, ADDR + PAGE_SIZE, 1, &n);
    EXPECT_EQ(t, n.sent, 1u);
    EXPECT_EQ(t, n.cleared, 1u);
    EXPECT_EQ(t, n.invlpg, 0u);
    EXPECT_TRUE(t, cpumask_empty(&mm->cpumask));
    unmap_counted(t, mm, ADDR + 2 * PAGE_SIZE, 1, &n);
    EXPECT_EQ(t, n.sent, 0u);
    EXPECT_EQ(t, n.received, 0u);
    crew_stop(t, &rest);
    mmput(other);
    mmput(mm);
}

static void test_only_cpumask(struct ktest *t)
{
    run_body(t, cpumask_body, false, 3);
}

/*
 * CPU 1 runs the mm; CPUs 2..k borrow it lazily (a kernel thread runs on
 * its page tables).  A flush that frees no page table goes to CPU 1 alone:
 * the k - 1 lazy CPUs are skipped (and counted as skipped), and catch up
 * when they come back to the mm (the checker holds them to it).
 */
static void lazy_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 2);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        crew_go_lazy(t, &c, 1);
        struct counts n;
        unmap_counted(t, mm, ADDR, 1, &n);      /* the page table stays */
        EXPECT_EQ(t, n.sent, 1u);
        EXPECT_EQ(t, n.received, 1u);
        EXPECT_EQ(t, n.skipped_lazy, (uint64_t)k - 1);
        EXPECT_EQ(t, n.invlpg, 1u);
        EXPECT_EQ(t, n.leave_mm, 0u);
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_lazy_skipped(struct ktest *t)
{
    run_body(t, lazy_body, false, 3);
}

static const struct ktest_case lab_shootdown_cases[] = {
    KTEST_CASE(test_running_cpus),
    KTEST_CASE(test_not_self),
    KTEST_CASE(test_only_cpumask),
    KTEST_CASE(test_lazy_skipped),
    {0},
};

KTEST_SUITE(lab_shootdown, lab_shootdown_cases);

/* ---- lab_shootdown_freed ------------------------------------------------- */

/*
 * As lazy_body, but the unmap empties the page table, which is freed after
 * the flush (freed_tables): the lazy CPUs' page walks could still reach it,
 * so they get the IPI too - every CPU of the mask, none skipped - and each
 * lazy one moves to init_mm at once (leave_mm).
 */
static void freed_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 2);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        crew_go_lazy(t, &c, 1);
        struct counts n;
        unmap_counted(t, mm, ADDR, 2, &n);      /* the last pages: the table goes */
        EXPECT_EQ(t, n.sent, (uint64_t)k);
        EXPECT_EQ(t, n.received, (uint64_t)k);
        EXPECT_EQ(t, n.skipped_lazy, 0u);
        EXPECT_EQ(t, n.leave_mm, (uint64_t)k - 1);
        for (unsigned cpu = 2; cpu <= k; cpu++)
            EXPECT_FALSE(t, READ_ONCE(tlbstate_shared(cpu)->is_lazy));
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_freed_tables_reach_lazy(struct ktest *t)
{
    run_body(t, freed_body, false, 3);
}

static const struct ktest_case lab_shootdown_freed_cases[] = {
    KTEST_CASE(test_freed_tables_reach_lazy),
    {0},
};

KTEST_SUITE(lab_shootdown_freed, lab_shootdown_freed_cases);
