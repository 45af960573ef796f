/*
 * tests/test_mm_concurrent.c - page faults and flushes of ONE mm at the same
 * time on several CPUs (issue 13 item 1; docs/locking.md "The address-space
 * lock", docs/tlb.md "Generations under concurrent flushes").
 *
 * Faults take mm->lock for reading, so the threads of one process break
 * copy-on-write at the same time, and each flushes its own page: requests
 * of one mm overlap, and reach a CPU out of order.  The generation rule of
 * the flush handler (arch/x86_64/mm/tlb.c) then has three outcomes, and
 * this suite makes each of them happen on purpose and counts it:
 *   - partial: a request exactly one generation ahead of the CPU's slot
 *     (INVLPG of its page; tlb.flush_partial);
 *   - full because a generation was skipped: a later request arrived
 *     before an earlier one (tlb.flush_full_gen_skip);
 *   - caught up: the earlier request arrives after that full flush, which
 *     already covered it (tlb.flush_caught_up).
 *
 * The workload: an mm with W threads per CPU (kernel threads adopting it,
 * tests/mm_test_util.h), each owning P pages.  Each round the test forks
 * the mm (every page of the parent becomes copy-on-write), then every
 * thread writes its own pages through their user addresses - a COW fault,
 * a copy and a one-page flush each - and, once all have written, reads
 * EVERY page of the round through the user addresses.  A CPU that kept an
 * old translation of another thread's page (a flush it missed or skipped
 * wrongly) reads the old frame, which the child still maps with the
 * previous round's value: counted as bad.  The child's pages must keep the
 * values of the round before (nobody's write may reach the child's frame).
 * With tlbcheck=on every flush is checked on every CPU, and the read-side
 * release asserts that each faulter flushed its own change.
 *
 * Rounds go on until each outcome was counted (at least MIN_ROUNDS, at most
 * MAX_ROUNDS): the test asserts counts, never time.  With the faults under
 * one exclusive lock (the mutex this replaced) flushes never overlap, and
 * full_gen_skip stays 0.
 *
 * test_same_page_races: a thread per CPU touches the same fresh pages at
 * the same moment - the page-table lock lets one of them map each page
 * (arch_pte_map), and the others find it mapped.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/debug/mm_events.h>
#include <kernel/percpu.h>
#include <kernel/time.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/pt_walk.h>
#include <kernel/sched.h>
#include <arch/paging.h>
#include <arch/uaccess.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(tlb, flush_partial);
DECLARE_COUNTER(tlb, flush_caught_up);
DECLARE_COUNTER(tlb, flush_full_gen_skip);

#define BASE            0x30000000ul
#define RW              (SD_PROT_READ | SD_PROT_WRITE)
#define PER_CPU         2               /* writer threads per CPU */
#define PAGES           16              /* pages per thread */
#define MAX_THREADS     (PER_CPU * 8)
#define MIN_ROUNDS      3
#define MAX_ROUNDS      60

struct ctl {
    struct mm *mm;
    unsigned nthreads;
    _Atomic int round;                  /* the round the threads may run; -1: leave */
    _Atomic uint64_t writes_done;       /* threads that wrote their pages, all rounds */
    _Atomic uint64_t reads_done;        /* threads that read every page, all rounds */
    _Atomic uint64_t progress;          /* pages written and read: for the waits */
    _Atomic uint64_t arrived;           /* arrivals at the per-page barrier, all rounds */
    _Atomic unsigned bad;               /* reads that saw another value than this round's */
    _Atomic unsigned write_errors;
};

struct writer {
    struct ctl *c;
    unsigned index;
};

static uintptr_t page_va(unsigned page)
{
    return BASE + (uintptr_t)page * PAGE_SIZE;
}

/* What page holds after round r (round 0: what the test wrote first). */
static uint64_t tag(int r, unsigned page)
{
    return ((uint64_t)r << 32) | page;
}

/*
 * All writers break their p-th page at the same moment: a barrier before
 * each page, so that the faults of the CPUs - and their flushes - overlap
 * on purpose.  Two CPUs that bump tlb_gen one right after the other each
 * run their own handler at once while the other's IPI is still on its way:
 * the later one's request finds the slot two generations behind (a full
 * flush: a generation skipped), and the earlier one's IPI then finds it
 * caught up.  Without the barrier that takes a lucky interleaving.
 */
