/*
 * tests/test_lazy_mm.c - the lifetime of a lazily borrowed mm in each
 * lazy_mm= mode (kernel/mm/lazy_mm.c, docs/lazy-mm.md), asserted on counts.
 *
 * "User" threads are kernel threads created with t->mm = t->active_mm = mm
 * and an mm_users reference (tests/mm_test_util.h): the scheduler treats
 * them exactly like user tasks.  A thread that calls lazy_mm_exit_mm() on
 * a CPU leaves that CPU borrowing the mm: when it exits, the CPU's idle
 * task takes the borrow over and keeps it, since nothing else runs there.
 * The test bodies run on CPU 0 (the ktest thread is bound there), which
 * never loads the test mms; the borrowing CPUs are 1 and up.
 *
 * Counts are exact: the actions run on CPUs where nothing else happens,
 * and every counter read is a delta around them.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/cpumask.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <arch/paging.h>
#include <uapi/shootdown.h>

/* The switch and lazy-mm counters are declared with their events. */
DECLARE_COUNTER(mm, count_atomics);

#define ADDR    0x400000ul
#define RW      (SD_PROT_READ | SD_PROT_WRITE)
#define ROUNDS  20

/* A not yet started "user" thread of mm bound to cpu (it owns a new
 * mm_users reference). */
static struct task *user_thread(struct mm *mm, unsigned cpu, void (*fn)(void *), void *arg)
{
    struct task *t = kthread_create(fn, arg, "lazy-user");
    if (!t)
        return NULL;
    mmget(mm);
    t->mm = t->active_mm = mm;
    kthread_bind(t, cpu);
    return t;
}

/* A new mm with one page faulted in (its teardown frees a page table). */
static struct mm *mm_with_page(void)
{
    struct mm *mm = mm_create();
    if (!mm)
        return NULL;
    if (mm_map_anon(mm, ADDR, PAGE_SIZE, RW) || mm_handle_fault(mm, ADDR, true, false, true)) {
        mmput(mm);
        return NULL;
    }
    return mm;
}

/* ---- the cost of a lazy round trip ---------------------------------------- */

struct trip {
    struct yielder *partner;
    uint64_t enter_lazy, leave_lazy, atomics, starts, ends, drops;
};

/* ROUNDS yields to a kernel thread on the same CPU, which yields straight
 * back: ROUNDS user(A) -> kernel -> user(A) trips (a timer preemption adds
 * one more such trip), measured on this CPU alone. */
static void trip_fn(void *arg)
{
    struct trip *m = arg;
    struct counter_snapshot s;
    counters_snapshot_cpu(&s, this_cpu_id());   /* bound: stays put */
    for (unsigned i = 0; i < ROUNDS; i++)
        yield();
    m->enter_lazy = counter_delta(&s, COUNTER(switch, enter_lazy));
    m->leave_lazy = counter_delta(&s, COUNTER(switch, leave_lazy));
    m->atomics = counter_delta(&s, COUNTER(mm, count_atomics));
    m->starts = counter_delta(&s, COUNTER(lazy, borrow_start));
    m->ends = counter_delta(&s, COUNTER(lazy, borrow_end));
    m->drops = counter_delta(&s, COUNTER(lazy, borrow_drop));
    atomic_store(&m->partner->stop, true);
    unuse_mm(current_task()->mm);
}

/*
 * user(A) -> kernel thread -> user(A): refcount mode pays exactly 2 mm_count
 * atomics per trip (mmgrab at the borrow's start, mmdrop at its end);
 * shootdown, hazard and mmput pay none.
 */
