/*
 * tests/test_tlbcheck.c - the shadow-TLB checker (docs/tlbcheck.md).
 *
 * Part 1, the model on its own: a private instance (two CPUs, synthetic
 * mms) fed synthetic operations - including PCID switches and INVPCID that
 * no emulator here runs with a tagged TLB.  Each test checks that a correct
 * sequence is accepted and that the stale state is flagged with the right
 * operation, CPU and address.  Nothing here touches the live checker.
 *
 * Part 2, scenarios on the live system: each drives one code path that a
 * tlb_inject= fault breaks (the runner's inject-* rows boot this suite with
 * tlbcheck=on and one fault; the checker must then panic with its report).
 * Without a fault they pass in every configuration: what they assert is
 * the normal outcome (the data seen, the leak check).
 *
 * "User" threads are kernel threads that adopt an mm (tests/mm_test_util.h)
 * and touch its memory through copy_from_user, the kernel's access to user
 * memory the checker watches (tlbcheck_user_access).
 */
#include "ktest_suite.h"
#include "tlbcheck_test_util.h"
#include "user_test_util.h"
#include <arch/tlbcheck/model.h>
#include <arch/paging.h>
#include <arch/uaccess.h>
#include <arch/x86/x86.h>
#include <kernel/kmalloc.h>
#include <kernel/lazy_mm.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/wait.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

/* ==== part 1: the model ===================================================== */

#define VA(n)   (0x400000ul + (n) * PAGE_SIZE)
#define PTE(pa, f)  ((uint64_t)(pa) | PTE_P | PTE_U | (f))

struct model_env {
    struct tc_model md;
    struct tc_cpu *cpu;         /* [2] */
    struct tc_mm *a, *b;        /* ctx 1001, 1002 */
};

static bool env_init(struct model_env *e)
{
    e->cpu = kmalloc(2 * sizeof(struct tc_cpu));
    e->a = kmalloc(sizeof(struct tc_mm));
    e->b = kmalloc(sizeof(struct tc_mm));
    if (!e->cpu || !e->a || !e->b)
        return false;
    tc_cpu_init(&e->cpu[0], 0);
    tc_cpu_init(&e->cpu[1], 1);
    tc_mm_init(e->a, NULL, 1001, 0x1000);
    tc_mm_init(e->b, NULL, 1002, 0x2000);
    e->md = (struct tc_model){ .cpus = e->cpu, .ncpus = 2, .live = false };
    return true;
}

static void env_free(struct model_env *e)
{
    kfree(e->cpu);
    kfree(e->a);
    kfree(e->b);
}

#define ENV(t, e)                                                              \
    struct model_env e;                                                        \
    if (!env_init(&e)) {                                                       \
        env_free(&e);                                                          \
        ASSERT_TRUE(t, false);                                                 \
    }

/* CPU c user-accesses; returns the number of violations it caused. */
static unsigned access(struct model_env *e, unsigned c)
{
    unsigned before = e->md.violations;
    tc_check_user_access(&e->md, &e->cpu[c], "user_access");
    return e->md.violations - before;
}

/* A munmap of va in m: the PTE change, then the flush bracket. */
static uint64_t unmap_begin(struct tc_mm *m, uintptr_t va)
{
    tc_pte_change(m, va, PTE(0x5000, PTE_W), 0);
    return tc_flush_begin(m);
}

static void model_exempt_changes(struct ktest *t)
{
    EXPECT_FALSE(t, tc_pte_change_needs_flush(0, PTE(0x5000, PTE_W)));           /* not present -> present */
    EXPECT_FALSE(t, tc_pte_change_needs_flush(PTE(0x5000, 0), PTE(0x5000, PTE_W))); /* W added */
    EXPECT_FALSE(t, tc_pte_change_needs_flush(PTE(0x5000, PTE_NX), PTE(0x5000, 0))); /* NX removed */
    EXPECT_FALSE(t, tc_pte_change_needs_flush(PTE(0x5000, 0), PTE(0x5000, PTE_A | PTE_D)));
    EXPECT_TRUE(t, tc_pte_change_needs_flush(PTE(0x5000, PTE_W), 0));            /* unmapped */
    EXPECT_TRUE(t, tc_pte_change_needs_flush(PTE(0x5000, PTE_W), PTE(0x5000, 0))); /* W removed (fork) */
    EXPECT_TRUE(t, tc_pte_change_needs_flush(PTE(0x5000, 0), PTE(0x6000, PTE_W))); /* new frame (COW) */
    EXPECT_TRUE(t, tc_pte_change_needs_flush(PTE(0x5000, 0), PTE(0x5000, PTE_NX)));
}

