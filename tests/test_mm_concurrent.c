/*
 * tests/test_mm_concurrent.c - page faults and flushes of ONE mm at the same
 * time on several CPUs (issue 13 item 1; docs/locking.md "The address-space
 * lock", docs/tlb.md "Generations under concurrent flushes").
 *
 * Faults take mm->lock for reading, so the threads of one process break
 * copy-on-write at the same time, and each flushes its own page: requests
 * of one mm overlap, and reach a CPU out of order.  The generation rule of
 * the flush handler (arch/x86_64/mm/tlb.c) then has three outcomes, and
 * test_concurrent_cow_generations makes each of them happen on purpose, a
 * known number of times, and counts it:
 *   - partial: a request exactly one generation ahead of the CPU's slot
 *     (INVLPG of its page; tlb.flush_partial);
 *   - full because a generation was skipped: a later request arrived
 *     before an earlier one (tlb.flush_full_gen_skip);
 *   - caught up: the earlier request arrives after that full flush, which
 *     already covered it (tlb.flush_caught_up).
 *
 * The workload: an mm with W threads per CPU (kernel threads adopting it,
 * tests/mm_test_util.h), each owning P pages.  Each round the test forks
 * the mm (every page of the parent becomes copy-on-write), then the
 * threads write their own pages through their user addresses - a COW
 * fault, a copy and a one-page flush each - in steps whose order the test
 * forces (see "The steps" below), and, once all have written, each reads
 * EVERY page of the round through the user addresses.  A CPU that kept an
 * old translation of another thread's page (a flush it missed or skipped
 * wrongly) reads the old frame, which the child still maps with the
 * previous round's value: counted as bad.  The child's pages must keep the
 * values of the round before (nobody's write may reach the child's frame).
 * With tlbcheck=on every flush is checked on every CPU, and the read-side
 * release asserts that each faulter flushed its own change.
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
#include <kernel/preempt.h>
#include <kernel/time.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/pt_walk.h>
#include <kernel/sched.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/uaccess.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(tlb, flush_partial);
DECLARE_COUNTER(tlb, flush_caught_up);
DECLARE_COUNTER(tlb, flush_full_gen_skip);

#define BASE            0x30000000ul
#define RW              (SD_PROT_READ | SD_PROT_WRITE)

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
 * The steps.  Which outcome a CPU's handler takes depends only on the
 * order in which the requests reach that CPU, so the test forces the order
 * by holding CPUs - never by pausing a while and hoping the other vCPU ran
 * meanwhile.  (It used to: the odd CPUs paused udelay(200) between their
 * tlb_gen bump and their IPIs, and the test needed an even CPU to bump and
 * serve its own request within that pause.  On a loaded 2-core host a vCPU
 * loses its core for milliseconds, and whether a round made a skipped
 * generation and a catch-up was up to the host's scheduler.)
 *
 * Each round is made of steps.  In a step one thread per CPU - the CPU's
 * participant; its W threads take turns - writes one of its pages, and a
 * participant that is not writing at the moment waits PINNED: preemption
 * off, interrupts on, spinning in its thread of the mm.  Its CPU then has
 * the mm loaded, is not lazy, and serves each flush IPI of the step with
 * the handler as it comes.  Every wait ends on the other participants'
 * progress (ctl.state), never on a clock: a vCPU that the host deschedules
 * makes a step slower, not different.
 *
 * At the start of a step no flush of the mm is under way and no tlb_gen
 * bump is pending, so every participating CPU's slot is at the mm's
 * generation g: it served the last request from exactly one behind or in
 * full (a full flush reads the generation, and nothing bumped after), or
 * found itself caught up, or caught up when it came back from a lazy
 * spell.  With N participating CPUs:
 *
 * A solo step: the participants write one after the other, in CPU order.
 * Each request is one past every slot (g+1, then g+2, ...) and reaches
 * all N CPUs, pinned: N partial flushes per write, N*N per step.
 *
 * A conflict step, with a leader (another CPU from step to step) and N-1
 * followers:
 *   1. the leader writes first and is PARKED in tlb_flush_begin_test_hook
 *      - its change made, its tlb_gen bump not - and keeps preemption off
 *      from there to its bump;
 *   2. then the followers write; each bumps (g+1 .. g+N-1, in any order)
 *      and is HELD in tlb_flush_made_test_hook, after its bump and before
 *      its IPIs (preemption off there: flush_tlb_mm_range's own);
 *   3. once all are held, the leader bumps (g+N) and flushes: its request
 *      is two or more ahead of every slot - at g, or at most g+N-2 on a
 *      follower's CPU that went lazy before its own bump and caught up on
 *      return - so all N CPUs flush in full, a generation skipped, and
 *      record g+N (read after every bump of the step);
 *   4. the followers are let go one at a time, each once the leader and
 *      the followers before it are pinned again after their write: each
 *      request (g+1 .. g+N-1) reaches N CPUs at g+N, N caught up, N*(N-1)
 *      per step.
 * The leader parks before its bump, pinned, because its own CPU must not
 * catch up while the followers bump: a lazy spell ending after their
 * bumps would bring its slot to g+N-1, and its own request would be a
 * partial flush there.  Before it parks nobody has bumped.
 *
 * So every handler of every request of a round runs on a CPU that is
 * pinned in a participant.  A CPU may leave the mm (to a kernel thread:
 * the test's own on CPU 0, say) only while its participant is not pinned:
 * between steps, and in its own write before its bump or after its flush
 * returned.  No request is in flight then, and the only ones pending are
 * followers' (steps 2 to 4): a catch-up on return reads at most g+N-2
 * before the leader's bump (3 allows for it) and g+N after it, which every
 * slot has already (nothing to do).  The counts are exact whatever
 * the host does; with N = 2, 2 threads per CPU and 4 pages each: 16
 * partial, 8 skipped, 8 caught up per round.
 */
