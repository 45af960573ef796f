/*
 * tests/test_tlbcheck_machine.c - the shadow-TLB checker's rules about the
 * machine itself (docs/tlbcheck.md): what CR3 really holds, the checker's
 * own ids and poisoned PCIDs, the cpumask at a CR3 load, the end of a
 * borrow, and the kernel half (global entries, INVPCID 2 against 3,
 * kernel-range flushes and kernel page-table frees).
 *
 * Part 1, the model on a private instance (two CPUs, synthetic mms and a
 * kernel half of its own): each rule fires on the wrong sequence and stays
 * silent on the right one.  Nothing here touches the live checker.
 *
 * Part 2, scenarios on the live system: each drives the code path that one
 * tlb_inject= fault breaks (the runner's inject-* rows for cpumask_late,
 * early_borrow_end, cr3_pcid_lost, ctx_id_reuse, kernel_flush_skip_cpu and
 * kernel_invpcid3 boot this suite with the fault; the checker must panic
 * with its report).  Without a fault they pass in every configuration.
 * Their threads run on the last CPU ("cpu 1" with 2 CPUs).
 */
#include "ktest_suite.h"
#include "tlbcheck_test_util.h"
#include "user_test_util.h"
#include <arch/tlbcheck/model.h>
#include <arch/paging.h>
#include <arch/tlbflush.h>
#include <arch/x86/tlbstate.h>
#include <arch/uaccess.h>
#include <arch/kva.h>
#include <arch/x86/x86.h>
#include <kernel/kmalloc.h>
#include <kernel/kstack.h>
#include <kernel/lazy_mm.h>
#include <kernel/page_alloc.h>
#include <kernel/smp.h>
#include <kernel/spinlock.h>
#include <kernel/wait.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

/* ==== part 1: the model ===================================================== */

#define UVA(n)  (0x400000ul + (n) * PAGE_SIZE)
#define KVA(n)  (KVA_BASE + 0x10000000ul + (n) * PAGE_SIZE)
#define UPTE(pa, f) ((uint64_t)(pa) | PTE_P | PTE_U | (f))
#define KPTE(pa)    ((uint64_t)(pa) | PTE_P | PTE_W | PTE_G)

struct menv {
    struct tc_model md;
    struct tc_cpu *cpu;         /* [2] */
    struct tc_mm *a, *b, *kmm;  /* ids 11, 12; the kernel tree 1 */
    struct tc_kernel *k;
};

static bool menv_init(struct menv *e, bool pge)
{
    e->cpu = kmalloc(2 * sizeof(struct tc_cpu));
    e->a = kmalloc(sizeof(struct tc_mm));
    e->b = kmalloc(sizeof(struct tc_mm));
    e->kmm = kmalloc(sizeof(struct tc_mm));
    e->k = kmalloc(sizeof(struct tc_kernel));
    if (!e->cpu || !e->a || !e->b || !e->kmm || !e->k)
        return false;
    tc_mm_init(e->a, NULL, 11, 0x11000);
    tc_mm_init(e->b, NULL, 12, 0x12000);
    tc_mm_init(e->kmm, NULL, 1, 0x1000);
    e->kmm->kernel = true;
    tc_kernel_init(e->k, e->kmm);
    e->md = (struct tc_model){ .cpus = e->cpu, .ncpus = 2, .live = false };
    for (unsigned i = 0; i < 2; i++) {
        tc_cpu_init(&e->cpu[i], i);
        tc_cpu_set_kernel(&e->cpu[i], e->k, pge);
        /* Boot: init_mm in PCID 0. */
        tc_cr3_write(&e->md, &e->cpu[i], e->kmm, 1, 0, false, pge);
    }
    return true;
}

static void menv_free(struct menv *e)
{
    kfree(e->cpu);
    kfree(e->a);
    kfree(e->b);
    kfree(e->kmm);
    kfree(e->k);
}

#define MENV(t, e, pge)                                                        \
    struct menv e;                                                             \
    if (!menv_init(&e, pge)) {                                                 \
        menv_free(&e);                                                         \
        ASSERT_TRUE(t, false);                                                 \
    }