/* No PCID: every CR3 write flushes; a change is stale until INVLPG. */
static void model_invlpg_covers_one_page(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 1001, 0, false, false);
    EXPECT_EQ(t, access(&e, 0), 0u);
    uint64_t tok = unmap_begin(e.a, VA(1));
    tc_invlpg(&e.md, &e.cpu[0], VA(2));         /* the wrong page */
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "flush_end");
    EXPECT_EQ(t, e.md.last_addr, VA(1));
    EXPECT_EQ(t, access(&e, 0), 1u);            /* still stale */
    tc_invlpg(&e.md, &e.cpu[0], VA(1) + 0x123);  /* any address in the page */
    EXPECT_EQ(t, access(&e, 0), 0u);
    /* A second change of the same page after the INVLPG is not covered. */
    tok = unmap_begin(e.a, VA(1));
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 3u);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 1001, 0, false, false);   /* reload: full flush */
    EXPECT_EQ(t, access(&e, 0), 0u);
    env_free(&e);
}

/* skip_ipi's model: a CPU running the mm that does not flush. */
static void model_flush_end_needs_every_running_cpu(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 1001, 0, false, false);
    tc_cr3_write(&e.md, &e.cpu[1], e.a, 1001, 0, false, false);
    uint64_t tok = unmap_begin(e.a, VA(3));
    tc_invlpg(&e.md, &e.cpu[0], VA(3));         /* only the initiator */
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(3));
    /* Correct: both flush. */
    tok = unmap_begin(e.a, VA(4));
    tc_invlpg(&e.md, &e.cpu[0], VA(4));
    tc_invlpg(&e.md, &e.cpu[1], VA(3));
    tc_invlpg(&e.md, &e.cpu[1], VA(4));
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_EQ(t, access(&e, 1), 0u);
    env_free(&e);
}

/* skip_catchup's model: a lazy CPU is not checked at flush end, but must
 * have caught up by the time it uses user translations again. */
static void model_lazy_catch_up(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[1], e.a, 1001, 0, false, false);
    e.cpu[1].lazy = true;
    uint64_t tok = unmap_begin(e.a, VA(5));
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 0u);          /* lazy: no IPI needed */
    e.cpu[1].lazy = false;                      /* back without catching up */
    EXPECT_EQ(t, access(&e, 1), 1u);
    EXPECT_STREQ(t, e.md.last_op, "user_access");
    EXPECT_EQ(t, e.md.last_addr, VA(5));
    tc_invpcid(&e.md, &e.cpu[1], 1, 0, 0);      /* the catch-up: flush the PCID */
    EXPECT_EQ(t, access(&e, 1), 0u);
    env_free(&e);
}

/* noflush_stale's model: PCIDs keep other mms' entries across switches. */
static void model_pcid_noflush(struct ktest *t)
{
    ENV(t, e);
    struct tc_cpu *c = &e.cpu[0];
    tc_cr3_write(&e.md, c, e.a, 1001, 1, false, true);  /* A in PCID 1 */
    tc_cr3_write(&e.md, c, e.b, 1002, 2, false, true);  /* B in PCID 2 */
    uint64_t tok = unmap_begin(e.a, VA(6));             /* A changes meanwhile */
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 0u);          /* nobody runs A */
    /* Back to A with NOFLUSH although PCID 1's A is stale: caught at the
     * next user access. */
    tc_cr3_write(&e.md, c, e.a, 1001, 1, true, true);
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_EQ(t, access(&e, 0), 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(6));
    /* The right way: a flushing load of PCID 1. */
    tc_cr3_write(&e.md, c, e.b, 1002, 2, true, true);   /* B is current: NOFLUSH fine */
    EXPECT_EQ(t, access(&e, 0), 0u);
    tc_cr3_write(&e.md, c, e.a, 1001, 1, false, true);
    EXPECT_EQ(t, access(&e, 0), 0u);
    /* A NOFLUSH load of a PCID that caches another mm: at once. */
    tc_cr3_write(&e.md, c, e.b, 1002, 1, true, true);
    EXPECT_EQ(t, e.md.violations, 2u);
    EXPECT_STREQ(t, e.md.last_op, "cr3_noflush");
    /* INVPCID type 1 of the not-loaded PCID 2 empties it: B may reuse it. */
    tc_invpcid(&e.md, c, 1, 2, 0);
    tc_cr3_write(&e.md, c, e.a, 1001, 2, true, true);
    EXPECT_EQ(t, e.md.violations, 2u);
    EXPECT_EQ(t, access(&e, 0), 0u);
    /* Without PCIDE a CR3 write flushes every PCID. */
    tc_cr3_write(&e.md, c, e.b, 1002, 0, false, false);
    for (unsigned p = 1; p < TC_NR_PCIDS; p++)
        EXPECT_EQ(t, c->slot[p].ctx_id, 0ull);
    env_free(&e);
}

