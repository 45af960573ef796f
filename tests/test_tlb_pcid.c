/*
 * tests/test_tlb_pcid.c - what PCID saves, in counts (docs/tlb.md; runs on
 * Bochs, whose CPU model has PCID and INVPCID; QEMU TCG has neither, and
 * pcid=off turns it off: then the tests skip and say why).
 *
 * The ASID cache holds TLB_NR_ASIDS address spaces per CPU.  Cycling among
 * exactly that many on one CPU, every switch finds its mm cached and up to
 * date once warm: CR3 written with NOFLUSH, never a flushing write.  One mm
 * more and the round-robin eviction (which a hit does not delay) throws out
 * mms still in the cycle: every other switch misses, evicts and flushes.
 *
 * "User" threads are kernel threads that adopt an mm (t->mm set before they
 * start), as in test_tlb_counters.c, all bound to the last CPU; the
 * scheduler switches among them in FIFO order at every yield.
 *
 * Two tests pin each case of the slot choice (choose_asid in
 * arch/x86_64/mm/tlb_switch.c; labs/asid grades with them) independently of
 * the schedule: asids_round_robin calls switch_mm itself, with interrupts
 * off, through a fixed sequence of mms; asids_stale_hit makes a slot stale
 * the one way the TLB core allows (a flush that skipped the CPU) and checks
 * the switch back.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/cpumask.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/preempt.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/wait.h>
#include <arch/x86/cpufeatures.h>
#include <arch/mmu_context.h>
#include <arch/paging.h>
#include <arch/x86/tlbstate.h>
#include <arch/x86/x86.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(tlb, cr3_write_flush);
DECLARE_COUNTER(tlb, cr3_write_noflush);
DECLARE_COUNTER(tlb, asid_hit);
DECLARE_COUNTER(tlb, asid_miss);
DECLARE_COUNTER(tlb, asid_evict);
DECLARE_COUNTER(tlb, invpcid_single);
DECLARE_COUNTER(tlb, invpcid_all_global);
DECLARE_COUNTER(tlb, pge_toggle);
DECLARE_COUNTER(tlb, cpumask_cleared);
DECLARE_COUNTER(tlb, ipi_sent);
DECLARE_COUNTER(switch, mm);

#define ADDR    0x400000ul
#define RW      (SD_PROT_READ | SD_PROT_WRITE)
#define WARM_LAPS 3
#define ROUNDS  (4 * (TLB_NR_ASIDS + 1))
#define MAX_MMS (TLB_NR_ASIDS + 1)
#define FAR     0x7f0000000000ul        /* a page with page tables of its own */

/* Why PCID is not in use, or NULL. */
static const char *no_pcid(void)
{
    if (!cpu_features.pcid)
        return "the CPU has no PCID (QEMU TCG lacks it; Bochs has it)";
    if (!cpu_features.pge)
        return "the CPU has no PGE (PCID is only used with global kernel pages)";
    if (!tlb_use_pcid)
        return "PCID turned off with pcid=off";
    return NULL;
}
#define SKIP_WITHOUT_PCID(t)                    \
    do {                                        \
        const char *__why = no_pcid();          \
        if (__why)                              \
            KTEST_SKIP(t, __why);               \
    } while (0)

/* What the first cycler saw on its CPU between warm and done. */
struct cycle {
    unsigned nmms;
    _Atomic unsigned laps[MAX_MMS];
    _Atomic bool stop;
    uint64_t flush, noflush, hit, miss, evict, switches;
};

struct cycler {
    struct cycle *c;
    unsigned idx;
};

static bool all_warm(struct cycle *c)
{
    for (unsigned i = 0; i < c->nmms; i++)
        if (atomic_load(&c->laps[i]) < WARM_LAPS)
            return false;
    return true;
}

static void cycler_fn(void *arg)
{
    struct cycler *me = arg;
    struct cycle *c = me->c;
    struct mm *mm = current_task()->mm;
    if (me->idx == 0) {
        while (!all_warm(c)) {
            atomic_fetch_add(&c->laps[0], 1);
            yield();
        }
        /* Snapshot with preemption off: no switch between the reads. */
        struct counter_snapshot s;
        unsigned cpu = this_cpu_id();       /* bound: stays put */
        preempt_disable();
        counters_snapshot_cpu(&s, cpu);
        preempt_enable();
        for (unsigned i = 0; i < ROUNDS; i++)
            yield();
        preempt_disable();
        c->flush = counter_delta(&s, COUNTER(tlb, cr3_write_flush));
        c->noflush = counter_delta(&s, COUNTER(tlb, cr3_write_noflush));
        c->hit = counter_delta(&s, COUNTER(tlb, asid_hit));
        c->miss = counter_delta(&s, COUNTER(tlb, asid_miss));
        c->evict = counter_delta(&s, COUNTER(tlb, asid_evict));
        c->switches = counter_delta(&s, COUNTER(switch, mm));
        preempt_enable();
        atomic_store(&c->stop, true);
    } else {
        while (!atomic_load(&c->stop)) {
            atomic_fetch_add(&c->laps[me->idx], 1);
            yield();
        }
    }
    unuse_mm(mm);
}