#define PER_CPU         2               /* writer threads per CPU */
#define PAGES           4               /* pages per thread: even (solo, conflict, ...) */
#define MAX_SLOTS       8               /* participating CPUs */
#define MAX_THREADS     (PER_CPU * MAX_SLOTS)
#define ROUNDS          3
#define STEPS           (PER_CPU * PAGES)       /* per round: each thread's pages, by turns */
#define CONFLICT_STEPS  (STEPS / 2)             /* the odd pages of each thread */
#define SOLO_STEPS      (STEPS - CONFLICT_STEPS)
_Static_assert(PAGES % 2 == 0, "each thread's pages alternate solo and conflict steps");

/* Where a CPU's participant is in step S: ctl.state[slot] = S << 2 | stage.
 * It only grows: the participant of step S+1 starts once step S is over. */
enum stage { PINNED = 1, HELD = 2, DONE = 3 };  /* HELD: a leader parked too */
#define NO_SLOT (~0u)

enum role { ROLE_NONE, ROLE_SOLO, ROLE_LEADER, ROLE_FOLLOWER };

struct writer {
    struct task *task;                  /* set before round 1 */
    unsigned index;                     /* slot * PER_CPU + its turn */
    unsigned slot;                      /* its CPU's place: 0 .. nslots-1 */
    /* Its write under way, for the hooks (which run in its own fault): */
    enum role role;
    uint64_t step;
    unsigned leader;                    /* the step's leader slot */
    bool parked;                        /* a leader's begin hook left preemption off */
};

struct ctl {
    struct mm *mm;
    unsigned nthreads, nslots;
    _Atomic int round;                  /* the round the threads may run; -1: leave */
    _Atomic uint64_t writes_done;       /* threads that wrote their pages, all rounds */
    _Atomic uint64_t reads_done;        /* threads that read every page, all rounds */
    _Atomic uint64_t progress;          /* stages reached, pages read: for the waits */
    _Atomic uint64_t state[MAX_SLOTS];
    _Atomic unsigned bad;               /* reads that saw another value than this round's */
    _Atomic unsigned write_errors;
    _Atomic unsigned unforced;          /* waits that gave up: a step's order not forced */
    struct writer w[MAX_THREADS];
};

static struct ctl ctl;

static uint64_t at(uint64_t step, enum stage stage)
{
    return step << 2 | stage;
}

