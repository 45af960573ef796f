/*
 * tests/test_demo_tlb.c - the boot demo's TLB scene (kernel/demo/tlb_scene.c,
 * docs/demo.md), played quietly, judged by what the narrator counted from
 * the trace and by the event counters - never by time.
 *
 * The scene is built so that every count below holds on every schedule:
 * thread 0 changes the page tables of acts 2 and 3 only after the borrower
 * (a kernel thread) runs on the last CPU, and the threads on the other CPUs
 * spin in user mode the whole time.  So with N CPUs:
 *   act 1  one flush; each other CPU gets an IPI or (never here) is skipped
 *          as lazy - and no IPI goes to a lazy CPU;
 *   act 2  two flushes, each leaving the lazy borrower CPU out (no IPI to
 *          a lazy CPU), and that CPU catches up with one full flush when
 *          its thread comes back;
 *   act 3  a flush that frees a page table reaches the lazy CPU anyway,
 *          which leaves the mm (leave_mm);
 * and the borrower saw the program's mm as its active_mm.  With one CPU no
 * IPI is sent at all.  Everything the program made is gone afterwards.
 */
#include "ktest_suite.h"
#include "user_test_util.h"
#include <kernel/demo_tlb.h>
#include <kernel/kmalloc.h>

static void test_scene_counts(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    struct tlb_scene_result *r = kzalloc(sizeof(*r));
    ASSERT_TRUE(t, r != NULL);
    tlb_scene_run(r, true);
    ASSERT_TRUE(t, r->ran);
    EXPECT_EQ(t, r->status, 0);
    EXPECT_EQ(t, r->lost, 0u);
    EXPECT_NE(t, r->ctx, 0u);

    const struct tlb_scene_act *a1 = &r->act[TLBSCENE_ACT_ALL_RUN];
    EXPECT_EQ(t, a1->flushes, 1u);
    EXPECT_EQ(t, a1->ipis + a1->skipped_lazy, r->cpus - 1);
    EXPECT_EQ(t, a1->ipis_to_lazy, 0u);
    /* Every IPI sent was handled (one ipi_recv per target), whatever it
     * found there. */
    EXPECT_EQ(t, a1->recv_pages + a1->recv_full + a1->recv_lazy + a1->recv_leave_mm + a1->recv_other, a1->ipis);

    unsigned ipis = 0;
    for (unsigned i = 0; i < TLBSCENE_NR_ACTS; i++) {
        ipis += r->act[i].ipis;
        /* A CPU the flush left out as lazy is lazy by the events too. */
        EXPECT_EQ(t, r->act[i].skipped_not_lazy, 0u);
    }
    if (r->cpus == 1) {
        EXPECT_EQ(t, ipis, 0u);
        EXPECT_EQ(t, r->ipi_sent, 0u);
        EXPECT_EQ(t, r->act[TLBSCENE_ACT_LAZY].flushes, 0u);
        ktest_log("one CPU: %u flushes, no IPI", a1->flushes + r->act[TLBSCENE_ACT_EXIT].flushes);
    } else {
        const struct tlb_scene_act *a2 = &r->act[TLBSCENE_ACT_LAZY];
        const struct tlb_scene_act *a3 = &r->act[TLBSCENE_ACT_TABLES];
        EXPECT_EQ(t, r->borrowed_ctx, r->ctx);
        EXPECT_EQ(t, a2->flushes, 2u);
        EXPECT_EQ(t, a2->flushes_freed, 0u);
        EXPECT_GE(t, a2->skipped_lazy, 2u);         /* the borrower CPU, each time */
        EXPECT_EQ(t, a2->ipis_to_lazy, 0u);
        EXPECT_EQ(t, a2->ipis + a2->skipped_lazy, 2 * (r->cpus - 1));
        EXPECT_GE(t, a2->catchups, 1u);             /* it came back and flushed */
        EXPECT_EQ(t, a3->flushes_freed, 1u);
        EXPECT_GE(t, a3->ipis_to_lazy, 1u);         /* freed tables reach lazy CPUs */
        EXPECT_GE(t, a3->recv_leave_mm, 1u);
        /* The counters saw (at least) what the trace showed. */
        EXPECT_GE(t, r->ipi_sent, (uint64_t)ipis);
        EXPECT_GE(t, r->ipi_skipped_lazy, (uint64_t)a2->skipped_lazy);
        EXPECT_GE(t, r->lazy_catchup, (uint64_t)a2->catchups);
        EXPECT_GE(t, r->leave_mm, (uint64_t)a3->recv_leave_mm);
        ktest_log("%u CPUs: %u IPIs; act 2: %u lazy skips, %u catch-up; act 3: %u leave_mm", r->cpus, ipis,
                  a2->skipped_lazy, a2->catchups, a3->recv_leave_mm);
    }
    kfree(r);
    user_baseline_check(t, &b);
}

static const struct ktest_case demo_tlb_cases[] = {
    KTEST_CASE(test_scene_counts),
    {0},
};
KTEST_SUITE(demo_tlb, demo_tlb_cases);