/* Run nmms cyclers, one mm each, on the last CPU. */
static void run_cycle(struct ktest *t, struct cycle *c)
{
    unsigned cpu = nr_cpus_online - 1;
    unsigned mms = mm_live_count();
    struct cycler cy[MAX_MMS];
    struct task *th[MAX_MMS];
    for (unsigned i = 0; i < c->nmms; i++) {
        struct mm *mm = mm_create();
        ASSERT_TRUE(t, mm != NULL);
        cy[i] = (struct cycler){ c, i };
        th[i] = kthread_create(cycler_fn, &cy[i], "pcid-cycler");
        ASSERT_TRUE(t, th[i] != NULL);
        th[i]->mm = th[i]->active_mm = mm;      /* its user reference */
        kthread_bind(th[i], cpu);
    }
    for (unsigned i = 0; i < c->nmms; i++)
        kthread_start(th[i]);
    for (unsigned i = 0; i < c->nmms; i++)
        EXPECT_EQ(t, kthread_join(th[i]), 0);
    lazy_mm_drop_borrowers(NULL);   /* the CPU still borrows the last one lazily */
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* As many mms as ASID slots: once warm, every switch is a NOFLUSH hit. */
static void test_asids_warm(struct ktest *t)
{
    SKIP_WITHOUT_PCID(t);
    struct cycle c = { .nmms = TLB_NR_ASIDS };
    run_cycle(t, &c);
    EXPECT_GE(t, c.noflush, (uint64_t)ROUNDS);
    EXPECT_EQ(t, c.flush, 0u);
    EXPECT_EQ(t, c.miss, 0u);
    EXPECT_EQ(t, c.evict, 0u);
    EXPECT_EQ(t, c.hit, c.noflush);
    EXPECT_EQ(t, c.hit, c.switches);
}

/* One mm more: the cache no longer holds the whole cycle - switches miss,
 * evict another mm's slot and write CR3 flushing. */
static void test_asids_one_too_many(struct ktest *t)
{
    SKIP_WITHOUT_PCID(t);
    struct cycle c = { .nmms = TLB_NR_ASIDS + 1 };
    run_cycle(t, &c);
    EXPECT_GE(t, c.miss, (uint64_t)ROUNDS);
    EXPECT_EQ(t, c.evict, c.miss);
    EXPECT_EQ(t, c.flush, c.miss);
    EXPECT_EQ(t, c.noflush, c.hit);
    EXPECT_EQ(t, c.hit + c.miss, c.switches);
    /* How the switches split into hits and misses depends on where the
     * timer's preemptions fall among the yields, not only on the cache: on
     * Bochs (deterministic) this kernel gives 98 hits and 98 misses, and the
     * same kernel with a 30-iteration delay loop in raw_spin_lock and
     * raw_spin_unlock gives 129 and 67.  So only what holds for every
     * schedule is asserted: seven mms cannot fit six slots, so each lap of
     * the seven misses at least once (c.miss >= ROUNDS above), and each miss
     * evicts and flushes. */
}

/* ---- the slot choice, one switch at a time ----------------------------------- */

/*
 * The sequence of mms (indices into rr_run.mms) that the round-robin test
 * switches through, and what each switch must do.  c is the CPU's eviction
 * cursor (next_asid) before the first switch; slots are (c + k) % 6.
 *   0..5       six new mms: each misses and takes the next slot (c, c+1, ...)
 *   0..5       each hits its slot, up to date: NOFLUSH
 *   6          a seventh: misses, evicts slot c (mm 0's) - the cursor, not
 *              the least recently used slot, picks the victim
 *   0          misses (evicted), takes slot c+1 from mm 1
 *   1          misses likewise, takes slot c+2 from mm 2
 *   3          hits slot c+3: the misses above did not touch it
 *   6          hits slot c
 *   2          misses (evicted by mm 1), takes slot c+3 from mm 3: hits do
 *              not move the cursor (if they did it would point at c+1), and
 *              the victim is not the least recently used slot (c+4, mm 4)
 */
static const unsigned rr_order[] = { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 0, 1, 3, 6, 2 };
#define RR_STEPS (sizeof(rr_order) / sizeof(rr_order[0]))

struct rr_expect {
    unsigned slot;              /* offset from the cursor c */
    bool hit;
};

static const struct rr_expect rr_want[RR_STEPS] = {
    {0, false}, {1, false}, {2, false}, {3, false}, {4, false}, {5, false},
    {0, true},  {1, true},  {2, true},  {3, true},  {4, true},  {5, true},
    {0, false}, {1, false}, {2, false}, {3, true},  {0, true},  {3, false},
};

struct rr_step {
    unsigned slot;              /* loaded_asid after the switch */
    bool slot_names_mm;         /* the slot holds the mm's ctx_id and tlb_gen */
    bool had_other;             /* the slot held another mm before (an eviction, if it missed) */
    uint64_t hit, miss, evict, flush, noflush;
};

struct rr_run {
    struct mm *mms[MAX_MMS];
    unsigned cursor;
    struct rr_step steps[RR_STEPS];
};

static uint64_t rr_count(const struct counter_desc *c, unsigned cpu, uint64_t *last)
{
    uint64_t now = counter_read_cpu(c, cpu);
    uint64_t d = now - *last;
    *last = now;
    return d;
}

static void rr_fn(void *arg)
{
    struct rr_run *r = arg;
    struct task *me = current_task();
    struct mm *own = me->mm;
    uint64_t flags = arch_irq_save();   /* no switch, no IPI: only ours */
    unsigned cpu = this_cpu_id();
    struct cpu_tlbstate *ts = this_tlbstate();
    r->cursor = ts->next_asid;
    uint64_t hit = counter_read_cpu(COUNTER(tlb, asid_hit), cpu);
    uint64_t miss = counter_read_cpu(COUNTER(tlb, asid_miss), cpu);
    uint64_t evict = counter_read_cpu(COUNTER(tlb, asid_evict), cpu);
    uint64_t flush = counter_read_cpu(COUNTER(tlb, cr3_write_flush), cpu);
    uint64_t noflush = counter_read_cpu(COUNTER(tlb, cr3_write_noflush), cpu);
    struct mm *prev = own;
    for (unsigned i = 0; i < RR_STEPS; i++) {
        struct mm *next = r->mms[rr_order[i]];
        struct rr_step *st = &r->steps[i];
        unsigned want = (r->cursor + rr_want[i].slot) % TLB_NR_ASIDS;
        st->had_other = ts->ctxs[want].ctx_id != 0 && ts->ctxs[want].ctx_id != next->ctx_id;
        switch_mm(prev, next, me);
        prev = next;
        st->slot = ts->loaded_asid;
        st->slot_names_mm = ts->ctxs[st->slot].ctx_id == next->ctx_id &&
                            ts->ctxs[st->slot].tlb_gen == atomic_load(&next->tlb_gen);
        st->hit = rr_count(COUNTER(tlb, asid_hit), cpu, &hit);
        st->miss = rr_count(COUNTER(tlb, asid_miss), cpu, &miss);
        st->evict = rr_count(COUNTER(tlb, asid_evict), cpu, &evict);
        st->flush = rr_count(COUNTER(tlb, cr3_write_flush), cpu, &flush);
        st->noflush = rr_count(COUNTER(tlb, cr3_write_noflush), cpu, &noflush);
    }
    switch_mm(prev, own, me);           /* our own mm again, as the scheduler left it */
    arch_irq_restore(flags);
    unuse_mm(own);
}

/*
 * Each case of the slot choice, on one CPU with interrupts off, through
 * rr_order: a miss takes the slot under the cursor and flushes (and counts
 * an eviction when the slot held another mm), an up-to-date hit keeps its
 * slot and loads NOFLUSH, and only misses move the cursor.  The slot
 * records the mm and the generation the switch read.
 */
static void test_asids_round_robin(struct ktest *t)
{
    SKIP_WITHOUT_PCID(t);
    unsigned mms = mm_live_count();
    struct rr_run r = { 0 };
    for (unsigned i = 0; i < MAX_MMS; i++) {
        r.mms[i] = mm_create();
        ASSERT_TRUE(t, r.mms[i] != NULL);
    }
    struct mm *own = mm_create();
    ASSERT_TRUE(t, own != NULL);
    struct task *th = mm_thread_start(rr_fn, &r, "pcid-rr", own, nr_cpus_online - 1);
    ASSERT_TRUE(t, th != NULL);
    EXPECT_EQ(t, kthread_join(th), 0);
    for (unsigned i = 0; i < RR_STEPS; i++) {
        const struct rr_step *st = &r.steps[i];
        bool hit = rr_want[i].hit;
        unsigned slot = (r.cursor + rr_want[i].slot) % TLB_NR_ASIDS;
        if (st->slot != slot || st->hit != hit || st->miss != !hit || st->flush != !hit ||
            st->noflush != hit || st->evict != (!hit && st->had_other) || !st->slot_names_mm)
            ktest_fail_at(t, __FILE__, __LINE__,
                          "switch %u (mm %u, cursor %u): slot %u (want %u), hit %llu miss %llu "
                          "evict %llu, CR3 flush %llu noflush %llu (want a %s), slot %s",
                          i, rr_order[i], r.cursor, st->slot, slot, (unsigned long long)st->hit,
                          (unsigned long long)st->miss, (unsigned long long)st->evict,
                          (unsigned long long)st->flush, (unsigned long long)st->noflush,
                          hit ? "NOFLUSH hit" : "flushing miss",
                          st->slot_names_mm ? "right" : "does not hold the mm at its generation");
    }
    for (unsigned i = 0; i < MAX_MMS; i++)
        mmput(r.mms[i]);
    mmput(own);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* The "user" thread of the stale-hit test: notes its slot, sleeps while
 * the test frees page tables of its mm, and notes what the switch back did. */
struct stale_user {
    struct mm *mm;
    struct semaphore sleep;
    _Atomic bool ready;
    unsigned slot_before, slot_after;
    uint64_t slot_gen_before, slot_gen_after, mm_gen_after;
    uint64_t hit, miss, flush;
};

static void stale_user_fn(void *arg)
{
    struct stale_user *u = arg;
    struct counter_snapshot s;
    unsigned cpu = this_cpu_id();       /* bound: stays put */
    uint64_t flags = arch_irq_save();
    struct cpu_tlbstate *ts = this_tlbstate();
    u->slot_before = ts->loaded_asid;
    u->slot_gen_before = ts->ctxs[ts->loaded_asid].tlb_gen;
    counters_snapshot_cpu(&s, cpu);
    arch_irq_restore(flags);
    atomic_store(&u->ready, true);
    /* Asleep: the idle task borrows the mm (lazy); the test's freed_tables
     * flush moves this CPU to init_mm (leave_mm), the slot keeps the mm at
     * its old generation.  Waking up switches init_mm -> mm: a stale hit. */
    down(&u->sleep);
    flags = arch_irq_save();
    u->slot_after = ts->loaded_asid;
    u->slot_gen_after = ts->ctxs[ts->loaded_asid].tlb_gen;
    u->mm_gen_after = atomic_load(&u->mm->tlb_gen);
    u->hit = counter_delta(&s, COUNTER(tlb, asid_hit));
    u->miss = counter_delta(&s, COUNTER(tlb, asid_miss));
    u->flush = counter_delta(&s, COUNTER(tlb, cr3_write_flush));
    arch_irq_restore(flags);
    unuse_mm(u->mm);
}

/*
 * A stale hit: the CPU's slot still names the mm, but a flush skipped the
 * CPU meanwhile (it was lazy, and the freed page tables made it leave the
 * mm rather than flush it).  The switch back must find the same slot (a
 * hit, not a miss) and load it with a flushing CR3 write, recording the
 * mm's current generation.  NOFLUSH here would keep paging-structure
 * caches of the freed tables: the checker reports it (op cr3_noflush).
 */
static void test_asids_stale_hit(struct ktest *t)
{
    SKIP_WITHOUT_PCID(t);
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs: one sleeps on the mm, another frees its tables");
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, FAR, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, FAR, true, false, false), 0);
    struct stale_user u = { .mm = mm };
    sema_init(&u.sleep, 0, "tlb_pcid.stale");
    struct task *th = mm_thread_start(stale_user_fn, &u, "pcid-stale", mm, nr_cpus_online - 1);
    ASSERT_TRUE(t, th != NULL);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&u.ready)));
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&th->state) == TASK_BLOCKED));
    EXPECT_EQ(t, mm_unmap(mm, FAR, PAGE_SIZE), 0);     /* frees FAR's page tables */
    up(&u.sleep);
    EXPECT_EQ(t, kthread_join(th), 0);

    EXPECT_GT(t, u.mm_gen_after, u.slot_gen_before);    /* the slot had gone stale */
    EXPECT_EQ(t, u.slot_after, u.slot_before);          /* the same slot: a hit */
    EXPECT_EQ(t, u.hit, 1u);
    EXPECT_EQ(t, u.miss, 0u);
    EXPECT_EQ(t, u.flush, 1u);                          /* the switch back flushed */
    EXPECT_EQ(t, u.slot_gen_after, u.mm_gen_after);     /* and caught up */
    mmput(mm);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/*
 * The INVPCID types in use (or their fallbacks with invpcid=off):
 *   type 2 (all, global too) for a kernel range above the ceiling, on every
 *     CPU - else a CR4.PGE toggle;
 *   type 1 (one PCID) when a flush finds its mm cached in a slot of a CPU
 *     that no longer runs it (the CPU drops its cpumask bit and the slot's
 *     translations) - else the slot is just marked invalid.
 */