/* (a) What the CR3 hook models is what the hardware took. */
static void model_cr3_decode(struct ktest *t)
{
    struct tc_cr3 hw = tc_cr3_decode(0x123000 | 5, 0x123000 | 5 | (1ull << 63), true);
    EXPECT_EQ(t, hw.pgd, 0x123000ul);
    EXPECT_EQ(t, hw.pcid, 5u);
    EXPECT_TRUE(t, hw.noflush);
    /* Bit 63 reads back as 0: NOFLUSH comes from the value written only. */
    hw = tc_cr3_decode(0x123000 | 5, 0x123000 | 5, true);
    EXPECT_FALSE(t, hw.noflush);
    /* PCIDE clear: bits 11:0 are PWT/PCD, not a PCID. */
    hw = tc_cr3_decode(0x123000 | 0x18, 0x123000 | 0x18, false);
    EXPECT_EQ(t, hw.pcid, 0u);
    EXPECT_EQ(t, hw.pgd, 0x123000ul);
}

/* (b) A freed mm's PCID is poisoned: any NOFLUSH load into it is caught,
 * whatever mm it loads; a flush (the load's own, or INVPCID) cures it. */
static void model_poisoned_pcid(struct ktest *t)
{
    MENV(t, e, true);
    struct tc_cpu *c = &e.cpu[0];
    tc_cr3_write(&e.md, c, e.a, 11, 1, false, true);    /* A in PCID 1 */
    tc_cr3_write(&e.md, c, e.b, 12, 2, false, true);    /* B in PCID 2 */
    tc_check_mm_free(&e.md, e.a);                       /* nobody runs A: fine */
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_EQ(t, c->slot[1].ctx_id, 11ull);             /* poisoned: id kept, */
    EXPECT_TRUE(t, c->slot[1].mm == NULL);              /* pointer gone */
    /* A new mm, even one the kernel gave A's old ctx_id, has a new id. */
    struct tc_mm *n = kmalloc(sizeof(*n));
    ASSERT_TRUE(t, n != NULL);
    tc_mm_init(n, NULL, 13, 0x11000);                   /* even A's PML4 frame */
    tc_cr3_write(&e.md, c, n, 13, 1, true, true);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "cr3_noflush");
    tc_cr3_write(&e.md, c, e.b, 12, 1, true, true);     /* any mm */
    EXPECT_EQ(t, e.md.violations, 2u);
    /* Right: a flushing load, or INVPCID 1 of the PCID first. */
    tc_cr3_write(&e.md, c, n, 13, 1, false, true);
    EXPECT_EQ(t, e.md.violations, 2u);
    tc_cr3_write(&e.md, c, e.b, 12, 2, true, true);
    tc_check_mm_free(&e.md, n);                         /* PCID 1 poisoned again */
    tc_invpcid(&e.md, c, 1, 1, 0);
    tc_cr3_write(&e.md, c, e.b, 12, 1, true, true);
    EXPECT_EQ(t, e.md.violations, 2u);
    kfree(n);
    menv_free(&e);
}

/* (g) A borrow ends only after CR3 left the mm - or when the task now
 * running owns the mm. */
static void model_borrow_end(struct ktest *t)
{
    MENV(t, e, false);
    struct tc_cpu *c = &e.cpu[1];
    tc_cr3_write(&e.md, c, e.a, 11, 0, false, false);
    c->lazy = true;
    tc_borrow(&e.md, c, e.a, false);                    /* a kernel thread borrows A */
    tc_borrow(&e.md, c, NULL, false);                   /* ends while CR3 holds A */
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "borrow_end");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, 0x11000ul);            /* the PML4 */
    /* Right: a user thread of A runs now (switch_mm kept A loaded). */
    tc_borrow(&e.md, c, e.a, false);
    tc_borrow(&e.md, c, NULL, true);
    EXPECT_EQ(t, e.md.violations, 1u);
    /* Right: leave_mm first. */
    tc_borrow(&e.md, c, e.a, false);
    tc_cr3_write(&e.md, c, e.kmm, 1, 0, false, false);
    tc_borrow(&e.md, c, NULL, false);
    EXPECT_EQ(t, e.md.violations, 1u);
    menv_free(&e);
}