static void test_round_trip_atomics(struct ktest *t)
{
    unsigned cpu = nr_cpus_online - 1;
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);

    struct yielder y = { 0 };
    struct task *partner = start_yielder(&y, cpu);
    ASSERT_TRUE(t, partner != NULL);
    struct trip m = { .partner = &y };
    struct task *th = user_thread(mm, cpu, trip_fn, &m);
    ASSERT_TRUE(t, th != NULL);
    kthread_start(th);
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_EQ(t, kthread_join(partner), 0);

    EXPECT_GE(t, m.enter_lazy, (uint64_t)ROUNDS);
    EXPECT_EQ(t, m.leave_lazy, m.enter_lazy);
    EXPECT_EQ(t, m.starts, m.enter_lazy);       /* every trip is one borrow */
    EXPECT_EQ(t, m.ends, m.leave_lazy);
    EXPECT_EQ(t, m.drops, 0u);
    uint64_t per_trip = lazy_mm_mode == LAZY_MM_REFCOUNT ? 2 : 0;
    EXPECT_EQ(t, m.atomics, per_trip * m.enter_lazy);
    ktest_log("lazy_mm=%s: %llu round trips, %llu mm_count atomics", lazy_mm_mode_name(),
              (unsigned long long)m.enter_lazy, (unsigned long long)m.atomics);

    mmput(mm);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* ---- exit while this CPU borrows the mm ----------------------------------- */

struct self_exit {
    unsigned mms;               /* mm_live_count() before the mm was made */
    bool borrows_after;         /* active_mm still the mm after exit_mm */
    bool on_init_mm;            /* active_mm == &init_mm after exit_mm */
    unsigned live_after;        /* mm_live_count() right after exit_mm */
    uint64_t drops;             /* borrows dropped on this CPU meanwhile */
    struct mm *slot;            /* this CPU's hazard slot after exit_mm */
};

static void self_exit_fn(void *arg)
{
    struct self_exit *e = arg;
    struct task *me = current_task();
    struct mm *mm = me->mm;
    struct counter_snapshot s;
    counters_snapshot_cpu(&s, this_cpu_id());
    lazy_mm_exit_mm(me);        /* the last user and (but refcount) the last mm_count */
    e->borrows_after = me->active_mm == mm;     /* a compare only: mm may be freed */
    e->on_init_mm = me->active_mm == &init_mm;
    e->live_after = mm_live_count();
    e->drops = counter_delta(&s, COUNTER(lazy, borrow_drop));
    e->slot = lazy_mm_hazard_slot(this_cpu_id());
}

/*
 * The last thread of an mm exits while its own CPU borrows the mm (exit_mm
 * made it a borrower).  refcount: the borrow's reference keeps the struct
 * and PML4 until the CPU lets go.  shootdown/hazard: the borrow holds
 * nothing, so the last mmdrop (in the thread's mmput) first makes this very
 * CPU let go - active_mm moves to init_mm - and only then frees the mm.
 * mmput: the teardown flush's handler on this CPU (the initiator's own
 * part of the flush) ends the borrow, before the mm is freed.
 */
static void test_exit_while_borrowed_here(struct ktest *t)
{
    struct self_exit e = { .mms = mm_live_count() };
    struct mm *mm = mm_with_page();
    ASSERT_TRUE(t, mm != NULL);
    struct task *th = user_thread(mm, nr_cpus_online - 1, self_exit_fn, &e);
    ASSERT_TRUE(t, th != NULL);
    mmput(mm);                  /* the thread holds the only user reference */
    kthread_start(th);
    EXPECT_EQ(t, kthread_join(th), 0);

    EXPECT_EQ(t, e.slot, (struct mm *)NULL);
    if (lazy_mm_mode == LAZY_MM_REFCOUNT) {
        EXPECT_TRUE(t, e.borrows_after);
        EXPECT_EQ(t, e.live_after, e.mms + 1);  /* held by the borrow */
        EXPECT_EQ(t, e.drops, 0u);
    } else {
        EXPECT_TRUE(t, e.on_init_mm);
        EXPECT_EQ(t, e.live_after, e.mms);      /* freed, after we let go */
        EXPECT_EQ(t, e.drops, 1u);
    }
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), e.mms);
}