static void test_invpcid_types(struct ktest *t)
{
    SKIP_WITHOUT_PCID(t);
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned n = nr_cpus_online;

    struct counter_snapshot s;
    counters_snapshot(&s);
    uintptr_t base = (uintptr_t)phys_to_virt(0);
    flush_tlb_kernel_range(base, base + (uintptr_t)(tlb_flush_ceiling + 1) * PAGE_SIZE);
    /* A CPU that was idle or in user mode flushes at its next kernel entry
     * (kflush_defer=on; its next tick at the latest), with the same
     * primitive: wait for all n, then count. */
    EXPECT_TRUE(t, SPIN_UNTIL(counter_delta(&s, COUNTER(tlb, invpcid_all_global)) +
                              counter_delta(&s, COUNTER(tlb, pge_toggle)) >= n));
    uint64_t type2 = counter_delta(&s, COUNTER(tlb, invpcid_all_global));
    uint64_t pge = counter_delta(&s, COUNTER(tlb, pge_toggle));
    if (tlb_use_invpcid) {
        EXPECT_EQ(t, type2, (uint64_t)n);
        EXPECT_EQ(t, pge, 0u);
    } else {
        EXPECT_EQ(t, type2, 0u);
        EXPECT_EQ(t, pge, (uint64_t)n);
    }

    /* A holder loads the mm on the last CPU, then leaves it (init_mm) and
     * exits; its ASID slot still caches the mm, its cpumask bit is stale. */
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, ADDR, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, ADDR, true, false, false), 0);
    struct holder h;
    struct task *th = holder_start(&h, mm, n - 1, "pcid-holder");
    ASSERT_TRUE(t, th != NULL);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.loaded)));
    atomic_store(&h.leave, true);
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_TRUE(t, cpumask_test_cpu(&mm->cpumask, n - 1));

    preempt_disable();
    bool self = this_cpu_id() == n - 1;
    counters_snapshot(&s);
    flush_tlb_mm_range(mm, ADDR, ADDR + PAGE_SIZE, false, TLB_CAUSE_TEST);
    uint64_t type1 = counter_delta(&s, COUNTER(tlb, invpcid_single));
    uint64_t cleared = counter_delta(&s, COUNTER(tlb, cpumask_cleared));
    preempt_enable();
    if (!self) {
        EXPECT_EQ(t, cleared, 1u);
        EXPECT_EQ(t, type1, tlb_use_invpcid ? 1u : 0u);
    }
    EXPECT_FALSE(t, cpumask_test_cpu(&mm->cpumask, n - 1));
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* CR4.PCIDE is what tlb_init chose, on every CPU (boot CPU and APs). */
static _Atomic unsigned pcide_on, pcide_off;

