/*
 * tests/lab_test_util.h - what the labs' suites share (tests/test_lab_shootdown.c,
 * tests/test_lab_generations.c): threads that run an mm, or borrow it
 * lazily, on CPUs 1..n (a "crew" of lazy holders, tests/mm_test_util.h),
 * a body bound to CPU 0 that makes one flush at a time, and the counters
 * of what each flush cost (kernel/debug/counters.h), exact because the
 * other CPUs only spin in the test's threads meanwhile.
 */
#pragma once
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/kmalloc.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <arch/paging.h>
#include <arch/x86/tlbstate.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(tlb, ipi_sent);
DECLARE_COUNTER(tlb, ipi_received);
DECLARE_COUNTER(tlb, ipi_skipped_lazy);
DECLARE_COUNTER(tlb, cpumask_cleared);
DECLARE_COUNTER(tlb, invlpg);
DECLARE_COUNTER(tlb, flush_full);
DECLARE_COUNTER(tlb, leave_mm);
DECLARE_COUNTER(tlb, flush_caught_up);
DECLARE_COUNTER(tlb, lazy_catchup);
DECLARE_COUNTER(tlb, cr3_write_flush);
DECLARE_COUNTER(tlb, cr3_write_noflush);

#define ADDR    0x400000ul      /* 2 MiB aligned: its pages share one page table */
#define RW      (SD_PROT_READ | SD_PROT_WRITE)

/* What the CPUs did between a snapshot and now, summed over the CPUs.
 * invlpg and the CR3 writes are counted by the TLB instructions' own
 * primitives (arch/x86_64/mm/tlb_ops.c), whatever the code around them
 * reports. */
struct counts {
    uint64_t sent, received, skipped_lazy, cleared, invlpg, full, leave_mm;
    uint64_t caught_up, lazy_catchup, cr3_flush, cr3_noflush;
};

static inline void counts_since(const struct counter_snapshot *s, struct counts *c)
{
    c->sent = counter_delta(s, COUNTER(tlb, ipi_sent));
    c->received = counter_delta(s, COUNTER(tlb, ipi_received));
    c->skipped_lazy = counter_delta(s, COUNTER(tlb, ipi_skipped_lazy));
    c->cleared = counter_delta(s, COUNTER(tlb, cpumask_cleared));
    c->invlpg = counter_delta(s, COUNTER(tlb, invlpg));
    c->full = counter_delta(s, COUNTER(tlb, flush_full));
    c->leave_mm = counter_delta(s, COUNTER(tlb, leave_mm));
    c->caught_up = counter_delta(s, COUNTER(tlb, flush_caught_up));
    c->lazy_catchup = counter_delta(s, COUNTER(tlb, lazy_catchup));
    c->cr3_flush = counter_delta(s, COUNTER(tlb, cr3_write_flush));
    c->cr3_noflush = counter_delta(s, COUNTER(tlb, cr3_write_noflush));
}

/* munmap [va, va + pages pages) of mm: one flush; what it cost. */
static inline void unmap_counted(struct ktest *t, struct mm *mm, uintptr_t va, unsigned pages,
                                 struct counts *c)
{
    struct counter_snapshot s;
    counters_snapshot(&s);
    EXPECT_EQ(t, mm_unmap(mm, va, (size_t)pages * PAGE_SIZE), 0);
    counts_since(&s, c);
}

/* Map and fault in `pages` pages at va (not present -> present: no flush). */
static inline void populate(struct ktest *t, struct mm *mm, uintptr_t va, unsigned pages)
{
    ASSERT_EQ(t, mm_map_anon(mm, va, (size_t)pages * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < pages; i++)
        ASSERT_EQ(t, mm_handle_fault(mm, va + i * PAGE_SIZE, true, false, false), 0);
}

/* The threads of one test: a lazy holder of mm on each of CPUs 1..n. */
struct crew {
    struct lazy_holder h[MAX_CPUS];
    struct task *th[MAX_CPUS];
    unsigned n;
};

static inline bool crew_start(struct ktest *t, struct crew *c, struct mm *mm, unsigned n)
{
    c->n = 0;
    for (unsigned cpu = 1; cpu <= n; cpu++) {
        c->th[c->n] = lazy_holder_start(&c->h[c->n], mm, cpu);
        if (!c->th[c->n])
            return false;
        c->n++;
    }
    bool loaded = true;
    for (unsigned i = 0; i < c->n; i++)
        loaded &= SPIN_UNTIL(atomic_load(&c->h[i].loaded));
    EXPECT_TRUE(t, loaded);
    return loaded;
}

/* Holders [from, n) go lazy (a kernel thread borrows the mm on their CPU). */
static inline void crew_go_lazy(struct ktest *t, struct crew *c, unsigned from)
{
    for (unsigned i = from; i < c->n; i++)
        atomic_store(&c->h[i].go_lazy, true);
    for (unsigned i = from; i < c->n; i++) {
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&c->h[i].lazy)));
        EXPECT_TRUE(t, READ_ONCE(tlbstate_shared(i + 1)->is_lazy));
    }
}

/* The lazy ones come back to the mm (switch_mm's lazy catch-up). */
static inline void crew_come_back(struct ktest *t, struct crew *c)
{
    for (unsigned i = 0; i < c->n; i++)
        atomic_store(&c->h[i].back, true);
    for (unsigned i = 0; i < c->n; i++)
        if (atomic_load(&c->h[i].go_lazy))
            EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&c->h[i].returned)));
}

/* The lazy ones come back to the mm, then everyone leaves it. */
static inline void crew_stop(struct ktest *t, struct crew *c)
{
    crew_come_back(t, c);
    for (unsigned i = 0; i < c->n; i++)
        atomic_store(&c->h[i].leave, true);
    for (unsigned i = 0; i < c->n; i++)
        EXPECT_EQ(t, kthread_join(c->th[i]), 0);
}

/* Runs fn in a kernel thread bound to CPU 0, with the test as its
 * argument; with `adopt` the thread runs on a new mm (as a user thread of
 * it: fn gives it back with unuse_mm). */
struct body_args {
    struct ktest *t;
    struct mm *mm;
};

static inline void run_body(struct ktest *t, void (*fn)(void *), bool adopt, unsigned min_cpus)
{
    if (nr_cpus_online < min_cpus)
        KTEST_SKIP(t, min_cpus == 2 ? "needs two CPUs" : "needs three CPUs: one running the mm, one lazy");
    unsigned mms = mm_live_count();
    size_t heap = kmalloc_bytes_in_use();
    struct body_args a = { t, NULL };
    if (adopt) {
        a.mm = mm_create();
        ASSERT_TRUE(t, a.mm != NULL);
    }
    struct task *body = mm_thread_start(fn, &a, "lab-flusher", a.mm, 0);
    ASSERT_TRUE(t, body != NULL);
    EXPECT_EQ(t, kthread_join(body), 0);
    if (a.mm)
        mmput(a.mm);
    lazy_mm_drop_borrowers(NULL);       /* CPUs that still borrow an mm let go */
    EXPECT_EQ(t, mm_live_count(), mms);
    EXPECT_EQ(t, kmalloc_bytes_in_use(), heap);
}