/* INVPCID types 0, 2, 3 and the CR4.PGE toggle. */
static void model_invpcid_types(struct ktest *t)
{
    ENV(t, e);
    struct tc_cpu *c = &e.cpu[0];
    tc_cr3_write(&e.md, c, e.a, 1001, 1, false, true);
    tc_cr3_write(&e.md, c, e.b, 1002, 2, false, true);
    uint64_t tok = unmap_begin(e.b, VA(7));
    tc_invpcid(&e.md, c, 0, 1, VA(7));          /* the wrong PCID */
    tc_check_flush_end(&e.md, e.b, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    tc_invpcid(&e.md, c, 0, 2, VA(7));          /* the right one */
    EXPECT_EQ(t, access(&e, 0), 0u);
    tok = unmap_begin(e.b, VA(8));
    tc_invpcid(&e.md, c, 3, 0, 0);              /* all non-global */
    tc_check_flush_end(&e.md, e.b, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_EQ(t, c->slot[1].ctx_id, 0ull);      /* A's PCID emptied */
    tok = unmap_begin(e.b, VA(9));
    tc_flush_everything(&e.md, c);
    tc_check_flush_end(&e.md, e.b, tok);
    tok = unmap_begin(e.b, VA(10));
    tc_invpcid(&e.md, c, 2, 0, 0);
    tc_check_flush_end(&e.md, e.b, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    env_free(&e);
}

/* skip_lazy_freed's model: a lazy CPU must drop its paging-structure
 * caches (or leave the mm) before page tables are freed. */
static void model_tables_free(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 1001, 0, false, false);
    tc_cr3_write(&e.md, &e.cpu[1], e.a, 1001, 0, false, false);
    e.cpu[1].lazy = true;
    uint64_t tok = unmap_begin(e.a, VA(11));
    tc_tables_unlinked(e.a);
    tc_invpcid(&e.md, &e.cpu[0], 1, 0, 0);      /* the initiator flushes */
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 0u);
    tc_check_tables_free(&e.md, e.a);           /* cpu 1 was skipped */
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "tables_free");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    /* Right: the lazy CPU leaves the mm (leave_mm: init_mm in CR3)... */
    tc_tables_unlinked(e.a);
    tc_invpcid(&e.md, &e.cpu[0], 1, 0, 0);
    tc_cr3_write(&e.md, &e.cpu[1], NULL, 0, 0, false, false);
    tc_check_tables_free(&e.md, e.a);
    EXPECT_EQ(t, e.md.violations, 1u);
    /* ... or INVLPG of any page, which drops all paging-structure caches
     * of the current PCID. */
    tc_tables_unlinked(e.a);
    tc_invlpg(&e.md, &e.cpu[0], VA(0));
    tc_check_tables_free(&e.md, e.a);
    EXPECT_EQ(t, e.md.violations, 1u);
    env_free(&e);
}

/* The lifetime faults' model: an mm freed while a CPU borrows it or still
 * has its PML4 in CR3. */
static void model_mm_free(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 1001, 0, false, false);
    e.cpu[0].borrowed = e.a;
    e.cpu[0].lazy = true;
    tc_check_mm_free(&e.md, e.a);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "mm_free");
    EXPECT_EQ(t, e.md.last_addr, 0x1000ul);     /* the PML4 */
    /* Forgotten afterwards; only the borrow is left wrong now. */
    EXPECT_TRUE(t, e.cpu[0].cur == NULL);
    e.cpu[1].borrowed = e.b;
    tc_check_mm_free(&e.md, e.b);
    EXPECT_EQ(t, e.md.violations, 2u);
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    /* Right: no CR3, no borrow. */
    tc_check_mm_free(&e.md, e.b);
    EXPECT_EQ(t, e.md.violations, 2u);
    env_free(&e);
}

