/*
 * tests/test_tlb_trace.c - the TLB trace explains itself
 * (kernel/debug/tlb_trace.h, docs/tlb.md "The TLB event trace").
 *
 * Each test makes a flush happen on a CPU where only its own threads run,
 * then reads that CPU's last trace events (tlb_trace_recent) and checks
 * what they say: the flush's cause, the initiator's own part of the work,
 * and, for each CPU left out of the IPI batch, the reason.  The trace is
 * what a student reads to find out why a CPU was or was not flushed, so a
 * wrong reason is a wrong answer.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/cpumask.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/debug/tlb_trace.h>
#include <arch/paging.h>
#include <lib/string.h>
#include <uapi/shootdown.h>

#define ADDR    0x400000ul
#define RW      (SD_PROT_READ | SD_PROT_WRITE)
#define RECENT  16              /* events looked back at: a flush records 3, a timer tick may add a few */

/* The latest event `ev` naming ctx among this CPU's last RECENT events. */
static bool recent_event(unsigned ev, uint64_t ctx, struct tlb_trace_entry *out)
{
    unsigned cpu = this_cpu_id();
    for (unsigned n = 0; n < RECENT && tlb_trace_recent(cpu, n, out); n++)
        if (out->event == ev && out->a[0] == ctx)
            return true;
    return false;
}

/* The cause the trace gives the latest flush of ctx on this CPU
 * (TLB_CAUSE_NR: no such flush traced). */
static uint64_t traced_cause(uint64_t ctx)
{
    struct tlb_trace_entry e;
    return recent_event(TLBT_FLUSH, ctx, &e) ? e.a[4] : TLB_CAUSE_NR;
}