/* ---- exit with borrowers on other CPUs ------------------------------------ */

static void exit_mm_fn(void *arg)
{
    (void)arg;
    lazy_mm_exit_mm(current_task());
}

/* Leave CPU `cpu` borrowing mm: a thread of mm runs there and exits. */
static bool leave_borrowing(struct ktest *t, struct mm *mm, unsigned cpu)
{
    struct task *th = user_thread(mm, cpu, exit_mm_fn, NULL);
    EXPECT_TRUE(t, th != NULL);
    if (!th)
        return false;
    kthread_start(th);
    EXPECT_EQ(t, kthread_join(th), 0);
    return true;
}

struct free_counts {
    uint64_t shootdown_ipis, scans, slots_read, hazard_ipis, drops, drop_ipis;
};

static void free_counts_take(struct free_counts *c, const struct counter_snapshot *s)
{
    c->shootdown_ipis = counter_delta(s, COUNTER(lazy, exit_shootdown_ipis));
    c->scans = counter_delta(s, COUNTER(lazy, hazard_scans));
    c->slots_read = counter_delta(s, COUNTER(lazy, hazard_slots_read));
    c->hazard_ipis = counter_delta(s, COUNTER(lazy, hazard_ipis));
    c->drops = counter_delta(s, COUNTER(lazy, borrow_drop));
    c->drop_ipis = counter_delta(s, COUNTER(lazy, drop_ipis));
}

/*
 * CPUs 1..k borrow the mm when it is freed ("borrowers"); CPU k+1 and up
 * ("movers", with 3+ CPUs) ran it too, borrowed it, then ran another user
 * mm and left it (so they hold a cpumask bit unless a flush cleared it, but
 * borrow nothing).  The last mmdrop, on CPU 0:
 *   shootdown: calls every CPU of the cpumask - all the borrowers, plus the
 *              movers whose bits no flush cleared;
 *   hazard:    reads every online CPU's slot, calls exactly the borrowers;
 *   refcount:  calls nobody (the borrowers hold references; the reaper's
 *              lazy_mm_drop_borrowers() makes them let go);
 *   mmput:     calls nobody: the last mmput's teardown flush, which called
 *              the whole cpumask (lazy CPUs too: it frees page tables),
 *              ended every borrow already.
 * Every borrower ends its borrow exactly once, the movers never; the mm is
 * freed only after that.
 */