static void page_barrier(struct ctl *c, uint64_t *step)
{
    meet_all(&c->arrived, step, c->nthreads, &c->round);
}

static void writer_fn(void *arg)
{
    struct writer *w = arg;
    struct ctl *c = w->c;
    unsigned npages = c->nthreads * PAGES;
    uint64_t step = 0;
    for (int r = 1;; r++) {
        /* Wait in the mm (yield: other threads of this mm share the CPU):
         * this CPU keeps the mm loaded, and is a target of every flush. */
        WAIT_UNTIL_PROGRESS(atomic_load(&c->round) >= r || atomic_load(&c->round) < 0,
                            atomic_load(&c->progress), yield());
        if (atomic_load(&c->round) < 0)
            break;
        for (unsigned p = 0; p < PAGES; p++) {
            page_barrier(c, &step);
            unsigned page = w->index * PAGES + p;
            uint64_t v = tag(r, page);
            /* A copy-on-write fault: its own one-page flush, concurrent
             * with the other writers'. */
            if (copy_to_user((void *)page_va(page), &v, sizeof(v)) != 0)
                atomic_fetch_add(&c->write_errors, 1);
            atomic_fetch_add(&c->progress, 1);
        }
        atomic_fetch_add(&c->writes_done, 1);
        WAIT_UNTIL_PROGRESS(atomic_load(&c->writes_done) >= (uint64_t)r * c->nthreads ||
                            atomic_load(&c->round) < 0,
                            atomic_load(&c->progress), yield());
        /* Every page, through this CPU's TLB: a translation that a flush
         * should have removed still points at the old frame. */
        for (unsigned page = 0; page < npages; page++)
            if (read_user_u64(page_va(page)) != tag(r, page))
                atomic_fetch_add(&c->bad, 1);
        atomic_fetch_add(&c->progress, 1);
        atomic_fetch_add(&c->reads_done, 1);
    }
    unuse_mm(c->mm);
}

/* The child keeps the values of round r - 1: nobody's write reached it. */
static unsigned child_wrong(struct mm *child, unsigned npages, int r)
{
    unsigned wrong = 0;
    for (unsigned page = 0; page < npages; page++) {
        phys_addr_t pa;
        if (!paging_lookup(child->pml4, page_va(page), &pa, NULL, NULL) ||
            *(uint64_t *)phys_to_virt(pa) != tag(r - 1, page))
            wrong++;
    }
    return wrong;
}

/*
 * Out of order on purpose: the odd CPUs pause between their tlb_gen bump
 * (F1) and their IPIs (tlb_events.h, tlb_flush_made_test_hook).  When an
 * odd CPU bumps first and an even one right after, the even one runs its
 * own handler - two generations ahead of its slot: a full flush, a
 * generation skipped - before the odd one's request reaches it, which then
 * finds it caught up; and the odd one, pausing with interrupts on, serves
 * the even one's request first, the same way.  QEMU TCG opens such windows
 * by itself (a descheduled vCPU); Bochs, its CPUs in lock-step, almost
 * never (0 in 7680 copy-on-write flushes without the pause).
 */
#define PAUSE_US 200

static void pause_odd_cpus(void)
{
    if (this_cpu_id() & 1)
        udelay(PAUSE_US);
}

static uint64_t sum(const struct counter_desc *d)
{
    return counter_sum(d);
}

