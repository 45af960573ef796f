/*
 * tests/test_pt_walk.c - the lockless page-table walk (kernel/mm/pt_walk.c)
 * and the freeing of page tables under it (kernel/mm/pt_free.c, pt_free=).
 *
 * The fast path of copy_from_user / copy_to_user must copy mapped pages
 * without the mm's lock and hand everything unusual to the slow path; a
 * walker inside a table must keep it allocated however the unmap frees it
 * (pt_free=ipi: the flush IPI waits for the walker's interrupts-off
 * bracket; pt_free=rcu: the table waits for a grace period); and walkers on
 * every CPU copying while another thread maps and unmaps page tables away
 * must only ever read the data of mapped pages.  The suite runs in every
 * row (pt_free=ipi) and in smp4-pt_rcu (pt_free=rcu); the checker's
 * table_release rule watches every boot, and inject-pt_free_no_gp proves
 * that it catches a table freed without the grace period.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include "mm_test_util.h"
#include <kernel/pt_walk.h>
#include <kernel/mm.h>
#include <kernel/rcu.h>
#include <kernel/kmalloc.h>
#include <kernel/page_alloc.h>
#include <kernel/sched.h>
#include <kernel/debug/counters.h>
#include <arch/pte.h>
#include <arch/uaccess.h>
#include <uapi/shootdown.h>
#include <lib/string.h>
#include <stdatomic.h>

DECLARE_COUNTER(mm, uaccess_fast_pages);
DECLARE_COUNTER(mm, uaccess_fast_fallbacks);
DECLARE_COUNTER(mm, pt_freed_now);
DECLARE_COUNTER(mm, pt_deferred);
DECLARE_COUNTER(mm, pt_freed_rcu);
DECLARE_COUNTER(tlb, ipi_sent);
#define C(name) (&counter_desc__mm__##name)

#define RW      (SD_PROT_READ | SD_PROT_WRITE)
/* Alone in its page tables (a fresh PML4 entry): unmapping its only page
 * frees a PT, a PD and a PDPT. */
#define LONE    0x7e0000000000ul
#define REGION  0x10000000ul
#define MAGIC   0x5157414c4b4f4b21ull

/* ---- the fast path, on one CPU ---- */

struct copy_case {
    struct ktest *t;
    struct mm *mm;
    _Atomic bool done;
};