/* More changes than the ring holds: their addresses are unknown, so only a
 * full flush makes the PCID clean again - and one does. */
static void model_ring_overflow(struct ktest *t)
{
    ENV(t, e);
    struct tc_cpu *c = &e.cpu[0];
    tc_cr3_write(&e.md, c, e.a, 1001, 0, false, false);
    for (unsigned i = 0; i < TC_RING + 10; i++)
        tc_pte_change(e.a, VA(i), PTE(0x5000, PTE_W), 0);
    uint64_t tok = tc_flush_begin(e.a);
    for (unsigned i = 0; i < TC_RING + 10; i++)
        tc_invlpg(&e.md, c, VA(i));
    tc_check_flush_end(&e.md, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_EQ(t, e.md.last_addr, 0ul);          /* "address unknown" */
    tc_invpcid(&e.md, c, 1, 0, 0);
    EXPECT_EQ(t, access(&e, 0), 0u);
    /* Many single-page flushes in a row (more than the list holds) on a
     * ring that did not overflow are folded, not lost. */
    struct tc_mm *m = e.b;
    tc_cr3_write(&e.md, c, m, 1002, 0, false, false);
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned i = 0; i < 30; i++)
            tc_pte_change(m, VA(round * 30 + i), PTE(0x5000, PTE_W), 0);
        tok = tc_flush_begin(m);
        for (unsigned i = 0; i < 30; i++)
            tc_invlpg(&e.md, c, VA(round * 30 + i));
        tc_check_flush_end(&e.md, m, tok);
    }
    EXPECT_EQ(t, e.md.violations, 1u);
    env_free(&e);
}

/* ==== part 2: scenarios on the live system ================================== */

/* The pages (tests/tlbcheck_test_util.h): P1 is unmapped while the test
 * thread is away. */

/* An mm with P0, P1 (and PFAR) mapped and filled. */
static struct mm *scenario_mm(void)
{
    return scenario_mm_filled(2, true, 0xa0);
}

/* The "user" thread: reads through uaccess, sleeps, reads again. */
struct reader {
    struct mm *mm;
    struct semaphore sleep;     /* the thread waits here once it has read */
    _Atomic bool read_once, stop;
    bool loop;                  /* keep reading until stop instead of sleeping */
    int after0, after1;         /* copy_from_user results after the wake-up */
    uint64_t seen0;
};

static void reader_fn(void *arg)
{
    struct reader *r = arg;
    uint64_t v;
    copy_from_user(&v, (const void *)P1, 8);    /* both pages in the TLB */
    copy_from_user(&v, (const void *)P0, 8);
    copy_from_user(&v, (const void *)PFAR, 8);
    atomic_store(&r->read_once, true);
    if (r->loop) {
        while (!atomic_load(&r->stop))
            copy_from_user(&v, (const void *)P0, 8);  /* checked each time */
    } else {
        down(&r->sleep);
    }
    /* The checker looks at every one of these. */
    r->after0 = copy_from_user(&r->seen0, (const void *)P0, 8);
    r->after1 = copy_from_user(&v, (const void *)P1, 8);
    unuse_mm(r->mm);
}

static struct task *reader_start(struct reader *r, struct mm *mm, bool loop)
{
    memset(r, 0, sizeof(*r));
    r->mm = mm;
    r->loop = loop;
    sema_init(&r->sleep, 0, "tlbcheck.reader");
    return mm_thread_start(reader_fn, r, "tc-reader", mm, other_cpu());
}

/* After the scenario: the reader saw P0 and found P1 gone. */
static void expect_reader_outcome(struct ktest *t, struct reader *r)
{
    EXPECT_EQ(t, r->after0, 0);
    EXPECT_EQ(t, r->seen0, 0xa0ull);
    EXPECT_EQ(t, r->after1, -SD_EFAULT);
}

/*
 * skip_ipi: P1 is unmapped while the reader runs (reading through uaccess)
 * on the other CPU: that CPU must get the flush.  With the fault the
 * checker reports at flush_end: cpu <other>, address P1.
 */