static void test_concurrent_cow_generations(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();

    static struct ctl c;
    static struct writer w[MAX_THREADS];
    static struct task *th[MAX_THREADS];
    c = (struct ctl){ 0 };
    unsigned ncpus = nr_cpus_online < 8 ? nr_cpus_online : 8;
    c.nthreads = ncpus * PER_CPU;
    unsigned npages = c.nthreads * PAGES;
    c.mm = mm_create();
    ASSERT_TRUE(t, c.mm != NULL);
    ASSERT_EQ(t, mm_map_anon(c.mm, BASE, (size_t)npages * PAGE_SIZE, RW), 0);
    for (unsigned page = 0; page < npages; page++) {
        uint64_t v = tag(0, page);
        ASSERT_EQ(t, mm_write(c.mm, page_va(page), &v, sizeof(v)), 0);
    }

    uint64_t partial0 = sum(COUNTER(tlb, flush_partial));
    uint64_t skip0 = sum(COUNTER(tlb, flush_full_gen_skip));
    uint64_t caught0 = sum(COUNTER(tlb, flush_caught_up));
    uint64_t copies0 = atomic_load(&mm_stats.cow_copies);

    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        if (cpu >= ncpus)
            break;
        for (unsigned k = 0; k < PER_CPU; k++) {
            w[n] = (struct writer){ .c = &c, .index = n };
            th[n] = mm_thread_start(writer_fn, &w[n], "mm-cow", c.mm, cpu);
            ASSERT_TRUE(t, th[n] != NULL);
            n++;
        }
    }
    ASSERT_EQ(t, n, c.nthreads);

    int r;
    unsigned child_bad = 0;
    uint64_t partial = 0, skip = 0, caught = 0;
    tlb_flush_made_test_hook = pause_odd_cpus;
    for (r = 1; r <= MAX_ROUNDS; r++) {
        /* Every page of the parent becomes copy-on-write (the write side:
         * the writers are between rounds, waiting). */
        struct mm *child = mm_fork(c.mm);
        EXPECT_TRUE(t, child != NULL);
        if (!child)
            break;
        atomic_store(&c.round, r);
        bool done = WAIT_UNTIL_PROGRESS(atomic_load(&c.reads_done) >= (uint64_t)r * c.nthreads,
                                        atomic_load(&c.progress), msleep(1));
        child_bad += child_wrong(child, npages, r);
        mmput(child);
        if (!done) {
            ktest_log("round %d: the writers made no progress", r);
            break;
        }
        partial = sum(COUNTER(tlb, flush_partial)) - partial0;
        skip = sum(COUNTER(tlb, flush_full_gen_skip)) - skip0;
        caught = sum(COUNTER(tlb, flush_caught_up)) - caught0;
        if (r >= MIN_ROUNDS && partial && skip && caught)
            break;
    }
    tlb_flush_made_test_hook = NULL;
    int rounds = r > MAX_ROUNDS ? MAX_ROUNDS : r;
    atomic_store(&c.round, -1);
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    uint64_t copies = atomic_load(&mm_stats.cow_copies) - copies0;

    ktest_log("%u threads on %u CPUs, %u pages, %d rounds: %llu COW copies; flush outcomes: "
              "%llu partial, %llu full (a generation skipped), %llu caught up", n, ncpus, npages,
              rounds, (unsigned long long)copies, (unsigned long long)partial,
              (unsigned long long)skip, (unsigned long long)caught);
    EXPECT_EQ(t, atomic_load(&c.write_errors), 0u);
    EXPECT_EQ(t, atomic_load(&c.bad), 0u);
    EXPECT_EQ(t, child_bad, 0u);
    /* Every write of every round broke copy-on-write with a copy (the
     * child shared each page). */
    EXPECT_EQ(t, copies, (uint64_t)rounds * npages);
    EXPECT_GT(t, partial, 0ull);
    EXPECT_GT(t, skip, 0ull);
    EXPECT_GT(t, caught, 0ull);

    mmput(c.mm);
    EXPECT_EQ(t, mm_live_count(), mms);
    /* Frames and heap: the suite's leak check (tests/ktest.c). */
}

/*
 * Two faulters of ONE page at once: a demand-zero page is mapped once (the
 * loser of the page-table lock frees its frame), and a copy-on-write break
 * copies once (the loser finds the entry changed and retries).  Threads on
 * every CPU hammer the same few pages; the counts say how often each path
 * ran, and the pages must hold the last value written to them.
 */
#define SAME_PAGES      4
#define SAME_ROUNDS     20

struct same {
    struct mm *mm;
    _Atomic int go;
    _Atomic unsigned bad, ready;
};

static void same_fn(void *arg)
{
    struct same *s = arg;
    atomic_fetch_add(&s->ready, 1);
    SPIN_UNTIL(atomic_load(&s->go));
    for (unsigned p = 0; p < SAME_PAGES; p++) {
        /* Demand-zero for all, first touch at the same time (a fault
         * through uaccess, resolved like the user's own). */
        uint64_t v = 1;
        if (copy_from_user(&v, (const void *)page_va(p), sizeof(v)) != 0 || v != 0)
            atomic_fetch_add(&s->bad, 1);
    }
    unuse_mm(s->mm);
}