/*
 * A stage is stored (seq_cst) once its work is done, and read (seq_cst)
 * by whoever waits for it; the pairs that matter: a follower stores HELD
 * after its F1 (a seq_cst RMW) and the leader loads every HELD before its
 * own F1, so the leader's generation is the step's last; a DONE is stored
 * after the write's flush returned (after its load-acquire A2 of every
 * target's completion, kernel/smp/smp_call.c), so a follower that loaded
 * it sends its IPIs after that flush's handlers ran everywhere.
 */
static void reach(struct ctl *c, unsigned slot, uint64_t step, enum stage stage)
{
    atomic_store(&c->state[slot], at(step, stage));
    atomic_fetch_add(&c->progress, 1);
}

static bool reached(struct ctl *c, unsigned slot, uint64_t step, enum stage stage)
{
    return atomic_load(&c->state[slot]) >= at(step, stage);
}

/* Every participant of `step` in slots below `end`, but `except`, reached `stage`. */
static bool all_reached(struct ctl *c, unsigned end, uint64_t step, enum stage stage, unsigned except)
{
    for (unsigned s = 0; s < end; s++)
        if (s != except && !reached(c, s, step, stage))
            return false;
    return true;
}

/*
 * Wait for `cond` as long as the other participants make progress.  A wait
 * that gives up leaves its step's order unforced: counted (the test fails),
 * and from then on nobody waits any more, so that the rounds end quickly.
 */
#define AWAIT(c, cond, pause)                                                   \
    do {                                                                        \
        if (!WAIT_UNTIL_PROGRESS((cond) || atomic_load(&(c)->unforced) != 0 ||   \
                                     atomic_load(&(c)->round) < 0,              \
                                 atomic_load(&(c)->progress), pause) ||         \
            !(cond))                                                            \
            atomic_fetch_add(&(c)->unforced, 1);                                \
    } while (0)

/* The writer running here, or NULL (the test's own thread flushes for its
 * fork and its mmput). */
static struct writer *current_writer(void)
{
    struct task *me = current_task();
    for (unsigned i = 0; i < ctl.nthreads; i++)
        if (ctl.w[i].task == me)
            return &ctl.w[i];
    return NULL;
}

/*
 * tlb_flush_begin_test_hook: a conflict step's leader parks here (step 1
 * above) - its change made, its checker token taken, F1 not made - until
 * every follower is held after its bump.  Preemption goes off here and
 * stays off until hold_followers_after_bump, after F1: a switch away and
 * back meanwhile would catch the leader's CPU up to the followers' bumps.
 * Interrupts stay on (a fault may sleep on mm->lock, so they are on here):
 * a CPU waiting here with them off would stall every other CPU's call to
 * it.
 */
static void park_leader_before_bump(void)
{
    struct writer *w = current_writer();
    if (!w || w->role != ROLE_LEADER)
        return;
    struct ctl *c = &ctl;
    w->role = ROLE_NONE;                /* once per write: its fault makes one flush */
    if (!arch_irqs_enabled()) {
        atomic_fetch_add(&c->unforced, 1);
        return;
    }
    preempt_disable();                  /* dropped after F1, below */
    w->parked = true;
    reach(c, w->slot, w->step, HELD);
    AWAIT(c, all_reached(c, c->nslots, w->step, HELD, w->slot), arch_cpu_relax());
}

/*
 * tlb_flush_made_test_hook, after F1 with preemption off
 * (flush_tlb_mm_range's).  The leader drops the count its begin hook took:
 * the flush's own keeps it from being switched out.  A follower is held
 * (step 2) until the leader and every follower before it are pinned again
 * after their write (step 4); interrupts on, so it serves the leader's
 * IPI - the full flush - and the earlier followers' meanwhile.
 */
static void hold_followers_after_bump(void)
{
    struct writer *w = current_writer();
    if (!w)
        return;
    struct ctl *c = &ctl;
    if (w->parked) {
        w->parked = false;
        preempt_enable();               /* the count stays above 0: no switch here */
        return;
    }
    if (w->role != ROLE_FOLLOWER)
        return;
    w->role = ROLE_NONE;
    if (!arch_irqs_enabled()) {
        atomic_fetch_add(&c->unforced, 1);
        return;
    }
    reach(c, w->slot, w->step, HELD);
    AWAIT(c, reached(c, w->leader, w->step, DONE) &&
                 all_reached(c, w->slot, w->step, DONE, w->leader),
          arch_cpu_relax());
}