static void copies_body(void *arg)
{
    struct copy_case *c = arg;
    struct ktest *t = c->t;
    static char out[3 * PAGE_SIZE], in[3 * PAGE_SIZE];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (char)(i * 7 + 3);
    uintptr_t dst = REGION + 100;   /* not page aligned: 4 pages touched */

    /* Not faulted in yet: the fast path hands it to the slow path. */
    uint64_t fast0 = counter_sum(C(uaccess_fast_pages)), fb0 = counter_sum(C(uaccess_fast_fallbacks));
    EXPECT_EQ(t, copy_to_user((void *)dst, out, sizeof(out)), 0);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_fallbacks)) - fb0, 1u);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_pages)) - fast0, 0u);

    /* Mapped and writable now: all four pages by the fast path. */
    fast0 = counter_sum(C(uaccess_fast_pages));
    fb0 = counter_sum(C(uaccess_fast_fallbacks));
    EXPECT_EQ(t, copy_to_user((void *)dst, out, sizeof(out)), 0);
    EXPECT_EQ(t, copy_from_user(in, (const void *)dst, sizeof(in)), 0);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_pages)) - fast0, 8u);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_fallbacks)) - fb0, 0u);
    EXPECT_EQ(t, memcmp(in, out, sizeof(in)), 0);

    /* Small copies (a system call's arguments, an IPC message) are left to
     * the copy instructions: no walk, no frame reference. */
    fast0 = counter_sum(C(uaccess_fast_pages));
    fb0 = counter_sum(C(uaccess_fast_fallbacks));
    EXPECT_EQ(t, copy_to_user((void *)dst, out + 1, UACCESS_FAST_MIN - 1), 0);
    EXPECT_EQ(t, copy_from_user(in, (const void *)dst, UACCESS_FAST_MIN - 1), 0);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_pages)) - fast0, 0u);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_fallbacks)) - fb0, 0u);
    EXPECT_EQ(t, memcmp(in, out + 1, UACCESS_FAST_MIN - 1), 0);
    EXPECT_EQ(t, copy_to_user((void *)dst, out, UACCESS_FAST_MIN - 1), 0);

    /* Read-only: reading is fast, writing falls back and faults. */
    EXPECT_EQ(t, mm_protect(c->mm, REGION, PAGE_SIZE, SD_PROT_READ), 0);
    fb0 = counter_sum(C(uaccess_fast_fallbacks));
    EXPECT_EQ(t, copy_to_user((void *)(REGION + 8), out, UACCESS_FAST_MIN), -SD_EFAULT);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_fallbacks)) - fb0, 1u);
    fast0 = counter_sum(C(uaccess_fast_pages));
    EXPECT_EQ(t, copy_from_user(in, (const void *)(REGION + 100), UACCESS_FAST_MIN), 0);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_pages)) - fast0, 1u);
    EXPECT_EQ(t, memcmp(in, out, UACCESS_FAST_MIN), 0);
    /* No access (a kernel-only entry on x86): the fast path refuses it
     * and leaves the page to the slow path. */
    EXPECT_EQ(t, mm_protect(c->mm, REGION, PAGE_SIZE, 0), 0);
    fb0 = counter_sum(C(uaccess_fast_fallbacks));
    copy_from_user(in, (const void *)(REGION + 100), UACCESS_FAST_MIN);
    EXPECT_EQ(t, counter_sum(C(uaccess_fast_fallbacks)) - fb0, 1u);
    /* Unmapped: the slow path's fault says EFAULT. */
    EXPECT_EQ(t, copy_from_user(in, (const void *)(REGION + 16 * PAGE_SIZE), 8), -SD_EFAULT);
    unuse_mm(c->mm);
    atomic_store(&c->done, true);
}

static void test_fast_path_copies(struct ktest *t)
{
    struct copy_case c = { .t = t };
    c.mm = mm_create();
    ASSERT_TRUE(t, c.mm != NULL);
    ASSERT_EQ(t, mm_map_anon(c.mm, REGION, 8 * PAGE_SIZE, RW), 0);
    struct task *th = mm_thread_start(copies_body, &c, "ptwalk-copies", c.mm, 0);
    ASSERT_TRUE(t, th != NULL);
    kthread_join(th);
    EXPECT_TRUE(t, atomic_load(&c.done));
    mmput(c.mm);
}

/* ---- a walker inside a table keeps it allocated ---- */

struct inside {
    struct mm *mm;
    _Atomic bool entered, found, gone_seen, freed_while_inside, slot_intact;
};

static uint64_t tables_freed(void)
{
    return counter_sum(C(pt_freed_now)) + counter_sum(C(pt_freed_rcu));
}