static void test_same_page_races(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    uint64_t dz0 = atomic_load(&mm_stats.demand_zero_faults);
    for (unsigned round = 0; round < SAME_ROUNDS; round++) {
        static struct same s;
        s = (struct same){ 0 };
        s.mm = mm_create();
        ASSERT_TRUE(t, s.mm != NULL);
        ASSERT_EQ(t, mm_map_anon(s.mm, BASE, SAME_PAGES * PAGE_SIZE, RW), 0);
        struct task *th[MAX_CPUS];
        unsigned n = 0, cpu;
        for_each_online_cpu(cpu) {
            th[n] = mm_thread_start(same_fn, &s, "mm-same", s.mm, cpu);
            ASSERT_TRUE(t, th[n] != NULL);
            n++;
        }
        SPIN_UNTIL(atomic_load(&s.ready) == n);
        atomic_store(&s.go, 1);
        for (unsigned i = 0; i < n; i++)
            kthread_join(th[i]);
        EXPECT_EQ(t, atomic_load(&s.bad), 0u);
        /* Each page is mapped exactly once, whoever won. */
        for (unsigned p = 0; p < SAME_PAGES; p++) {
            phys_addr_t pa;
            EXPECT_TRUE(t, paging_lookup(s.mm->pml4, page_va(p), &pa, NULL, NULL));
        }
        mmput(s.mm);
    }
    /* One demand-zero fault per page and round: the losers mapped nothing. */
    EXPECT_EQ(t, atomic_load(&mm_stats.demand_zero_faults) - dz0,
              (uint64_t)SAME_ROUNDS * SAME_PAGES);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/*
 * Two writers breaking copy-on-write of ONE page at once.  The fault
 * allocates the copy before it takes the page-table lock (page_alloc may
 * not run under it), and must check the entry it read unlocked when it has
 * the lock: another thread may have broken the page meanwhile, and
 * replacing its copy would throw away that thread's write (here the BUG_ON
 * of arch_pte_replace stops it first).  The loser
 * frees its unused copy (mm_stats.cow_copy_raced) and retries the write,
 * which then lands in the winner's copy.
 *
 * Each round forks the mm (every page shared again), and a thread per CPU
 * writes the same pages at the same moment.  That alone makes the race
 * now and then (1 to 32 rounds in the boots tried); to make it every
 * round, the first faulter of page 0 to allocate its copy is held there
 * (cow_copy_allocated_test_hook, kernel/debug/mm_events.h) until another
 * writer has mapped its own copy of page 0.  Exactly one copy per page and
 * round is kept, and at least one per round is made and freed unused.
 */
#define COW_RACE_ROUNDS 4

struct cow_race {
    struct mm *mm;
    unsigned nthreads;
    _Atomic int round;                  /* the round the threads may run; -1: leave */
    _Atomic uint64_t arrived, done;
    _Atomic unsigned write_errors;
    _Atomic bool hold;                  /* the next copier of page 0 waits */
    phys_addr_t shared;                 /* page 0's frame, shared with the child */
    _Atomic unsigned held, not_won;
};

static struct cow_race cow_race;

static void hold_first_copier(uintptr_t va)
{
    struct cow_race *c = &cow_race;
    if (va != page_va(0) || current_task()->mm != c->mm || !atomic_exchange(&c->hold, false))
        return;
    atomic_fetch_add(&c->held, 1);
    /* Until another writer's copy replaced the shared frame (interrupts
     * on: its flush reaches this CPU). */
    bool won = SPIN_UNTIL(({
        phys_addr_t pa = 0;
        paging_lookup(c->mm->pml4, va, &pa, NULL, NULL) && pa != c->shared;
    }));
    if (!won)
        atomic_fetch_add(&c->not_won, 1);
}

struct cow_racer {
    struct cow_race *c;
    unsigned index;
};

static void cow_racer_fn(void *arg)
{
    struct cow_racer *w = arg;
    struct cow_race *c = w->c;
    uint64_t step = 0;
    for (int r = 1;; r++) {
        WAIT_UNTIL_PROGRESS(atomic_load(&c->round) >= r || atomic_load(&c->round) < 0,
                            atomic_load(&c->done), yield());
        if (atomic_load(&c->round) < 0)
            break;
        for (unsigned p = 0; p < SAME_PAGES; p++) {
            meet_all(&c->arrived, &step, c->nthreads, &c->round);   /* everyone at this page at once */
            uint64_t v = tag(r, w->index);
            if (copy_to_user((void *)page_va(p), &v, sizeof(v)) != 0)
                atomic_fetch_add(&c->write_errors, 1);
        }
        atomic_fetch_add(&c->done, 1);
    }
    unuse_mm(c->mm);
}

static void test_same_page_cow_races(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    struct cow_race *c = &cow_race;
    static struct cow_racer w[MAX_CPUS];
    struct task *th[MAX_CPUS];
    *c = (struct cow_race){ 0 };
    c->mm = mm_create();
    ASSERT_TRUE(t, c->mm != NULL);
    ASSERT_EQ(t, mm_map_anon(c->mm, BASE, SAME_PAGES * PAGE_SIZE, RW), 0);
    for (unsigned p = 0; p < SAME_PAGES; p++) {
        uint64_t v = tag(0, p);
        ASSERT_EQ(t, mm_write(c->mm, page_va(p), &v, sizeof(v)), 0);
    }
    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        w[n] = (struct cow_racer){ .c = c, .index = n };
        th[n] = mm_thread_start(cow_racer_fn, &w[n], "mm-cow-race", c->mm, cpu);
        ASSERT_TRUE(t, th[n] != NULL);
        n++;
    }
    c->nthreads = n;

    uint64_t copies0 = atomic_load(&mm_stats.cow_copies);
    uint64_t raced0 = atomic_load(&mm_stats.cow_copy_raced);
    unsigned wrong = 0, child_wrong = 0;
    int r;
    cow_copy_allocated_test_hook = hold_first_copier;
    for (r = 1; r <= COW_RACE_ROUNDS; r++) {
        struct mm *child = mm_fork(c->mm);
        EXPECT_TRUE(t, child != NULL);
        if (!child)
            break;
        EXPECT_TRUE(t, paging_lookup(c->mm->pml4, page_va(0), &c->shared, NULL, NULL));
        atomic_store(&c->hold, true);
        atomic_store(&c->round, r);
        bool done = WAIT_UNTIL_PROGRESS(atomic_load(&c->done) >= (uint64_t)r * n,
                                        atomic_load(&c->arrived), msleep(1));
        for (unsigned p = 0; p < SAME_PAGES; p++) {
            /* The parent's page holds one writer's value of this round;
             * the child's still holds the last round's winner (or round 0). */
            phys_addr_t pa;
            uint64_t v = 0;
            if (!paging_lookup(c->mm->pml4, page_va(p), &pa, NULL, NULL) ||
                ((v = *(uint64_t *)phys_to_virt(pa)) >> 32) != (uint64_t)r ||
                (v & 0xffffffff) >= n)
                wrong++;
            if (!paging_lookup(child->pml4, page_va(p), &pa, NULL, NULL) ||
                (*(uint64_t *)phys_to_virt(pa) >> 32) != (uint64_t)(r - 1))
                child_wrong++;
        }
        mmput(child);
        if (!done) {
            ktest_log("round %d: the writers made no progress", r);
            break;
        }
    }
    cow_copy_allocated_test_hook = NULL;
    int rounds = r > COW_RACE_ROUNDS ? COW_RACE_ROUNDS : r;
    atomic_store(&c->round, -1);
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    uint64_t copies = atomic_load(&mm_stats.cow_copies) - copies0;
    uint64_t raced = atomic_load(&mm_stats.cow_copy_raced) - raced0;
    ktest_log("%u writers, %u pages, %d rounds: %llu copies kept, %llu made and freed unused "
              "(another writer won; %u held on purpose)", n, SAME_PAGES, rounds,
              (unsigned long long)copies, (unsigned long long)raced, atomic_load(&c->held));
    EXPECT_EQ(t, atomic_load(&c->write_errors), 0u);
    EXPECT_EQ(t, atomic_load(&c->not_won), 0u);
    EXPECT_EQ(t, atomic_load(&c->held), (unsigned)rounds);
    EXPECT_EQ(t, wrong, 0u);
    EXPECT_EQ(t, child_wrong, 0u);
    EXPECT_EQ(t, copies, (uint64_t)rounds * SAME_PAGES);
    EXPECT_GE(t, raced, (uint64_t)rounds);
    mmput(c->mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static const struct ktest_case mm_concurrent_cases[] = {
    KTEST_CASE(test_concurrent_cow_generations),
    KTEST_CASE(test_same_page_races),
    KTEST_CASE(test_same_page_cow_races),
    {0},
};
KTEST_SUITE(mm_concurrent, mm_concurrent_cases);
