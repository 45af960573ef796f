/*
 * tests/test_tlb_counters.c - what TLB management costs, in counts
 * (kernel/debug/counters.h, docs/tlb.md).
 *
 * Each test makes an action happen on CPUs where nothing else runs (its
 * threads are bound there) and reads the deltas of the event counters
 * around it, so the counts are exact under TCG.  They pin down the costs of
 * the TLB protocol (arch/x86_64/mm/tlb.c, tlb_switch.c): lazy CPUs are not
 * sent flushes unless page tables are freed, cpumask bits are cleared by a
 * flush that finds the CPU gone, a range above the ceiling is one full
 * flush per CPU, a CPU already caught up does nothing.  These hold with and
 * without PCID (tests/test_tlb_pcid.c has the PCID-only costs).
 *
 * "User" threads here are kernel threads that adopt an mm the way a user
 * thread owns one (as in test_mm_smp.c): t->mm set before they start, so
 * the scheduler treats them exactly like user tasks in context_switch().
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/cpumask.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/debug/tlb_trace.h>
#include <arch/mmu_context.h>
#include <arch/paging.h>
#include <arch/x86/tlbstate.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(switch, same_mm);
DECLARE_COUNTER(switch, mm);
DECLARE_COUNTER(switch, enter_lazy);
DECLARE_COUNTER(switch, lazy_handover);
DECLARE_COUNTER(switch, leave_lazy);
DECLARE_COUNTER(tlb, cr3_write_flush);
DECLARE_COUNTER(tlb, cr3_write_noflush);
DECLARE_COUNTER(tlb, invlpg);
DECLARE_COUNTER(tlb, ipi_skipped_lazy);
DECLARE_COUNTER(tlb, ipi_not_running);
DECLARE_COUNTER(tlb, cpumask_cleared);
DECLARE_COUNTER(tlb, flush_caught_up);
DECLARE_COUNTER(tlb, leave_mm);
DECLARE_COUNTER(tlb, lazy_catchup);
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

/* What one measuring thread saw on its CPU. */
struct measured {
    struct mm *mm;              /* the mm adopted, or NULL */
    struct yielder *partner;
    uint64_t same_mm, mm_switch, enter_lazy, handover, leave_lazy;
    uint64_t cr3, count_atomics;
    uint64_t lazy_catchup;
    struct tlb_trace_entry last, before_last; /* this CPU's last two trace events */
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
    m->cr3 = counter_delta(&s, COUNTER(tlb, cr3_write_flush)) +
             counter_delta(&s, COUNTER(tlb, cr3_write_noflush));
    m->count_atomics = counter_delta(&s, COUNTER(mm, count_atomics));
    m->lazy_catchup = counter_delta(&s, COUNTER(tlb, lazy_catchup));
    m->have_last = tlb_trace_recent(cpu, 0, &m->last) && tlb_trace_recent(cpu, 1, &m->before_last);
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
 * A without a CR3 write (enter_lazy_tlb), and coming back to A finds it
 * loaded already; nothing changed A meanwhile, so leaving lazy mode finds
 * A's tlb_gen where this CPU's ASID slot has it: no flush, no CR3 write of
 * either kind.  (What the borrow costs in mm_count atomics depends on
 * lazy_mm=: tests/test_lazy_mm.c.)
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
    EXPECT_EQ(t, m.lazy_catchup, 0u);
    EXPECT_EQ(t, m.mm_switch, 0u);
    EXPECT_EQ(t, m.same_mm, 0u);
    /* The trace's last words on that CPU: back from the borrow to A (the
     * scheduler), then switch_mm's catch-up check finding nothing to do. */
    EXPECT_TRUE(t, m.have_last);
    EXPECT_EQ(t, m.before_last.event, TLBT_LAZY_LEAVE);
    EXPECT_EQ(t, m.before_last.cpu, quiet_cpu());
    EXPECT_EQ(t, m.before_last.a[0], ctx);
    EXPECT_EQ(t, m.before_last.a[1], ctx);
    EXPECT_EQ(t, m.last.event, TLBT_LAZY_CATCHUP);
    EXPECT_EQ(t, m.last.a[0], ctx);
    EXPECT_EQ(t, m.last.a[1], m.last.a[2]);         /* slot gen == mm gen */
    EXPECT_EQ(t, m.last.a[3], 0u);                  /* no flush */

