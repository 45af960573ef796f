/*
 * tests/test_tlb_counters.c - what TLB management costs, in counts
 * (kernel/counters.h, docs/tlb.md).
 *
 * Each test makes an action happen on CPUs where nothing else runs (its
 * threads are bound there) and reads the deltas of the event counters
 * around it, so the counts are exact under TCG.  They pin down the current,
 * simple scheme: no PCID (every CR3 write flushes), lazy TLB only in the
 * sense that a kernel thread keeps the loaded CR3, bits in mm->cpumask
 * never cleared.  When the TLB work changes a cost, the test that pins it
 * changes with it.
 *
 * "User" threads here are kernel threads that adopt an mm the way a user
 * thread owns one (as in test_mm_smp.c): t->mm set before they start, so
 * the scheduler treats them exactly like user tasks in context_switch().
 */
#include "ktest.h"
#include "mm_test_util.h"
#include <kernel/counters.h>
#include <kernel/cpumask.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/tlb_trace.h>
#include <arch/mmu_context.h>
#include <arch/paging.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(switch, same_mm);
DECLARE_COUNTER(switch, mm);
DECLARE_COUNTER(switch, enter_lazy);
DECLARE_COUNTER(switch, lazy_handover);
DECLARE_COUNTER(switch, leave_lazy);
DECLARE_COUNTER(tlb, cr3_write_flush);
DECLARE_COUNTER(tlb, invlpg);
DECLARE_COUNTER(tlb, flush_full);
DECLARE_COUNTER(tlb, kernel_flush);
DECLARE_COUNTER(tlb, ipi_sent);
DECLARE_COUNTER(tlb, ipi_received);
DECLARE_COUNTER(mm, count_atomics);

#define ADDR    0x400000ul
#define RW      (SD_PROT_READ | SD_PROT_WRITE)
#define ROUNDS  20

/* The CPU the one-CPU tests run on: the last one, away from the test
 * runner's CPU 0 when there is more than one. */
static unsigned quiet_cpu(void)
{
    return nr_cpus_online - 1;
}

/* A kernel thread that gives the CPU back at once, until told to stop. */
struct yielder {
    _Atomic bool running, stop;
};

static void yielder_fn(void *arg)
{
    struct yielder *y = arg;
    atomic_store(&y->running, true);
    while (!atomic_load(&y->stop))
        yield();
}

/* Start a yielder on `cpu` and wait until it has run once, so that from
 * then on it is always on that CPU's run queue when another task yields. */
static struct task *start_yielder(struct yielder *y, unsigned cpu)
{
    struct task *t = kthread_create(yielder_fn, y, "yielder");
    if (!t)
        return NULL;
    kthread_bind(t, cpu);
    kthread_start(t);
    while (!atomic_load(&y->running))
        yield();                /* lets it run when it shares our CPU */
    return t;
}

/* What one measuring thread saw on its CPU. */
struct measured {
    struct mm *mm;              /* the mm adopted, or NULL */
    struct yielder *partner;
    uint64_t same_mm, mm_switch, enter_lazy, handover, leave_lazy;
    uint64_t cr3, count_atomics;
    struct tlb_trace_entry last; /* this CPU's last trace event */
    bool have_last;
};

/*
 * ROUNDS times: yield to the partner (a kernel thread on the same CPU),
 * which yields straight back.  The snapshot is of this CPU alone, taken
 * and read while this thread runs, so the window holds only switches away
 * from this thread and back (a timer preemption is one more such pair).
 */
static void round_trips_fn(void *arg)
{
    struct measured *m = arg;
    struct counter_snapshot s;
    unsigned cpu = this_cpu_id();       /* bound: stays put */
    counters_snapshot_cpu(&s, cpu);
    for (unsigned i = 0; i < ROUNDS; i++)
        yield();
    m->same_mm = counter_delta(&s, COUNTER(switch, same_mm));
    m->mm_switch = counter_delta(&s, COUNTER(switch, mm));
    m->enter_lazy = counter_delta(&s, COUNTER(switch, enter_lazy));
    m->handover = counter_delta(&s, COUNTER(switch, lazy_handover));
    m->leave_lazy = counter_delta(&s, COUNTER(switch, leave_lazy));
    m->cr3 = counter_delta(&s, COUNTER(tlb, cr3_write_flush));
    m->count_atomics = counter_delta(&s, COUNTER(mm, count_atomics));
    m->have_last = tlb_trace_recent(cpu, 0, &m->last);
    atomic_store(&m->partner->stop, true);
    if (m->mm)
        unuse_mm(m->mm);
}

