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
    flush_tlb_mm_range(mm, ADDR, ADDR + PAGE_SIZE, false);
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
    KTEST_CASE(test_invpcid_types),
    {0},
};

KTEST_SUITE(tlb_pcid, tlb_pcid_cases);