static void test_exit_calls_borrowers(struct ktest *t)
{
    unsigned n = nr_cpus_online;
    if (n < 2)
        KTEST_SKIP(t, "needs two CPUs: one frees the mm, another borrows it");
    unsigned k = n <= 3 ? 1 : n - 2;    /* borrowers: 1..k; movers: k+1..n-1 */
    unsigned mms = mm_live_count();
    struct mm *mm = mm_with_page();
    ASSERT_TRUE(t, mm != NULL);
    struct mm *other = mm_create();
    ASSERT_TRUE(t, other != NULL);

    for (unsigned cpu = 1; cpu < n; cpu++)
        ASSERT_TRUE(t, leave_borrowing(t, mm, cpu));
    for (unsigned cpu = k + 1; cpu < n; cpu++) {
        struct holder h;
        struct task *th = holder_start(&h, other, cpu, "lazy-mover");
        ASSERT_TRUE(t, th != NULL);
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.loaded)));
        atomic_store(&h.leave, true);
        EXPECT_EQ(t, kthread_join(th), 0);
    }
    for (unsigned cpu = 1; cpu < n; cpu++) {
        struct mm *want = lazy_mm_mode == LAZY_MM_HAZARD && cpu <= k ? mm : NULL;
        EXPECT_EQ(t, lazy_mm_hazard_slot(cpu), want);
    }

    struct counter_snapshot s, at_free;
    uint64_t drops_before[MAX_CPUS];
    for (unsigned cpu = 0; cpu < n; cpu++)
        drops_before[cpu] = counter_read_cpu(COUNTER(lazy, borrow_drop), cpu);
    struct cpumask before = mm->cpumask;        /* borrowers and movers */
    counters_snapshot(&s);
    mmgrab(mm);                 /* so that the measured mmdrop is the last */
    mmput(mm);                  /* the last user: teardown */
    EXPECT_EQ(t, mm_live_count(), mms + 2);
    /* The teardown flush frees page tables: the whole cpumask is called. */
    EXPECT_EQ(t, counter_delta(&s, COUNTER(lazy, teardown_ipis)), (uint64_t)cpumask_weight(&before));
    uint64_t teardown_drops = counter_delta(&s, COUNTER(lazy, borrow_drop));
    EXPECT_EQ(t, teardown_drops, lazy_mm_mode == LAZY_MM_MMPUT ? (uint64_t)k : 0u);
    struct cpumask mask = mm->cpumask;
    for (unsigned cpu = 1; cpu <= k; cpu++)
        EXPECT_TRUE(t, cpumask_test_cpu(&mask, cpu));   /* (I2) */
    EXPECT_FALSE(t, cpumask_test_cpu(&mask, 0));

    counters_snapshot(&at_free);
    mmdrop(mm);
    if (lazy_mm_mode == LAZY_MM_REFCOUNT) {
        EXPECT_EQ(t, mm_live_count(), mms + 2);         /* the borrows hold it */
        lazy_mm_drop_borrowers(mm);
    }
    EXPECT_EQ(t, mm_live_count(), mms + 1);             /* freed: only `other` is left */
    struct free_counts c;
    free_counts_take(&c, &at_free);
    /* Each borrower let go once (in the teardown or at the free); the
     * movers and CPU 0 had nothing to drop. */
    for (unsigned cpu = 0; cpu < n; cpu++)
        EXPECT_EQ(t, counter_read_cpu(COUNTER(lazy, borrow_drop), cpu) - drops_before[cpu],
                  (uint64_t)(cpu >= 1 && cpu <= k));
    EXPECT_EQ(t, teardown_drops + c.drops, (uint64_t)k);
    for (unsigned cpu = 1; cpu < n; cpu++)
        EXPECT_EQ(t, lazy_mm_hazard_slot(cpu), (struct mm *)NULL);

    switch (lazy_mm_mode) {
    case LAZY_MM_REFCOUNT:
        EXPECT_EQ(t, c.shootdown_ipis, 0u);
        EXPECT_EQ(t, c.scans, 0u);
        EXPECT_EQ(t, c.hazard_ipis, 0u);
        break;
    case LAZY_MM_SHOOTDOWN:
        EXPECT_EQ(t, c.shootdown_ipis, (uint64_t)cpumask_weight(&mask));
        EXPECT_GE(t, c.shootdown_ipis, (uint64_t)k);
        EXPECT_EQ(t, c.scans, 0u);
        EXPECT_EQ(t, c.hazard_ipis, 0u);
        break;
    case LAZY_MM_HAZARD:
        EXPECT_EQ(t, c.shootdown_ipis, 0u);
        EXPECT_EQ(t, c.scans, 1u);
        EXPECT_EQ(t, c.slots_read, (uint64_t)n);
        EXPECT_EQ(t, c.hazard_ipis, (uint64_t)k);       /* the movers are left alone */
        break;
    case LAZY_MM_MMPUT:
        /* (I6): nobody borrows any more, nobody is called. */
        EXPECT_EQ(t, c.shootdown_ipis, 0u);
        EXPECT_EQ(t, c.scans, 0u);
        EXPECT_EQ(t, c.hazard_ipis, 0u);
        EXPECT_EQ(t, c.drop_ipis, 0u);
        EXPECT_EQ(t, c.drops, 0u);
        break;
    }
    ktest_log("lazy_mm=%s: %u borrowers, %u movers, cpumask %u: %llu shootdown IPIs, "
              "%llu slots read, %llu hazard IPIs", lazy_mm_mode_name(), k, n - 1 - k,
              cpumask_weight(&mask), (unsigned long long)c.shootdown_ipis,
              (unsigned long long)c.slots_read, (unsigned long long)c.hazard_ipis);

    mmput(other);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* ---- the IPIs of an exit, per mode ----------------------------------------- */