/* Run round_trips_fn on the quiet CPU against a yielder; adopt `mm` if set. */
static void run_round_trips(struct ktest *t, struct measured *m)
{
    unsigned cpu = quiet_cpu();
    struct yielder y = { 0 };
    m->partner = &y;
    struct task *partner = start_yielder(&y, cpu);
    ASSERT_TRUE(t, partner != NULL);
    struct task *th = kthread_create(round_trips_fn, m, "round-trips");
    ASSERT_TRUE(t, th != NULL);
    if (m->mm) {
        mmget(m->mm);           /* the reference the "user thread" owns */
        th->mm = th->active_mm = m->mm;
    }
    kthread_bind(th, cpu);
    kthread_start(th);
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_EQ(t, kthread_join(partner), 0);
}

/*
 * user(A) -> kernel thread -> user(A) on one CPU: the kernel thread borrows
 * A without a CR3 write, and coming back to A finds it loaded already.
 * Refcount mode: the borrow costs one mmgrab (user -> kernel) and one
 * mmdrop (after kernel -> user), so exactly 2 mm_count atomics per round
 * trip.
 */
static void test_lazy_round_trip(struct ktest *t)
{
    unsigned mms = mm_live_count();
    struct measured m = { .mm = mm_create() };
    ASSERT_TRUE(t, m.mm != NULL);
    uint64_t ctx = m.mm->ctx_id;
    run_round_trips(t, &m);

    EXPECT_GE(t, m.enter_lazy, (uint64_t)ROUNDS);
    EXPECT_EQ(t, m.leave_lazy, m.enter_lazy);       /* every trip came back */
    EXPECT_EQ(t, m.cr3, 0u);
    EXPECT_EQ(t, m.count_atomics, 2 * m.enter_lazy);
    EXPECT_EQ(t, m.mm_switch, 0u);
    EXPECT_EQ(t, m.same_mm, 0u);
    /* The trace's last word on that CPU: back from the borrow to A. */
    EXPECT_TRUE(t, m.have_last);
    EXPECT_EQ(t, m.last.event, TLBT_LAZY_LEAVE);
    EXPECT_EQ(t, m.last.cpu, quiet_cpu());
    EXPECT_EQ(t, m.last.a[0], ctx);
    EXPECT_EQ(t, m.last.a[1], ctx);

    mmput(m.mm);
    sched_drop_lazy_mm(NULL);   /* CPUs that still borrow it let go */
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* Kernel thread -> kernel thread: the borrowed mm is handed over; no CR3
 * write and no atomics. */
static void test_kernel_thread_handover(struct ktest *t)
{
    struct measured m = { .mm = NULL };
    run_round_trips(t, &m);

    EXPECT_GE(t, m.handover, 2u * ROUNDS);
    EXPECT_EQ(t, m.cr3, 0u);
    EXPECT_EQ(t, m.count_atomics, 0u);
    EXPECT_EQ(t, m.enter_lazy, 0u);
    EXPECT_EQ(t, m.leave_lazy, 0u);
    EXPECT_EQ(t, m.mm_switch, 0u);
    EXPECT_EQ(t, m.same_mm, 0u);
}

/* ---- munmap with the mm running on other CPUs ---------------------------- */

struct unmap_counts {
    uint64_t sent, received, invlpg, full, cr3;
};

/* Summed over CPUs: exact because during the unmap the other CPUs only
 * spin in holder_fn or sit idle (no kernel-range flush from elsewhere
 * adds INVLPGs: checked). */
static void unmap_one_page(struct ktest *t, struct mm *mm, uintptr_t va, struct unmap_counts *c)
{
    struct counter_snapshot s;
    counters_snapshot(&s);
    EXPECT_EQ(t, mm_unmap(mm, va, PAGE_SIZE), 0);
    c->sent = counter_delta(&s, COUNTER(tlb, ipi_sent));
    c->received = counter_delta(&s, COUNTER(tlb, ipi_received));
    c->invlpg = counter_delta(&s, COUNTER(tlb, invlpg));
    c->full = counter_delta(&s, COUNTER(tlb, flush_full));
    c->cr3 = counter_delta(&s, COUNTER(tlb, cr3_write_flush));
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush)), 0u);
}