static void populate(struct ktest *t, struct mm *mm, uintptr_t va, unsigned pages)
{
    EXPECT_EQ(t, mm_map_anon(mm, va, (size_t)pages * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < pages; i++)
        EXPECT_EQ(t, mm_handle_fault(mm, va + i * PAGE_SIZE, true, false, false), 0);
}

struct causes {
    struct ktest *t;
    struct mm *mm;
};

/*
 * Runs as a "user" thread of mm on the last CPU, so mm is loaded where the
 * flushes start: each flush's own part is real work.  One flush of each
 * cause the kernel makes, each followed by the question "what does the
 * trace say it was for?".
 */
static void causes_fn(void *arg)
{
    struct causes *c = arg;
    struct ktest *t = c->t;
    struct mm *mm = c->mm;
    uint64_t ctx = mm->ctx_id;
    struct tlb_trace_entry e;

    populate(t, mm, ADDR, 2);

    /* mprotect of one page: the initiator, running mm, drops that page. */
    EXPECT_EQ(t, mm_protect(mm, ADDR, PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_EQ(t, traced_cause(ctx), (uint64_t)TLB_CAUSE_MPROTECT);
    EXPECT_TRUE(t, recent_event(TLBT_FLUSH_LOCAL, ctx, &e));
    EXPECT_EQ(t, e.a[1], (uint64_t)TLBT_WORK_PAGES);
    EXPECT_EQ(t, e.cpu, this_cpu_id());

    /* fork write-protects the parent's writable page. */
    struct mm *child = mm_fork(mm);
    EXPECT_TRUE(t, child != NULL);
    EXPECT_EQ(t, traced_cause(ctx), (uint64_t)TLB_CAUSE_FORK);

    /* A write to the shared page copies it: the old frame's translation
     * goes (copy-on-write). */
    EXPECT_EQ(t, mm_handle_fault(mm, ADDR + PAGE_SIZE, true, false, false), 0);
    EXPECT_EQ(t, traced_cause(ctx), (uint64_t)TLB_CAUSE_COW);

    /* munmap. */
    EXPECT_EQ(t, mm_unmap(mm, ADDR, PAGE_SIZE), 0);
    EXPECT_EQ(t, traced_cause(ctx), (uint64_t)TLB_CAUSE_MUNMAP);

    /* The child's last user goes: its address space is torn down, and the
     * trace names its maker (this thread: no process owns it). */
    if (child) {
        uint64_t cctx = child->ctx_id;
        mmput(child);
        EXPECT_EQ(t, traced_cause(cctx), (uint64_t)TLB_CAUSE_TEARDOWN);
        int pid = -1;
        char name[TLB_TRACE_NAME];
        EXPECT_TRUE(t, tlb_trace_owner(cctx, &pid, name));
        EXPECT_EQ(t, pid, 0);
        EXPECT_EQ(t, strcmp(name, "tlb-causes"), 0);
    }

    /* Our own last reference: teardown of mm, no longer loaded here. */
    unuse_mm(mm);
    mmput(mm);
    EXPECT_EQ(t, traced_cause(ctx), (uint64_t)TLB_CAUSE_TEARDOWN);
    EXPECT_TRUE(t, recent_event(TLBT_FLUSH_LOCAL, ctx, &e));
    EXPECT_EQ(t, e.a[1], (uint64_t)TLBT_WORK_NOT_LOADED);
}

static void test_flush_causes(struct ktest *t)
{
    unsigned mms = mm_live_count();
    struct causes c = { .t = t, .mm = mm_create() };
    ASSERT_TRUE(t, c.mm != NULL);
    /* The thread takes a reference of its own; ours goes to it too (it
     * drops both, so that the teardown happens on its CPU). */
    struct task *th = mm_thread_start(causes_fn, &c, "tlb-causes", c.mm, nr_cpus_online - 1);
    ASSERT_TRUE(t, th != NULL);
    EXPECT_EQ(t, kthread_join(th), 0);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/*
 * A CPU lazy on mm is left out of a flush that frees no page table, and
 * the batch's record says so: CPU 1 in the "lazy" list, not among the CPUs
 * called; every other online CPU but us (CPU 0) "not running" mm.
 */
static void lazy_skip_body(void *arg)
{
    struct ktest *t = arg;
    struct mm *mm = mm_create();
    if (!mm) {
        EXPECT_TRUE(t, mm != NULL);
        return;
    }
    uint64_t ctx = mm->ctx_id;
    populate(t, mm, ADDR, 2);
    struct lazy_holder h;
    struct task *th = lazy_holder_start(&h, mm, 1);
    EXPECT_TRUE(t, th != NULL);
    if (th) {
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.loaded)));
        atomic_store(&h.go_lazy, true);
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.lazy)));     /* CPU 1 runs a kernel thread on mm */

        /* One page; its table keeps the other: no freed tables. */
        EXPECT_EQ(t, mm_unmap(mm, ADDR, PAGE_SIZE), 0);
        struct tlb_trace_entry e;
        EXPECT_TRUE(t, recent_event(TLBT_IPI_SEND, ctx, &e));
        EXPECT_EQ(t, e.cpu, 0u);
        EXPECT_EQ(t, e.a[1], 0u);                               /* nobody called */
        EXPECT_EQ(t, e.a[2], 1ull << 1);                        /* lazy: {1} */
        EXPECT_EQ(t, e.a[3], cpu_online_mask.bits[0] & ~3ull);  /* not running: the rest */
        EXPECT_EQ(t, e.a[4], 0u);                               /* offline: none */

        atomic_store(&h.leave, true);
        EXPECT_EQ(t, kthread_join(th), 0);
    }
    mmput(mm);
}

static void test_lazy_skip_traced(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    struct task *body = kthread_create(lazy_skip_body, t, "tlb-lazy-skip");
    ASSERT_TRUE(t, body != NULL);
    kthread_bind(body, 0);
    kthread_start(body);
    EXPECT_EQ(t, kthread_join(body), 0);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static const struct ktest_case tlb_trace_cases[] = {
    KTEST_CASE(test_flush_causes),
    KTEST_CASE(test_lazy_skip_traced),
    {0},
};

KTEST_SUITE(tlb_trace, tlb_trace_cases);