/*
 * Every CPU but 0 borrows mm when its last user goes, on CPU 0 (which never
 * ran it): b = n - 1 borrowers.  An exit's IPIs come in rounds:
 *   the teardown's: the last mmput's flush frees page tables, so it calls
 *     every CPU of the cpumask, lazy or not - b IPIs, in every mode;
 *   the lifetime round: shootdown's exit shootdown (the cpumask: b),
 *     hazard's calls to the CPUs whose slot holds mm (b), refcount's
 *     lazy_mm_drop_borrowers as the reaper calls it (every other online
 *     CPU: b) - and none in mmput mode, where the teardown's round ended
 *     the borrows.
 * So 2b IPIs in refcount, shootdown and hazard, b in mmput: half.
 */
static void test_exit_ipis_per_mode(struct ktest *t)
{
    unsigned n = nr_cpus_online;
    if (n < 2)
        KTEST_SKIP(t, "needs two CPUs: one exits, another borrows");
    uint64_t b = n - 1;
    unsigned mms = mm_live_count();
    struct mm *mm = mm_with_page();
    ASSERT_TRUE(t, mm != NULL);
    for (unsigned cpu = 1; cpu < n; cpu++)
        ASSERT_TRUE(t, leave_borrowing(t, mm, cpu));

    struct counter_snapshot s;
    counters_snapshot(&s);
    mmput(mm);                  /* the last user; in all but refcount the last mmdrop */
    if (lazy_mm_mode == LAZY_MM_REFCOUNT)
        lazy_mm_drop_borrowers(mm);     /* what process_reap does in this mode */
    EXPECT_EQ(t, mm_live_count(), mms);

    uint64_t teardown = counter_delta(&s, COUNTER(lazy, teardown_ipis));
    uint64_t lifetime = counter_delta(&s, COUNTER(lazy, exit_shootdown_ipis)) +
                        counter_delta(&s, COUNTER(lazy, hazard_ipis)) +
                        counter_delta(&s, COUNTER(lazy, drop_ipis));
    EXPECT_EQ(t, teardown, b);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, ipi_sent)), b);   /* the teardown's, nothing else */
    EXPECT_EQ(t, lifetime, lazy_mm_mode == LAZY_MM_MMPUT ? 0 : b);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(lazy, borrow_drop)), b);
    ktest_log("lazy_mm=%s: %llu borrowers: %llu exit IPIs (teardown %llu + lifetime %llu)",
              lazy_mm_mode_name(), (unsigned long long)b, (unsigned long long)(teardown + lifetime),
              (unsigned long long)teardown, (unsigned long long)lifetime);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* ---- lazy_mm_drop_borrowers in every mode --------------------------------- */

/*
 * Every CPU but 0 borrows mm; lazy_mm_drop_borrowers(NULL) (what the leak
 * checks call) ends each borrow - leave_mm, active_mm = init_mm, the mode's
 * release - while the mm itself stays: the test still holds its user
 * reference.  The last mmput then frees it with nobody left to call (the
 * shootdown still calls the cpumask, whose CPUs find nothing to drop, and
 * so does mmput mode's teardown flush).
 */