/* (e) Global entries survive CR3 writes and INVPCID 0, 1 and 3; INVLPG of
 * the page, INVPCID 2 and a CR4.PGE toggle drop them.  Every online CPU
 * must have, when a kernel-range flush returns. */
static void model_kernel_globals(struct ktest *t)
{
    MENV(t, e, true);
    struct tc_cpu *c0 = &e.cpu[0], *c1 = &e.cpu[1];
    tc_cr3_write(&e.md, c1, e.a, 11, 1, false, true);   /* cpu 1 runs a user mm */
    EXPECT_TRUE(t, tc_kernel_pte_change(e.k, KVA(1), KPTE(0x5000), 0));
    uint64_t tok = tc_kernel_flush_begin(e.k);
    tc_invlpg(&e.md, c0, KVA(1));
    tc_cr3_write(&e.md, c1, e.b, 12, 2, false, true);   /* a flushing CR3 load */
    tc_invpcid(&e.md, c1, 1, 2, 0);
    tc_invpcid(&e.md, c1, 3, 0, 0);
    tc_invpcid(&e.md, c1, 0, 2, KVA(1));
    tc_check_kernel_flush_end(&e.md, e.k, tok, KVA(1), KVA(2));
    EXPECT_EQ(t, e.md.violations, 1u);                  /* none reached the global entry */
    EXPECT_STREQ(t, e.md.last_op, "kernel_flush_end");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, KVA(1));
    tc_invpcid(&e.md, c1, 2, 0, 0);                     /* type 2 does */
    tc_check_kernel_flush_end(&e.md, e.k, tok, KVA(1), KVA(2));
    EXPECT_EQ(t, e.md.violations, 1u);
    /* INVLPG from any PCID, and the PGE toggle. */
    tc_kernel_pte_change(e.k, KVA(2), KPTE(0x6000), 0);
    tc_kernel_pte_change(e.k, KVA(3), KPTE(0x7000), KPTE(0x7000) & ~PTE_W);
    tok = tc_kernel_flush_begin(e.k);
    tc_invlpg(&e.md, c0, KVA(2));
    tc_invlpg(&e.md, c0, KVA(3));
    tc_invlpg(&e.md, c1, KVA(2));
    tc_flush_everything(&e.md, c1);
    tc_check_kernel_flush_end(&e.md, e.k, tok, KVA(2), KVA(4));
    EXPECT_EQ(t, e.md.violations, 1u);
    /* Another CPU's change outside the range, or after the token, is not
     * this flush's (it has a flush of its own coming). */
    tc_kernel_pte_change(e.k, KVA(9), KPTE(0x8000), 0);
    tc_kernel_pte_change(e.k, KVA(4), KPTE(0x9000), 0);
    tok = tc_kernel_flush_begin(e.k);
    tc_kernel_pte_change(e.k, KVA(5), KPTE(0xa000), 0);
    tc_invlpg(&e.md, c0, KVA(4));
    tc_invlpg(&e.md, c1, KVA(4));
    tc_check_kernel_flush_end(&e.md, e.k, tok, KVA(4), KVA(6));
    EXPECT_EQ(t, e.md.violations, 1u);
    /* Exempt: not present -> present. */
    EXPECT_FALSE(t, tc_kernel_pte_change(e.k, KVA(7), 0, KPTE(0xb000)));
    menv_free(&e);
}

/* Without CR4.PGE nothing is global: a CR3 write with PCIDE clear, or
 * INVPCID 3, drops the kernel's entries too. */
static void model_kernel_no_pge(struct ktest *t)
{
    MENV(t, e, false);
    tc_kernel_pte_change(e.k, KVA(1), KPTE(0x5000), 0);
    uint64_t tok = tc_kernel_flush_begin(e.k);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 11, 0, false, false);
    tc_invpcid(&e.md, &e.cpu[1], 3, 0, 0);
    tc_check_kernel_flush_end(&e.md, e.k, tok, KVA(1), KVA(2));
    EXPECT_EQ(t, e.md.violations, 0u);
    menv_free(&e);
}