    mmput(m.mm);
    lazy_mm_drop_borrowers(NULL);   /* CPUs that still borrow it let go */
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

/* ---- flushes with the mm on other CPUs ----------------------------------- */

/* Everything a flush did, summed over the CPUs.  Exact: during the action
 * the other CPUs only spin in this file's threads or sit idle. */
struct flush_counts {
    uint64_t sent, received, skipped_lazy, not_running, cleared, caught_up;
    uint64_t invlpg, full, cr3, leave_mm;
};

static void counts_since(const struct counter_snapshot *s, struct flush_counts *c)
{
    c->sent = counter_delta(s, COUNTER(tlb, ipi_sent));
    c->received = counter_delta(s, COUNTER(tlb, ipi_received));
    c->skipped_lazy = counter_delta(s, COUNTER(tlb, ipi_skipped_lazy));
    c->not_running = counter_delta(s, COUNTER(tlb, ipi_not_running));
    c->cleared = counter_delta(s, COUNTER(tlb, cpumask_cleared));
    c->caught_up = counter_delta(s, COUNTER(tlb, flush_caught_up));
    c->invlpg = counter_delta(s, COUNTER(tlb, invlpg));
    c->full = counter_delta(s, COUNTER(tlb, flush_full));
    c->cr3 = counter_delta(s, COUNTER(tlb, cr3_write_flush)) +
             counter_delta(s, COUNTER(tlb, cr3_write_noflush));
    c->leave_mm = counter_delta(s, COUNTER(tlb, leave_mm));
}

/* munmap [va, va + pages pages) and count what it cost. */
static void unmap_counted(struct ktest *t, struct mm *mm, uintptr_t va, unsigned pages,
                          struct flush_counts *c)
{
    struct counter_snapshot s;
    counters_snapshot(&s);
    EXPECT_EQ(t, mm_unmap(mm, va, (size_t)pages * PAGE_SIZE), 0);
    counts_since(&s, c);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush)), 0u);
}

/* A flush that called none of the k other CPUs, all skipped as lazy (or
 * parked), and flushed nothing anywhere (CPU 0 never loads the mm). */
static void expect_all_skipped(struct ktest *t, const struct flush_counts *c, unsigned k)
{
    EXPECT_EQ(t, c->sent, 0u);
    EXPECT_EQ(t, c->received, 0u);
    EXPECT_EQ(t, c->skipped_lazy, (uint64_t)k);
    EXPECT_EQ(t, c->invlpg, 0u);
    EXPECT_EQ(t, c->full, 0u);
    EXPECT_EQ(t, c->cr3, 0u);
}