/*
 * The body runs bound to CPU 0 (which never loads the mm); one holder
 * thread runs the mm on each of the k other CPUs.  Unmapping one page
 * sends exactly k IPIs, each target INVLPGs the page once, nothing does a
 * full flush or a CR3 write.
 *
 * Then the holders leave the mm.  The current scheme never clears
 * mm->cpumask, so the next unmap still sends k IPIs - each of which finds
 * the mm no longer loaded and does nothing.  Precise targeting (skip CPUs
 * that left or only borrow the mm lazily) is the next stage of the TLB
 * work, and will change this expectation to 0.
 *
 * Unmapping the last page frees its page table (freed_tables): then every
 * CPU in the mask, loaded or not, and the initiator itself do a full
 * flush (a CR3 reload each), so k IPIs and k + 1 full flushes.
 */
static void munmap_ipis_body(void *arg)
{
    struct ktest *t = arg;
    unsigned k = nr_cpus_online - 1;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, ADDR, 3 * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < 3; i++)
        ASSERT_EQ(t, mm_handle_fault(mm, ADDR + i * PAGE_SIZE, true, false, false), 0);

    struct holder h[MAX_CPUS];
    struct task *th[MAX_CPUS];
    unsigned n = 0;
    for (unsigned cpu = 1; cpu <= k; cpu++) {
        th[n] = holder_start(&h[n], mm, cpu, "tlb-holder");
        ASSERT_TRUE(t, th[n] != NULL);
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h[i].loaded)));
    EXPECT_FALSE(t, cpumask_test_cpu(&mm->cpumask, this_cpu_id()));

    struct unmap_counts c;
    unmap_one_page(t, mm, ADDR, &c);
    EXPECT_EQ(t, c.sent, (uint64_t)k);
    EXPECT_EQ(t, c.received, (uint64_t)k);
    EXPECT_EQ(t, c.invlpg, (uint64_t)k);
    EXPECT_EQ(t, c.full, 0u);
    EXPECT_EQ(t, c.cr3, 0u);

    for (unsigned i = 0; i < n; i++)
        atomic_store(&h[i].leave, true);
    for (unsigned i = 0; i < n; i++)
        EXPECT_EQ(t, kthread_join(th[i]), 0);

    unmap_one_page(t, mm, ADDR + PAGE_SIZE, &c);
    EXPECT_EQ(t, c.sent, (uint64_t)k);             /* stale cpumask bits */
    EXPECT_EQ(t, c.received, (uint64_t)k);
    EXPECT_EQ(t, c.invlpg, 0u);                     /* ... finding nothing to do */
    EXPECT_EQ(t, c.full, 0u);
    EXPECT_EQ(t, c.cr3, 0u);

    unmap_one_page(t, mm, ADDR + 2 * PAGE_SIZE, &c);  /* the page table goes */
    EXPECT_EQ(t, c.sent, (uint64_t)k);
    EXPECT_EQ(t, c.received, (uint64_t)k);
    EXPECT_EQ(t, c.invlpg, 0u);
    EXPECT_EQ(t, c.full, (uint64_t)k + 1);
    EXPECT_EQ(t, c.cr3, (uint64_t)k + 1);

    EXPECT_EQ(t, atomic_load(&mm->mm_users), 1);
    mmput(mm);
}

static void test_munmap_ipis(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    struct task *body = kthread_create(munmap_ipis_body, t, "tlb-unmapper");
    ASSERT_TRUE(t, body != NULL);
    kthread_bind(body, 0);
    kthread_start(body);
    EXPECT_EQ(t, kthread_join(body), 0);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static const struct ktest_case tlb_counters_cases[] = {
    KTEST_CASE(test_lazy_round_trip),
    KTEST_CASE(test_kernel_thread_handover),
    KTEST_CASE(test_munmap_ipis),
    {0},
};

KTEST_SUITE(tlb_counters, tlb_counters_cases);