/* (e) A kernel page table may be freed only when every online CPU has
 * dropped, in EVERY PCID, the paging-structure caches from before its
 * unhooking: those caches are never global. */
static void model_kernel_tables_free(struct ktest *t)
{
    MENV(t, e, true);
    struct tc_cpu *c0 = &e.cpu[0], *c1 = &e.cpu[1];
    tc_cr3_write(&e.md, c0, e.a, 11, 1, false, true);   /* PCIDs 0 and 1 used */
    uint64_t un = tc_kernel_tables_unlinked(e.k, KVA(1));
    tc_invlpg(&e.md, c0, KVA(1));                       /* PCID 1 only */
    tc_flush_everything(&e.md, c1);
    tc_check_kernel_tables_free(&e.md, e.k, un);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "tables_free");
    EXPECT_EQ(t, e.md.last_cpu, 0u);
    EXPECT_EQ(t, e.md.last_addr, KVA(1));
    tc_invpcid(&e.md, c0, 3, 0, 0);                     /* all PCIDs: type 3 is enough here */
    tc_check_kernel_tables_free(&e.md, e.k, un);
    EXPECT_EQ(t, e.md.violations, 1u);
    menv_free(&e);
}

/* ==== part 2: scenarios on the live system ================================== */

/* The last CPU is other_cpu() (tests/tlbcheck_test_util.h). */

/* An mm with P0 and PFAR mapped and filled. */
static struct mm *filled_mm(void)
{
    return scenario_mm_filled(1, true, 0xa0);
}

/* A "user" thread on the last CPU: reads P0, sleeps, reads P0 again. */
struct user_thread {
    struct mm *mm;
    struct semaphore sleep;
    _Atomic bool read_once;
    int result;
    uint64_t seen;
};

static void user_thread_fn(void *arg)
{
    struct user_thread *u = arg;
    uint64_t v;
    copy_from_user(&v, (const void *)P0, 8);
    atomic_store(&u->read_once, true);
    down(&u->sleep);
    u->result = copy_from_user(&u->seen, (const void *)P0, 8);
    unuse_mm(u->mm);
}

static struct task *user_thread_start(struct user_thread *u, struct mm *mm)
{
    memset(u, 0, sizeof(*u));
    u->mm = mm;
    sema_init(&u->sleep, 0, "tcm.user");
    struct task *th = mm_thread_start(user_thread_fn, u, "tcm-user", mm, other_cpu());
    if (th)     /* until it read once and sleeps (its CPU then borrows the mm) */
        wait_asleep(&u->read_once, th);
    return th;
}

static void user_thread_finish(struct ktest *t, struct user_thread *u, struct task *th)
{
    up(&u->sleep);
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_EQ(t, u->result, 0);
    EXPECT_EQ(t, u->seen, 0xa0ull);
}

/* A scenario's frame: the leak baseline, a filled mm and its user thread,
 * parked on the last CPU; at the end the thread reads again, the mm goes
 * and no borrow of it may be left. */
struct scene {
    struct user_baseline b;
    struct mm *mm;
    struct user_thread u;
    struct task *th;
};

static bool scene_start(struct ktest *t, struct scene *sc)
{
    user_baseline_take(&sc->b);
    sc->mm = filled_mm();
    sc->th = sc->mm ? user_thread_start(&sc->u, sc->mm) : NULL;
    if (!sc->th) {
        ktest_fail_at(t, __FILE__, __LINE__, "out of memory");
        return false;
    }
    return true;
}

static void scene_finish(struct ktest *t, struct scene *sc)
{
    user_thread_finish(t, &sc->u, sc->th);
    mmput(sc->mm);
    lazy_mm_drop_borrowers(NULL);
    user_baseline_check(t, &sc->b);
}

/*
 * cpumask_late (f): the last CPU loads a new mm into CR3 (its bit in the
 * mm's cpumask not set yet: the first load there).  The fault sets the bit
 * after the CR3 write; the checker reports op cr3_cpumask on that CPU.
 */