/* Map and fault in `pages` pages at va (not-present -> present: no flush). */
static void populate(struct ktest *t, struct mm *mm, uintptr_t va, unsigned pages)
{
    ASSERT_EQ(t, mm_map_anon(mm, va, (size_t)pages * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < pages; i++)
        ASSERT_EQ(t, mm_handle_fault(mm, va + i * PAGE_SIZE, true, false, false), 0);
}

/*
 * The body runs bound to CPU 0 (which never loads the mm); a holder runs
 * the mm on each of the k other CPUs.
 *   1. Unmapping one page: exactly k IPIs, one INVLPG on each target, no
 *      full flush, no CR3 write (CPU 0 has nothing to flush).
 *   2. A range above the ceiling: k IPIs, one full flush per target, no
 *      INVLPG.
 *   3. The holders block; their CPUs run kernel threads on the mm (lazy).
 *      Unmapping a page (its page table stays): no IPI at all, k CPUs
 *      skipped as lazy.
 *   4. Unmapping the last pages frees the page table: the lazy CPUs get
 *      their IPIs too (k), and each moves to init_mm at once (leave_mm: one
 *      CR3 write each) while its kernel thread goes on borrowing the mm -
 *      so its bit stays in the cpumask - and parks.
 *   4b. Parked CPUs are skipped: a flush of another page (table kept)
 *      calls none of them, for nothing (their CR3 holds init_mm); they
 *      count as skipped lazy.  (Before parking, each such flush called all
 *      k, whose handlers found nothing to do.)
 *   5. The holders come back (switch_mm unparks: each loads the mm again,
 *      and finds its generation stale) and leave the mm (init_mm).  The next flush
 *      still IPIs the k CPUs (their bits are stale), each finds the mm
 *      neither loaded nor borrowed and clears its bit; the flush after it
 *      sends nothing.
 */
#define UNMAP_BATCH 64          /* kernel/mm/mmu_gather.h: MMU_GATHER_PAGES, frames per flush */

static void munmap_ipis_body(void *arg)
{
    struct ktest *t = arg;
    unsigned k = nr_cpus_online - 1;
    unsigned ceiling = tlb_flush_ceiling;
    /* One page, ceiling + 1 pages, one page, the last 2 pages: all in one
     * page table (ADDR is 2 MiB aligned), each unmap one flush (an unmap
     * flushes every UNMAP_BATCH unmapped frames). */
    unsigned span = ceiling + 5;
    if (ceiling + 1 > UNMAP_BATCH)
        KTEST_SKIP(t, "tlb_flush_ceiling above the unmap batch: the range would take two flushes");
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, span);

    struct lazy_holder h[MAX_CPUS];
    struct task *th[MAX_CPUS];
    unsigned n = 0;
    for (unsigned cpu = 1; cpu <= k; cpu++) {
        th[n] = lazy_holder_start(&h[n], mm, cpu);
        ASSERT_TRUE(t, th[n] != NULL);
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h[i].loaded)));
    EXPECT_FALSE(t, cpumask_test_cpu(&mm->cpumask, this_cpu_id()));
    EXPECT_EQ(t, cpumask_weight(&mm->cpumask), k);

    /* 1. One page. */
    struct flush_counts c;
    unmap_counted(t, mm, ADDR, 1, &c);
    EXPECT_EQ(t, c.sent, (uint64_t)k);
    EXPECT_EQ(t, c.received, (uint64_t)k);
    EXPECT_EQ(t, c.skipped_lazy, 0u);
    EXPECT_EQ(t, c.invlpg, (uint64_t)k);
    EXPECT_EQ(t, c.full, 0u);
    EXPECT_EQ(t, c.cr3, 0u);

    /* 2. Above the ceiling. */
    unmap_counted(t, mm, ADDR + PAGE_SIZE, ceiling + 1, &c);
    EXPECT_EQ(t, c.sent, (uint64_t)k);
    EXPECT_EQ(t, c.received, (uint64_t)k);
    EXPECT_EQ(t, c.invlpg, 0u);
    EXPECT_EQ(t, c.full, (uint64_t)k);
    EXPECT_EQ(t, c.cr3, (uint64_t)k);      /* the full flush reloads CR3 */
    uintptr_t rest = ADDR + (uintptr_t)(ceiling + 2) * PAGE_SIZE;
    unsigned rest_pages = span - (ceiling + 2);     /* 3 */

    /* 3. Lazy CPUs are left alone. */
    for (unsigned i = 0; i < n; i++)
        atomic_store(&h[i].go_lazy, true);
    for (unsigned i = 0; i < n; i++)
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h[i].lazy)));
    for (unsigned i = 0; i < n; i++)
        EXPECT_TRUE(t, READ_ONCE(tlbstate_shared(i + 1)->is_lazy));
    unmap_counted(t, mm, rest, 1, &c);
    expect_all_skipped(t, &c, k);

    /* 4. Freed tables reach the lazy CPUs: leave_mm on each. */
    unmap_counted(t, mm, rest + PAGE_SIZE, rest_pages - 1, &c);
    EXPECT_EQ(t, c.sent, (uint64_t)k);
    EXPECT_EQ(t, c.received, (uint64_t)k);
    EXPECT_EQ(t, c.skipped_lazy, 0u);
    EXPECT_EQ(t, c.leave_mm, (uint64_t)k);
    EXPECT_EQ(t, c.cr3, (uint64_t)k);
    EXPECT_EQ(t, c.invlpg, 0u);
    EXPECT_EQ(t, c.full, 0u);
    EXPECT_EQ(t, cpumask_weight(&mm->cpumask), k);  /* still borrowed */
    for (unsigned i = 0; i < n; i++) {
        EXPECT_FALSE(t, READ_ONCE(tlbstate_shared(i + 1)->is_lazy));
        EXPECT_TRUE(t, READ_ONCE(tlbstate_shared(i + 1)->parked));
    }

    /* 4b. Parked CPUs are left alone, also when tables are freed: two
     * pages in a table of their own, one unmapped (the table stays), then
     * the other (the table goes). */
    uintptr_t far = ADDR + 2 * 0x200000ul;
    populate(t, mm, far, 2);
    unmap_counted(t, mm, far, 1, &c);
    expect_all_skipped(t, &c, k);
    unmap_counted(t, mm, far + PAGE_SIZE, 1, &c);
    expect_all_skipped(t, &c, k);
    EXPECT_EQ(t, cpumask_weight(&mm->cpumask), k);  /* still borrowed */

    /* 5. The holders leave; stale bits are cleared by the next flush. */
    for (unsigned i = 0; i < n; i++)
        atomic_store(&h[i].leave, true);
    for (unsigned i = 0; i < n; i++)
        EXPECT_EQ(t, kthread_join(th[i]), 0);
    populate(t, mm, ADDR, 2);
    unmap_counted(t, mm, ADDR, 1, &c);
    EXPECT_EQ(t, c.sent, (uint64_t)k);
    EXPECT_EQ(t, c.not_running, (uint64_t)k);
    EXPECT_EQ(t, c.cleared, (uint64_t)k);
    EXPECT_EQ(t, c.invlpg, 0u);
    EXPECT_EQ(t, c.full, 0u);
    EXPECT_TRUE(t, cpumask_empty(&mm->cpumask));
    unmap_counted(t, mm, ADDR + PAGE_SIZE, 1, &c);
    EXPECT_EQ(t, c.sent, 0u);
    EXPECT_EQ(t, c.received, 0u);

    EXPECT_EQ(t, atomic_load(&mm->mm_users), 1);
    mmput(mm);
}