/*
 * Thread w's part in step `step` of the test: s is its place in round r.
 * Each thread's even pages are written in solo steps, its odd ones in
 * conflict steps, whose leader goes round the CPUs.
 */
static void write_step(struct ctl *c, struct writer *w, int r, unsigned s, uint64_t step)
{
    unsigned me = w->slot, p = s / PER_CPU, page = w->index * PAGES + p;
    bool conflict = p & 1;
    uint64_t nconflict = (uint64_t)(r - 1) * CONFLICT_STEPS + p / 2 * PER_CPU + s % PER_CPU;
    unsigned leader = (unsigned)(nconflict % c->nslots);

    /* Not pinned: this CPU's other thread may run, and has the last step. */
    AWAIT(c, all_reached(c, c->nslots, step - 1, DONE, NO_SLOT), yield());
    preempt_disable();
    reach(c, me, step, PINNED);
    AWAIT(c, all_reached(c, c->nslots, step, PINNED, NO_SLOT), arch_cpu_relax());
    enum role role = ROLE_LEADER;
    if (!conflict) {
        role = ROLE_SOLO;
        AWAIT(c, all_reached(c, me, step, DONE, NO_SLOT), arch_cpu_relax());
    } else if (me != leader) {
        role = ROLE_FOLLOWER;
        AWAIT(c, reached(c, leader, step, HELD), arch_cpu_relax());
    }
    /* For the hooks in this thread's fault; preempt_enable's compiler
     * barrier keeps these stores before the write. */
    w->role = role;
    w->step = step;
    w->leader = leader;
    preempt_enable();
    uint64_t v = tag(r, page);
    /* A copy-on-write fault: the copy, and its one-page flush. */
    if (copy_to_user((void *)page_va(page), &v, sizeof(v)) != 0)
        atomic_fetch_add(&c->write_errors, 1);
    preempt_disable();
    w->role = ROLE_NONE;
    reach(c, me, step, DONE);
    /* Pinned until every request of the step has been served. */
    AWAIT(c, all_reached(c, c->nslots, step, DONE, NO_SLOT), arch_cpu_relax());
    preempt_enable();
}