static void scenario_first_load(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a CPU other than the test's");
    struct scene sc;
    if (!scene_start(t, &sc))
        return;
    EXPECT_TRUE(t, cpumask_test_cpu(&sc.mm->cpumask, other_cpu()));
    scene_finish(t, &sc);
}

/*
 * early_borrow_end (g): the last CPU runs a kernel thread that borrows the
 * mm (CR3 still on it, lazy) when a drop is requested; the drop must leave
 * the mm (leave_mm) before the borrow ends.  With the fault the checker
 * reports op borrow_end on that CPU, address the mm's PML4.
 */
static void scenario_drop_lazy_borrower(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a CPU other than the test's");
    struct scene sc;
    if (!scene_start(t, &sc))
        return;
    struct spinner s;
    struct task *sth = spinner_start(&s, NULL, "tcm-spin");    /* borrows mm, lazily */
    ASSERT_TRUE(t, sth != NULL);
    lazy_mm_drop_borrowers(sc.mm);
    EXPECT_EQ(t, spinner_stop(&s, sth), 0);
    scene_finish(t, &sc);                               /* back on mm: reads fine */
}

/*
 * cr3_pcid_lost (a; PCID: Bochs): the last CPU returns to an mm whose PCID
 * is still valid - a NOFLUSH load.  The fault writes CR3 without the PCID
 * bits; the checker, reading CR3 back, reports op cr3_write there.
 */
static void scenario_pcid_return(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a CPU other than the test's");
    if (!(read_cr4() & CR4_PCIDE))
        KTEST_SKIP(t, "CR4.PCIDE is off: every CR3 write flushes, there is no NOFLUSH load");
    struct user_baseline b;
    user_baseline_take(&b);
    struct mm *mm = filled_mm(), *other = filled_mm();
    ASSERT_TRUE(t, mm != NULL && other != NULL);
    struct user_thread u;
    struct task *th = user_thread_start(&u, mm);
    ASSERT_TRUE(t, th != NULL);
    struct spinner s;
    struct task *sth = spinner_start(&s, other, "tcm-spin");   /* another mm, another PCID */
    ASSERT_TRUE(t, sth != NULL);
    EXPECT_EQ(t, spinner_stop(&s, sth), 0);
    user_thread_finish(t, &u, th);                      /* back: NOFLUSH */
    mmput(other);
    mmput(mm);
    lazy_mm_drop_borrowers(NULL);
    user_baseline_check(t, &b);
}

/*
 * ctx_id_reuse (b; PCID: Bochs; refcount mode): the last CPU keeps mm A's
 * translations in a PCID it left by leave_mm (A's page tables were freed
 * while it borrowed A), then A is freed: that PCID is poisoned.  A new mm
 * B then runs there.  With the fault B gets A's ctx_id, the ASID cache
 * takes the poisoned PCID for B's own and loads it with NOFLUSH; the
 * checker, whose ids are its own, reports op cr3_noflush there.
 */
struct exiter {
    struct mm *mm;
    _Atomic bool exited;
};

static void exiter_fn(void *arg)
{
    struct exiter *x = arg;
    uint64_t v;
    copy_from_user(&v, (const void *)P0, 8);
    copy_from_user(&v, (const void *)PFAR, 8);
    lazy_mm_exit_mm(current_task());    /* a borrower from here on */
    atomic_store(&x->exited, true);
}

static void scenario_poisoned_pcid(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a CPU other than the test's");
    struct user_baseline b;
    user_baseline_take(&b);
    struct mm *a = filled_mm();
    ASSERT_TRUE(t, a != NULL);
    struct exiter x = { .mm = a };
    struct task *xt = mm_thread_start(exiter_fn, &x, "tcm-exiter", a, other_cpu());
    if (!xt) {
        mmput(a);
        ASSERT_TRUE(t, xt != NULL);
    }
    EXPECT_EQ(t, kthread_join(xt), 0);  /* its CPU's idle task borrows A now */
    mmput(a);                           /* the last user: teardown, leave_mm there */
    lazy_mm_drop_borrowers(a);          /* the borrow ends: A is freed */
    struct mm *bm = filled_mm();
    ASSERT_TRUE(t, bm != NULL);
    struct user_thread u;
    struct task *th = user_thread_start(&u, bm);
    ASSERT_TRUE(t, th != NULL);
    user_thread_finish(t, &u, th);
    mmput(bm);
    lazy_mm_drop_borrowers(NULL);
    user_baseline_check(t, &b);
}