static void scenario_unmap_while_running(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a second CPU running the mm");
    struct mm *mm = scenario_mm();
    ASSERT_TRUE(t, mm != NULL);
    struct reader r;
    struct task *th = reader_start(&r, mm, true);
    ASSERT_TRUE(t, th != NULL);
    SPIN_UNTIL(atomic_load(&r.read_once));
    EXPECT_EQ(t, mm_unmap(mm, P1, PAGE_SIZE), 0);
    atomic_store(&r.stop, true);
    EXPECT_EQ(t, kthread_join(th), 0);
    expect_reader_outcome(t, &r);
    mmput(mm);
}

/* Put the reader to sleep on the other CPU with `sp` running there instead
 * (a kernel thread with spmm NULL, else a "user" thread of another mm). */
static bool reader_away(struct ktest *t, struct reader *r, struct task *rth,
                        struct spinner *sp, struct task **spth, struct mm *spmm)
{
    wait_asleep(&r->read_once, rth);
    *spth = spinner_start(sp, spmm, "tc-spinner");
    if (!*spth) {
        ktest_fail_at(t, __FILE__, __LINE__, "spinner_start failed");
        return false;
    }
    return true;
}

static void reader_back(struct ktest *t, struct reader *r, struct task *rth,
                        struct spinner *sp, struct task *spth)
{
    EXPECT_EQ(t, spinner_stop(sp, spth), 0);
    up(&r->sleep);
    EXPECT_EQ(t, kthread_join(rth), 0);
}

/*
 * skip_catchup (free_tables false): the other CPU is lazy on the mm (a
 * kernel thread runs there) while P1 is unmapped; the reader then comes
 * back to the mm on that CPU and reads: it must have caught up.  The
 * checker reports at its user access: cpu <other>, address P1.
 *
 * skip_lazy_freed (free_tables true): PFAR's page tables are freed while
 * the other CPU is lazy on the mm: it must drop its paging-structure caches
 * (leave the mm) first.  The checker reports at tables_free.  When the
 * reader comes back afterwards, the PCID it left (by leave_mm) is stale:
 * the switch must flush it - with noflush_stale (PCID: Bochs) the checker
 * reports the NOFLUSH load at once (op cr3_noflush, address PFAR).
 */
static void lazy_scenario(struct ktest *t, bool free_tables)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a second CPU lazy on the mm");
    struct mm *mm = scenario_mm();
    ASSERT_TRUE(t, mm != NULL);
    struct reader r;
    struct spinner sp;
    struct task *spth;
    struct task *rth = reader_start(&r, mm, false);
    ASSERT_TRUE(t, rth != NULL);
    if (!reader_away(t, &r, rth, &sp, &spth, NULL)) {
        up(&r.sleep);
        kthread_join(rth);
        mmput(mm);
        return;
    }
    if (free_tables)
        EXPECT_EQ(t, mm_unmap(mm, PFAR, PAGE_SIZE), 0);
    EXPECT_EQ(t, mm_unmap(mm, P1, PAGE_SIZE), 0);
    reader_back(t, &r, rth, &sp, spth);
    expect_reader_outcome(t, &r);
    mmput(mm);
}

static void scenario_lazy_cpu_returns(struct ktest *t)
{
    lazy_scenario(t, false);
}

static void scenario_tables_freed_while_lazy(struct ktest *t)
{
    lazy_scenario(t, true);
}

/*
 * PCID reuse across mms: the other CPU switches from the mm (PCID a) to
 * another mm (PCID b), P1 is unmapped meanwhile, and the reader comes back.
 * PCID a held the old translation of P1: the flush that reached the CPU
 * while it ran the other mm must have dropped it (the TLB core does that
 * with INVPCID, or forgets the slot), or the switch back must flush.  A
 * stale hit that is NOFLUSH-loaded is reported at the reader's next user
 * access.  (noflush_stale does not trip here with the TLB core's design -
 * no stale hit is left - but in scenario_tables_freed_while_lazy, where the
 * CPU left the mm by leave_mm and keeps its slot.)  Needs PCID: without it
 * every CR3 write flushes and nothing can be stale.
 */