static void inside_walker(void *arg)
{
    struct inside *in = arg;
    struct pt_walk w;
    struct arch_pte_ref ref;
    phys_addr_t frame;
    pt_walk_begin(&w);
    atomic_store(&in->found, arch_pte_lookup_lockless(in->mm, LONE, false, &ref, &frame));
    uint64_t freed = tables_freed(), deferred = counter_sum(C(pt_deferred));
    uint64_t ipis = counter_sum(&counter_desc__tlb__ipi_sent);
    atomic_store(&in->entered, true);
    /* Stay in the PT while the other CPU unmaps the page and unhooks the
     * tables: with pt_free=ipi until the leaf is gone and the unmapper's
     * flush IPI was sent (it then waits for this CPU's interrupts); with
     * pt_free=rcu until the flush returned and the tables were handed on
     * to be freed. */
    if (pt_free_mode == PT_FREE_IPI)
        atomic_store(&in->gone_seen, SPIN_UNTIL(!arch_pte_lookup_lockless(in->mm, LONE, false, &ref, &frame)
                                                 && READ_ONCE(*ref.slot) == 0
                                                 && counter_sum(&counter_desc__tlb__ipi_sent) != ipis));
    else
        atomic_store(&in->gone_seen, SPIN_UNTIL(counter_sum(C(pt_deferred)) != deferred
                                                 || tables_freed() != freed));
    /* Then five more ticks of cpu 0, the unmapper's: time enough for a
     * free that does not wait for us (the bug) to happen under our feet.
     * The counters move after the free (and its check). */
    uint64_t ticks = sched_ticks(0);
    SPIN_UNTIL(sched_ticks(0) >= ticks + 5 || tables_freed() != freed);
    /* The table we are in is still allocated: nothing freed it. */
    struct page *pt = pa_to_page(virt_to_phys((void *)ref.slot));
    atomic_store(&in->freed_while_inside, tables_freed() != freed || !(READ_ONCE(pt->flags) & PG_ALLOCATED));
    atomic_store(&in->slot_intact, READ_ONCE(*ref.slot) == 0);
    pt_walk_end(&w);
    unuse_mm(in->mm);
}

static void test_walker_keeps_table(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "the walker needs a CPU of its own");
    static struct inside in;
    memset(&in, 0, sizeof(in));
    in.mm = mm_create();
    ASSERT_TRUE(t, in.mm != NULL);
    ASSERT_EQ(t, mm_map_anon(in.mm, LONE, PAGE_SIZE, RW), 0);
    uint64_t v = MAGIC;
    ASSERT_EQ(t, mm_write(in.mm, LONE, &v, sizeof(v)), 0);
    pt_free_drain();    /* the tables earlier tests freed are gone: only ours count */
    uint64_t freed0 = tables_freed();

    struct task *w = mm_thread_start(inside_walker, &in, "ptwalk-inside", in.mm, 1);
    ASSERT_TRUE(t, w != NULL);
    ASSERT_TRUE(t, SPIN_UNTIL(atomic_load(&in.entered)));
    EXPECT_TRUE(t, atomic_load(&in.found));
    EXPECT_EQ(t, mm_unmap(in.mm, LONE, PAGE_SIZE), 0);     /* frees PT, PD, PDPT */
    kthread_join(w);
    EXPECT_TRUE(t, atomic_load(&in.gone_seen));
    EXPECT_FALSE(t, atomic_load(&in.freed_while_inside));
    EXPECT_TRUE(t, atomic_load(&in.slot_intact));
    pt_free_drain();
    EXPECT_EQ(t, tables_freed() - freed0, 3u);
    mmput(in.mm);
}

/* ---- walkers on every CPU while tables come and go ---- */

#define CHURN_ROUNDS 150
#define CHURN_PAGES  4

struct churn {
    struct mm *mm;
    _Atomic bool stop;
    _Atomic uint64_t copies_ok, copies_fault, bad_words, first_bad;
};

static void churn_copier(void *arg)
{
    struct churn *c = arg;
    size_t words = CHURN_PAGES * PAGE_SIZE / 8;
    uint64_t *buf = kmalloc(words * 8);     /* too big for a kernel stack */
    while (buf && !atomic_load(&c->stop)) {
        if (copy_from_user(buf, (const void *)LONE, words * 8) == 0) {
            /* MAGIC, or 0 from a page faulted in (demand-zero) between
             * the map and the write - or, for a copy that raced with
             * mm_write's byte copy, a word torn between the two: each
             * byte MAGIC's or 0.  Never anything else. */
            for (size_t i = 0; i < words; i++)
                for (unsigned b = 0; b < 8; b++) {
                    uint8_t got = (uint8_t)(buf[i] >> (8 * b)), want = (uint8_t)(MAGIC >> (8 * b));
                    if (got != want && got != 0) {
                        if (atomic_fetch_add(&c->bad_words, 1) == 0)
                            atomic_store(&c->first_bad, buf[i]);
                        break;
                    }
                }
            atomic_fetch_add(&c->copies_ok, 1);
        } else {
            atomic_fetch_add(&c->copies_fault, 1);
        }
    }
    if (!buf)
        atomic_fetch_add(&c->bad_words, 1);
    kfree(buf);
    unuse_mm(c->mm);
}