/* A kernel page, mapped in the guard below a kernel stack (never mapped
 * otherwise) and read on the last CPU, so that its TLB caches it. */
struct kpage {
    uintptr_t top, va;
    phys_addr_t frame;
};

static void read_kpage(void *arg)
{
    (void)READ_ONCE(*(volatile uint64_t *)arg);
}

static bool kpage_map(struct ktest *t, struct kpage *p)
{
    p->top = kstack_alloc();
    p->frame = page_alloc_zeroed(0);
    if (!p->top || !p->frame) {
        ktest_fail_at(t, __FILE__, __LINE__, "out of memory");
        return false;
    }
    p->va = p->top - KSTACK_SIZE - PAGE_SIZE;
    *(uint64_t *)phys_to_virt(p->frame) = 0x6b70;
    if (kernel_map_page(p->va, p->frame, PTE_KERNEL_RW)) {
        ktest_fail_at(t, __FILE__, __LINE__, "kernel_map_page failed");
        return false;
    }
    struct cpumask one;
    cpumask_clear(&one);
    cpumask_set_cpu(&one, other_cpu());
    smp_call_mask(&one, read_kpage, (void *)p->va, true);
    return true;
}

/*
 * kernel_flush_skip_cpu (e): a kernel page is unmapped (kernel_unmap_page:
 * one INVLPG on every online CPU).  With the fault the last CPU gets no
 * IPI; the checker reports op kernel_flush_end there, address the page.
 */
static void scenario_kernel_page_flush(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a CPU other than the test's");
    struct kpage p;
    if (!kpage_map(t, &p))
        return;
    EXPECT_EQ(t, kernel_unmap_page(p.va), p.frame);
    page_free(p.frame, 0);
    kstack_free(p.top);
}

/*
 * kernel_invpcid3 (e; INVPCID: Bochs): a kernel page is unmapped and a
 * range of more than tlb_flush_ceiling pages around it flushed: every CPU
 * takes the global full flush.  With the fault that flush is INVPCID type
 * 3, which keeps global entries; the checker reports op kernel_flush_end.
 */
static void scenario_kernel_range_flush(struct ktest *t)
{
    struct kpage p;
    if (!kpage_map(t, &p))
        return;
    uint64_t irq = spin_lock_irqsave(&kernel_pt_lock);
    pte_t old = 0;
    EXPECT_EQ(t, paging_unmap(kernel_pml4, p.va, &old, NULL), 0);
    spin_unlock_irqrestore(&kernel_pt_lock, irq);
    EXPECT_EQ(t, old & PTE_ADDR, p.frame);
    uintptr_t lo = p.va - (uintptr_t)(tlb_flush_ceiling + 8) * PAGE_SIZE;
    flush_tlb_kernel_range(lo, p.va + PAGE_SIZE);
    page_free(p.frame, 0);
    kstack_free(p.top);
}

static const struct ktest_case tlbcheck_machine_cases[] = {
    KTEST_CASE(model_cr3_decode),
    KTEST_CASE(model_poisoned_pcid),
    KTEST_CASE(model_borrow_end),
    KTEST_CASE(model_kernel_globals),
    KTEST_CASE(model_kernel_no_pge),
    KTEST_CASE(model_kernel_tables_free),
    KTEST_CASE(scenario_first_load),
    KTEST_CASE(scenario_drop_lazy_borrower),
    KTEST_CASE(scenario_pcid_return),
    KTEST_CASE(scenario_poisoned_pcid),
    KTEST_CASE(scenario_kernel_page_flush),
    KTEST_CASE(scenario_kernel_range_flush),
    {0},
};
KTEST_SUITE(tlbcheck_machine, tlbcheck_machine_cases);