static void read_pcide(void *arg)
{
    (void)arg;
    if (read_cr4() & CR4_PCIDE)
        atomic_fetch_add(&pcide_on, 1);
    else
        atomic_fetch_add(&pcide_off, 1);
}

static void test_pcide_every_cpu(struct ktest *t)
{
    atomic_store(&pcide_on, 0);
    atomic_store(&pcide_off, 0);
    smp_call_all(read_pcide, NULL, true);
    EXPECT_EQ(t, atomic_load(&pcide_on), tlb_use_pcid ? nr_cpus_online : 0u);
    EXPECT_EQ(t, atomic_load(&pcide_off), tlb_use_pcid ? 0u : nr_cpus_online);
    /* PCID needs the CPU feature, and INVPCID is used only where it exists. */
    EXPECT_TRUE(t, !tlb_use_pcid || cpu_features.pcid);
    EXPECT_TRUE(t, !tlb_use_invpcid || cpu_features.invpcid);
}

static const struct ktest_case tlb_pcid_cases[] = {
    KTEST_CASE(test_pcide_every_cpu),
    KTEST_CASE(test_asids_warm),
    KTEST_CASE(test_asids_one_too_many),
    KTEST_CASE(test_asids_round_robin),
    KTEST_CASE(test_asids_stale_hit),
    KTEST_CASE(test_invpcid_types),
    {0},
};

KTEST_SUITE(tlb_pcid, tlb_pcid_cases);