static void scenario_pcid_reuse(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a second CPU");
    if (!(read_cr4() & CR4_PCIDE))
        KTEST_SKIP(t, "CR4.PCIDE is off (no PCID, or pcid=off): every CR3 write flushes, nothing to reuse");
    struct mm *mm = scenario_mm();
    ASSERT_TRUE(t, mm != NULL);
    struct mm *other = scenario_mm();
    if (!other) {
        mmput(mm);
        ASSERT_TRUE(t, other != NULL);
    }
    struct reader r;
    struct spinner sp;
    struct task *spth;
    struct task *rth = reader_start(&r, mm, false);
    ASSERT_TRUE(t, rth != NULL);
    if (reader_away(t, &r, rth, &sp, &spth, other)) {
        EXPECT_EQ(t, mm_unmap(mm, P1, PAGE_SIZE), 0);
        reader_back(t, &r, rth, &sp, spth);
        expect_reader_outcome(t, &r);
    } else {
        up(&r.sleep);
        kthread_join(rth);
    }
    mmput(other);
    mmput(mm);
}

/*
 * early_lazy_drop / skip_exit_shootdown / skip_hazard_scan, on one CPU we
 * choose: a "user" thread on the other CPU gives up its mm the way an
 * exiting thread does (lazy_mm_exit_mm: it becomes a lazy borrower) and
 * sleeps, so that CPU's idle task goes on borrowing the mm; then we drop
 * the last user reference.  The mm must outlive the borrow (refcount: the
 * borrow's reference) or the borrow must be ended before the free
 * (shootdown: the exit IPIs; hazard: the slot scan).  With a fault the
 * checker reports at mm_free: cpu <other>, the PML4's address.
 */
struct exiter {
    struct mm *mm;
    struct semaphore sleep;
    _Atomic bool exited;
};

static void exiter_fn(void *arg)
{
    struct exiter *x = arg;
    uint64_t v;
    copy_from_user(&v, (const void *)P0, 8);
    lazy_mm_exit_mm(current_task());    /* a borrower from here on; our user reference is gone */
    atomic_store(&x->exited, true);
    down(&x->sleep);
}

static void scenario_borrowed_mm_freed(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a second CPU to borrow the mm");
    struct user_baseline b;
    user_baseline_take(&b);
    struct mm *mm = scenario_mm();
    ASSERT_TRUE(t, mm != NULL);
    struct exiter x = { .mm = mm };
    sema_init(&x.sleep, 0, "tlbcheck.exiter");
    struct task *th = mm_thread_start(exiter_fn, &x, "tc-exiter", mm, other_cpu());
    if (!th) {
        mmput(mm);
        ASSERT_TRUE(t, th != NULL);
    }
    wait_asleep(&x.exited, th);
    /* The other CPU runs its idle task now, borrowing mm. */
    mmput(mm);                          /* the last user: teardown, maybe the free */
    up(&x.sleep);
    EXPECT_EQ(t, kthread_join(th), 0);
    user_baseline_check(t, &b);         /* the borrow's reference is gone too */
}

/*
 * early_lazy_drop / skip_exit_shootdown / skip_hazard_scan: processes exit
 * while CPUs still borrow their mms (the exiting thread's own CPU, and the
 * CPUs where the other threads of `threads` ended).  Each mm must outlive
 * every borrow; with a fault the checker reports at mm_free.
 */
static void scenario_exit_while_borrowed(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    for (unsigned i = 0; i < 3; i++)
        EXPECT_PROGRAM_OK(t, "hello");
    EXPECT_PROGRAM_OK(t, "threads");
    user_baseline_check(t, &b);
}

static const struct ktest_case tlbcheck_cases[] = {
    KTEST_CASE(model_exempt_changes),
    KTEST_CASE(model_invlpg_covers_one_page),
    KTEST_CASE(model_flush_end_needs_every_running_cpu),
    KTEST_CASE(model_lazy_catch_up),
    KTEST_CASE(model_pcid_noflush),
    KTEST_CASE(model_invpcid_types),
    KTEST_CASE(model_tables_free),
    KTEST_CASE(model_mm_free),
    KTEST_CASE(model_ring_overflow),
    KTEST_CASE(scenario_pcid_reuse),
    KTEST_CASE(scenario_unmap_while_running),
    KTEST_CASE(scenario_lazy_cpu_returns),
    KTEST_CASE(scenario_tables_freed_while_lazy),
    KTEST_CASE(scenario_borrowed_mm_freed),
    KTEST_CASE(scenario_exit_while_borrowed),
    {0},
};
KTEST_SUITE(tlbcheck, tlbcheck_cases);