static void writer_fn(void *arg)
{
    struct writer *w = arg;
    struct ctl *c = &ctl;
    unsigned npages = c->nthreads * PAGES;
    for (int r = 1;; r++) {
        /* Wait in the mm (yield: other threads of this mm share the CPU). */
        WAIT_UNTIL_PROGRESS(atomic_load(&c->round) >= r || atomic_load(&c->round) < 0,
                            atomic_load(&c->progress), yield());
        if (atomic_load(&c->round) < 0)
            break;
        for (unsigned s = w->index % PER_CPU; s < STEPS; s += PER_CPU)
            write_step(c, w, r, s, (uint64_t)(r - 1) * STEPS + s + 1);
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

static uint64_t sum(const struct counter_desc *d)
{
    return counter_sum(d);
}

static void test_concurrent_cow_generations(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();

    struct ctl *c = &ctl;
    static struct task *th[MAX_THREADS];
    *c = (struct ctl){ 0 };
    unsigned nslots = nr_cpus_online < MAX_SLOTS ? nr_cpus_online : MAX_SLOTS;
    c->nslots = nslots;
    c->nthreads = nslots * PER_CPU;
    for (unsigned s = 0; s < nslots; s++)
        atomic_store(&c->state[s], at(0, DONE));        /* "step 0" is over */
    unsigned npages = c->nthreads * PAGES;
    c->mm = mm_create();
    ASSERT_TRUE(t, c->mm != NULL);
    ASSERT_EQ(t, mm_map_anon(c->mm, BASE, (size_t)npages * PAGE_SIZE, RW), 0);
    for (unsigned page = 0; page < npages; page++) {
        uint64_t v = tag(0, page);
        ASSERT_EQ(t, mm_write(c->mm, page_va(page), &v, sizeof(v)), 0);
    }

    unsigned n = 0, slot = 0, cpu;
    for_each_online_cpu(cpu) {
        if (slot == nslots)
            break;
        for (unsigned k = 0; k < PER_CPU; k++) {
            struct writer *w = &c->w[n];
            *w = (struct writer){ .index = n, .slot = slot };
            th[n] = mm_thread_start(writer_fn, w, "mm-cow", c->mm, cpu);
            ASSERT_TRUE(t, th[n] != NULL);
            w->task = th[n];            /* it waits for round 1 before any fault */
            n++;
        }
        slot++;
    }
    ASSERT_EQ(t, n, c->nthreads);

    uint64_t copies0 = atomic_load(&mm_stats.cow_copies);
    uint64_t partial = 0, skip = 0, caught = 0;
    unsigned child_bad = 0;
    int rounds = 0;
    tlb_flush_begin_test_hook = park_leader_before_bump;
    tlb_flush_made_test_hook = hold_followers_after_bump;
    for (int r = 1; r <= ROUNDS; r++) {
        /* Every page of the parent becomes copy-on-write (the write side:
         * the writers are between rounds, waiting). */
        struct mm *child = mm_fork(c->mm);
        EXPECT_TRUE(t, child != NULL);
        if (!child)
            break;
        /* From here to the last read, the only flushes are the writers'
         * (the fork's has returned). */
        uint64_t partial0 = sum(COUNTER(tlb, flush_partial));
        uint64_t skip0 = sum(COUNTER(tlb, flush_full_gen_skip));
        uint64_t caught0 = sum(COUNTER(tlb, flush_caught_up));
        atomic_store(&c->round, r);
        bool done = WAIT_UNTIL_PROGRESS(atomic_load(&c->reads_done) >= (uint64_t)r * c->nthreads,
                                        atomic_load(&c->progress), msleep(1));
        partial += sum(COUNTER(tlb, flush_partial)) - partial0;
        skip += sum(COUNTER(tlb, flush_full_gen_skip)) - skip0;
        caught += sum(COUNTER(tlb, flush_caught_up)) - caught0;
        child_bad += child_wrong(child, npages, r);
        mmput(child);
        if (!done) {
            ktest_log("round %d: the writers made no progress", r);
            break;
        }
        rounds = r;
    }
    tlb_flush_begin_test_hook = NULL;
    tlb_flush_made_test_hook = NULL;
    atomic_store(&c->round, -1);
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    uint64_t copies = atomic_load(&mm_stats.cow_copies) - copies0;

    /* What the steps make (see "The steps"), per round. */
    uint64_t want_partial = (uint64_t)rounds * SOLO_STEPS * nslots * nslots;
    uint64_t want_skip = (uint64_t)rounds * CONFLICT_STEPS * nslots;
    uint64_t want_caught = (uint64_t)rounds * CONFLICT_STEPS * nslots * (nslots - 1);
    unsigned unforced = atomic_load(&c->unforced);
    ktest_log("%u threads on %u CPUs, %u pages, %d rounds of %u steps: %llu COW copies; flush "
              "outcomes: %llu partial (of %llu), %llu full with a generation skipped (of %llu), "
              "%llu caught up (of %llu); waits given up %u", n, nslots, npages, rounds, STEPS,
              (unsigned long long)copies, (unsigned long long)partial,
              (unsigned long long)want_partial, (unsigned long long)skip,
              (unsigned long long)want_skip, (unsigned long long)caught,
              (unsigned long long)want_caught, unforced);
    EXPECT_EQ(t, rounds, ROUNDS);
    EXPECT_EQ(t, atomic_load(&c->write_errors), 0u);
    EXPECT_EQ(t, atomic_load(&c->bad), 0u);
    EXPECT_EQ(t, child_bad, 0u);
    /* Every write of every round broke copy-on-write with a copy (the
     * child shared each page). */
    EXPECT_EQ(t, copies, (uint64_t)rounds * npages);
    EXPECT_EQ(t, unforced, 0u);
    EXPECT_EQ(t, partial, want_partial);
    EXPECT_EQ(t, skip, want_skip);
    EXPECT_EQ(t, caught, want_caught);

    mmput(c->mm);
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