static void test_walkers_vs_unmap(struct ktest *t)
{
    static struct churn c;
    static uint64_t fill[CHURN_PAGES * PAGE_SIZE / 8];
    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(fill) / 8; i++)
        fill[i] = MAGIC;
    c.mm = mm_create();
    ASSERT_TRUE(t, c.mm != NULL);
    ASSERT_EQ(t, mm_map_anon(c.mm, LONE, sizeof(fill), RW), 0);
    ASSERT_EQ(t, mm_write(c.mm, LONE, fill, sizeof(fill)), 0);

    struct task *th[MAX_CPUS];
    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        if (cpu == 0 && nr_cpus_online > 1)
            continue;
        th[n] = mm_thread_start(churn_copier, &c, "ptwalk-copier", c.mm, cpu);
        ASSERT_TRUE(t, th[n] != NULL);
        n++;
    }
    pt_free_drain();    /* only this test's tables count */
    uint64_t freed0 = tables_freed(), fast0 = counter_sum(C(uaccess_fast_pages));
    for (unsigned r = 0; r < CHURN_ROUNDS; r++) {
        /* Gone: the tables with it; back: new tables, new frames. */
        EXPECT_EQ(t, mm_unmap(c.mm, LONE, sizeof(fill)), 0);
        uint64_t seen = atomic_load(&c.copies_fault) + atomic_load(&c.copies_ok);
        SPIN_UNTIL(atomic_load(&c.copies_fault) + atomic_load(&c.copies_ok) > seen);
        EXPECT_EQ(t, mm_map_anon(c.mm, LONE, sizeof(fill), RW), 0);
        EXPECT_EQ(t, mm_write(c.mm, LONE, fill, sizeof(fill)), 0);
        seen = atomic_load(&c.copies_ok);
        SPIN_UNTIL(atomic_load(&c.copies_ok) > seen);
    }
    atomic_store(&c.stop, true);
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    pt_free_drain();
    ktest_log("pt_free=%s, %u copiers: %llu copies, %llu faulted, %llu pages fast, %llu tables freed",
              pt_free_mode == PT_FREE_RCU ? "rcu" : "ipi", n,
              (unsigned long long)atomic_load(&c.copies_ok), (unsigned long long)atomic_load(&c.copies_fault),
              (unsigned long long)(counter_sum(C(uaccess_fast_pages)) - fast0),
              (unsigned long long)(tables_freed() - freed0));
    if (atomic_load(&c.bad_words))
        ktest_log("first bad word: %#llx", (unsigned long long)atomic_load(&c.first_bad));
    EXPECT_EQ(t, atomic_load(&c.bad_words), 0u);
    EXPECT_GE(t, atomic_load(&c.copies_ok), (uint64_t)CHURN_ROUNDS);
    EXPECT_GE(t, counter_sum(C(uaccess_fast_pages)) - fast0, (uint64_t)CHURN_ROUNDS);
    /* Each unmap freed the region's PT, PD and PDPT. */
    EXPECT_EQ(t, tables_freed() - freed0, (uint64_t)3 * CHURN_ROUNDS);
    mmput(c.mm);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_fast_path_copies),
    KTEST_CASE(test_walker_keeps_table),
    KTEST_CASE(test_walkers_vs_unmap),
    {0},
};
KTEST_SUITE(pt_walk, cases);