static void test_drop_borrowers(struct ktest *t)
{
    unsigned n = nr_cpus_online;
    if (n < 2)
        KTEST_SKIP(t, "needs two CPUs: one asks, another borrows");
    unsigned mms = mm_live_count();
    struct mm *mm = mm_with_page();
    ASSERT_TRUE(t, mm != NULL);
    for (unsigned cpu = 1; cpu < n; cpu++)
        ASSERT_TRUE(t, leave_borrowing(t, mm, cpu));

    struct counter_snapshot s;
    counters_snapshot(&s);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(lazy, borrow_drop)), (uint64_t)n - 1);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(mm, count_atomics)),
              lazy_mm_mode == LAZY_MM_REFCOUNT ? (uint64_t)n - 1 : 0u);   /* the mmdrops */
    for (unsigned cpu = 1; cpu < n; cpu++)
        EXPECT_EQ(t, lazy_mm_hazard_slot(cpu), (struct mm *)NULL);
    EXPECT_EQ(t, mm_live_count(), mms + 1);
    EXPECT_EQ(t, atomic_load(&mm->mm_count), 1);        /* the users' reference alone */

    counters_snapshot(&s);
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(lazy, borrow_drop)), 0u);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(lazy, hazard_ipis)), 0u);
}

/* ---- hazard slots follow the borrow ---------------------------------------- */

struct slot_watch {
    struct mm *mm;
    struct mm *as_user, *while_borrowed, *after;
    _Atomic bool borrowing, go_on;
};

static void slot_borrower_fn(void *arg)
{
    struct slot_watch *w = arg;
    atomic_store(&w->borrowing, true);
    SPIN_UNTIL(atomic_load(&w->go_on));
}

static void slot_user_fn(void *arg)
{
    struct slot_watch *w = arg;
    unsigned cpu = this_cpu_id();
    w->as_user = lazy_mm_hazard_slot(cpu);
    /* A kernel thread on this CPU: user -> kernel starts the borrow. */
    struct task *k = kthread_create(slot_borrower_fn, w, "lazy-borrower");
    if (!k)
        return;
    kthread_bind(k, cpu);
    kthread_start(k);
    while (!atomic_load(&w->borrowing))
        yield();
    /* CPU 0 reads the slot while the kernel thread spins; we sleep in the
     * join (a timer preemption may run us meanwhile: the slot is NULL then,
     * and the borrow starts again when we block). */
    kthread_join(k);
    w->after = lazy_mm_hazard_slot(cpu);
    lazy_mm_exit_mm(current_task());
}

/*
 * hazard mode: a CPU's slot names the user mm its current kernel thread
 * borrows, NULL while a user task runs and after the borrow ended.
 */
static void test_hazard_slot(struct ktest *t)
{
    if (lazy_mm_mode != LAZY_MM_HAZARD)
        KTEST_SKIP(t, "hazard slots are used in lazy_mm=hazard mode only");
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs: one watches the other's slot");
    unsigned cpu = nr_cpus_online - 1;
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    struct slot_watch w = { .mm = mm };
    struct task *th = user_thread(mm, cpu, slot_user_fn, &w);
    ASSERT_TRUE(t, th != NULL);
    kthread_start(th);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&w.borrowing)));
    /* The kernel thread spins on `cpu`, borrowing mm from the user thread. */
    EXPECT_TRUE(t, SPIN_UNTIL(lazy_mm_hazard_slot(cpu) == mm));
    w.while_borrowed = lazy_mm_hazard_slot(cpu);
    atomic_store(&w.go_on, true);
    EXPECT_EQ(t, kthread_join(th), 0);

    EXPECT_EQ(t, w.as_user, (struct mm *)NULL);
    EXPECT_EQ(t, w.while_borrowed, mm);
    EXPECT_EQ(t, w.after, (struct mm *)NULL);       /* back to the user thread: ended */
    mmput(mm);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static const struct ktest_case lazy_mm_cases[] = {
    KTEST_CASE(test_round_trip_atomics),
    KTEST_CASE(test_exit_while_borrowed_here),
    KTEST_CASE(test_exit_calls_borrowers),
    KTEST_CASE(test_exit_ipis_per_mode),
    KTEST_CASE(test_drop_borrowers),
    KTEST_CASE(test_hazard_slot),
    {0},
};

KTEST_SUITE(lazy_mm, lazy_mm_cases);