static void run_on_cpu0(struct ktest *t, void (*fn)(void *), const char *name)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    struct task *body = kthread_create(fn, t, name);
    ASSERT_TRUE(t, body != NULL);
    kthread_bind(body, 0);
    kthread_start(body);
    EXPECT_EQ(t, kthread_join(body), 0);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static void test_munmap_ipis(struct ktest *t)
{
    run_on_cpu0(t, munmap_ipis_body, "tlb-unmapper");
}

/*
 * A target already caught up does no work.  The holder on CPU 1 disables
 * interrupts, waits until our flush F1 has bumped the generation AND queued
 * its call to CPU 1 (it then waits for us), and flushes the mm itself (F2, a
 * generation later: a full flush of its ASID, which covers F1's change too).
 * When it turns interrupts back on, F1's call finds its slot past F1's
 * generation: nothing to do.  (Waiting for the generation alone was not
 * enough: when CPU 0's vCPU lost its host core between the bump and the
 * queueing, the holder had finished and left the mm before F1's call came,
 * which then found the mm not loaded - a soak of smp8-hazard saw it.)
 */
struct catchup {
    struct mm *mm;
    _Atomic bool loaded, ready, done;
};

static void catchup_holder_fn(void *arg)
{
    struct catchup *c = arg;
    atomic_store(&c->loaded, true);
    uint64_t flags = arch_irq_save();
    uint64_t gen0 = atomic_load(&c->mm->tlb_gen);
    atomic_store(&c->ready, true);      /* interrupts off from here */
    while (atomic_load(&c->mm->tlb_gen) == gen0 || !smp_call_pending())
        arch_cpu_relax();
    flush_tlb_mm_range(c->mm, ADDR, ADDR + PAGE_SIZE, false, TLB_CAUSE_TEST);
    arch_irq_restore(flags);
    /* F1's call is queued but its IPI may not be sent yet (smp_call queues,
     * then sends): stay on the mm until it was served, or it would find
     * the mm not loaded (an smp2 boot saw caught_up 0 that way). */
    SPIN_UNTIL(!smp_call_pending());
    atomic_store(&c->done, true);
    unuse_mm(c->mm);
}

static void caught_up_body(void *arg)
{
    struct ktest *t = arg;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    populate(t, mm, ADDR, 1);
    struct catchup c = { .mm = mm };
    struct task *th = kthread_create(catchup_holder_fn, &c, "tlb-catchup");
    ASSERT_TRUE(t, th != NULL);
    mmget(mm);
    th->mm = th->active_mm = mm;
    kthread_bind(th, 1);
    kthread_start(th);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&c.ready)));

    struct counter_snapshot s;
    counters_snapshot(&s);
    flush_tlb_mm_range(mm, ADDR, ADDR + PAGE_SIZE, false, TLB_CAUSE_TEST);     /* F1 */
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&c.done)));  /* it stores after serving F1 */
    struct flush_counts n;
    counts_since(&s, &n);
    EXPECT_EQ(t, n.sent, 1u);               /* F1 -> CPU 1; F2 had no other target */
    EXPECT_EQ(t, n.received, 1u);
    EXPECT_EQ(t, n.caught_up, 1u);          /* F1 on CPU 1 */
    EXPECT_EQ(t, n.full, 1u);               /* F2 on CPU 1 */
    EXPECT_EQ(t, n.invlpg, 0u);
    EXPECT_EQ(t, kthread_join(th), 0);
    mmput(mm);
}

static void test_caught_up(struct ktest *t)
{
    run_on_cpu0(t, caught_up_body, "tlb-caught-up");
}

static const struct ktest_case tlb_counters_cases[] = {
    KTEST_CASE(test_lazy_round_trip),
    KTEST_CASE(test_kernel_thread_handover),
    KTEST_CASE(test_munmap_ipis),
    KTEST_CASE(test_caught_up),
    {0},
};

KTEST_SUITE(tlb_counters, tlb_counters_cases);
