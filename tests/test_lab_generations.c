/*
 * tests/test_lab_generations.c - the graded checks of the lab "generations"
 * (labs/generations/handout.md): what a CPU does with a flush request,
 * judged by its generation (flush_on_this_cpu in arch/x86_64/mm/tlb.c),
 * and whether a CPU leaving lazy mode must flush (lazy_catch_up in
 * arch/x86_64/mm/tlb_switch.c).
 *
 * As in tests/test_lab_shootdown.c, the body runs on CPU 0 and the mm's
 * threads on the other CPUs (tests/lab_test_util.h); the counts are exact.
 * The INVLPGs and flushing CR3 writes are counted by the TLB primitives
 * themselves, so a test sees what the CPUs did, not what the code says it
 * did.  Each test requires the flushes that are needed AND the absence of
 * the ones that are not: a kernel that never flushes fails each, and so
 * does one that always flushes everything.
 *
 * Two suites, booted apart by the grader (labs/generations/grade.json):
 * lab_generations (the handler) and lab_generations_lazy (the catch-up).
 */
#include "ktest_suite.h"
#include "lab_test_util.h"
#include <kernel/mm.h>
#include <kernel/percpu.h>

/* ---- lab_generations ----------------------------------------------------- */

/*
 * The mm runs on the k other CPUs, each one generation behind at each
 * flush: a flush of one page is one INVLPG per CPU, a flush of three pages
 * three, and neither writes CR3.
 */
static void pages_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 5);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        struct counts n;
        unmap_counted(t, mm, ADDR, 1, &n);
        EXPECT_EQ(t, n.received, (uint64_t)k);
        EXPECT_EQ(t, n.invlpg, (uint64_t)k);
        EXPECT_EQ(t, n.cr3_flush, 0u);
        EXPECT_EQ(t, n.caught_up, 0u);
        unmap_counted(t, mm, ADDR + PAGE_SIZE, 3, &n);
        EXPECT_EQ(t, n.received, (uint64_t)k);
        EXPECT_EQ(t, n.invlpg, 3u * k);
        EXPECT_EQ(t, n.cr3_flush, 0u);
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_one_behind_pages(struct ktest *t)
{
    run_body(t, pages_body, false, 2);
}

/*
 * A range of tlb_flush_ceiling + 1 pages: one full flush (a flushing CR3
 * write of the same ASID) per CPU, no INVLPG.  Then a page again: the full
 * flush brought each CPU's slot to the mm's generation, so the next
 * request is one ahead of it - INVLPG again.
 */
#define UNMAP_BATCH 64          /* kernel/mm/mmu_gather.h: MMU_GATHER_PAGES, frames per flush */

static void ceiling_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    unsigned ceiling = tlb_flush_ceiling;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, ceiling + 2);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        struct counts n;
        unmap_counted(t, mm, ADDR, ceiling + 1, &n);
        EXPECT_EQ(t, n.received, (uint64_t)k);
        EXPECT_EQ(t, n.cr3_flush, (uint64_t)k);
        EXPECT_EQ(t, n.invlpg, 0u);
        unmap_counted(t, mm, ADDR + (uintptr_t)(ceiling + 1) * PAGE_SIZE, 1, &n);
        EXPECT_EQ(t, n.invlpg, (uint64_t)k);
        EXPECT_EQ(t, n.cr3_flush, 0u);
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_above_ceiling_full(struct ktest *t)
{
    if (tlb_flush_ceiling + 1 > UNMAP_BATCH)
        KTEST_SKIP(t, "tlb_flush_ceiling above the unmap batch: the range would take two flushes");
    run_body(t, ceiling_body, false, 2);
}

static const struct ktest_case lab_generations_cases[] = {
    KTEST_CASE(test_one_behind_pages),
    KTEST_CASE(test_above_ceiling_full),
    {0},
};

KTEST_SUITE(lab_generations, lab_generations_cases);

/* ---- lab_generations_lazy ------------------------------------------------ */

/*
 * The k other CPUs run the mm, then go lazy on it.  A flush (no table
 * freed) skips them all.  When they come back to the mm, each finds the
 * mm's generation past its slot's and flushes its ASID in full: exactly
 * one flushing CR3 write per CPU, and no other CR3 write.
 */
static void catch_up_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 2);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        crew_go_lazy(t, &c, 0);
        struct counts n;
        unmap_counted(t, mm, ADDR, 1, &n);
        EXPECT_EQ(t, n.sent, 0u);
        EXPECT_EQ(t, n.skipped_lazy, (uint64_t)k);
        struct counter_snapshot s;
        counters_snapshot(&s);
        crew_come_back(t, &c);
        counts_since(&s, &n);
        EXPECT_EQ(t, n.cr3_flush, (uint64_t)k);
        EXPECT_EQ(t, n.cr3_noflush, 0u);
        EXPECT_EQ(t, n.lazy_catchup, (uint64_t)k);
        EXPECT_EQ(t, n.invlpg, 0u);
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_lazy_catch_up(struct ktest *t)
{
    run_body(t, catch_up_body, false, 2);
}

/*
 * The same round trip with nothing changed while the CPUs were lazy: no
 * flush and no CR3 write at all on the way back.  Then a flush reaches
 * them as usual (one generation behind: INVLPG).
 */
static void no_change_body(void *arg)
{
    struct body_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 2);
    struct crew c;
    if (crew_start(t, &c, mm, k)) {
        crew_go_lazy(t, &c, 0);
        struct counter_snapshot s;
        counters_snapshot(&s);
        crew_come_back(t, &c);
        struct counts n;
        counts_since(&s, &n);
        EXPECT_EQ(t, n.cr3_flush, 0u);
        EXPECT_EQ(t, n.cr3_noflush, 0u);
        EXPECT_EQ(t, n.lazy_catchup, 0u);
        EXPECT_EQ(t, n.invlpg, 0u);
        unmap_counted(t, mm, ADDR, 1, &n);
        EXPECT_EQ(t, n.received, (uint64_t)k);
        EXPECT_EQ(t, n.invlpg, (uint64_t)k);
    }
    crew_stop(t, &c);
    mmput(mm);
}

static void test_lazy_no_change(struct ktest *t)
{
    run_body(t, no_change_body, false, 2);
}

static const struct ktest_case lab_generations_lazy_cases[] = {
    KTEST_CASE(test_lazy_catch_up),
    KTEST_CASE(test_lazy_no_change),
    {0},
};

KTEST_SUITE(lab_generations_lazy, lab_generations_lazy_cases);
