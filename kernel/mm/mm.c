/*
 * kernel/mm/mm.c - the life of an address space: creation, the two
 * reference counts, teardown (see kernel/mm.h and docs/processes.md).
 *
 *   mm_users  counts users of the mappings.  Its last mmput() tears the user
 *             half down: every VMA, every user page and page table.
 *   mm_count  counts references to the struct and its PML4.  All users
 *             together hold one (dropped by the last mmput()); in
 *             lazy_mm=refcount mode every kernel thread that borrows the mm
 *             lazily (the scheduler's active_mm) holds its own; in
 *             shootdown and hazard modes the last mmdrop() first makes the
 *             borrowers let go, in mmput mode the last mmput's teardown
 *             flush already did (kernel/mm/lazy_mm.c).  Its last mmdrop() frees the PML4 and
 *             the struct.
 *
 * Why two: a CPU that ran the last thread of a process keeps the process's
 * PML4 in CR3 until it switches to another address space, and the kernel
 * thread it runs meanwhile must be able to trust that PML4 (its kernel half
 * above all).  The mappings can go at once; the root must stay until the
 * last CPU has let go of it.
 */
#include "mm_internal.h"
#include "mmu_gather.h"
#include "pt_free.h"
#include <kernel/kmalloc.h>
#include <kernel/panic.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/debug/tlb_inject.h>
#include <kernel/lazy_mm.h>
#include <kernel/percpu.h>
#include <kernel/preempt.h>
#include <uapi/shootdown.h>

struct mm_stats mm_stats;

/* Every locked RMW on mm_count: what lazy-mm lifetime modes trade away. */
DEFINE_COUNTER(mm, count_atomics, "atomic operations on mm_count (mmgrab, mmdrop)");

/* ctx_id 0 is init_mm's; counting up from 1 in 64 bits never wraps. */
static _Atomic uint64_t next_ctx_id = 1;
static _Atomic unsigned live_mms;
static _Atomic uint64_t last_freed_ctx_id;     /* for tlb_inject=ctx_id_reuse only */

unsigned mm_live_count(void)
{
    return atomic_load(&live_mms);
}

struct mm *mm_create(void)
{
    struct mm *mm = kzalloc(sizeof(*mm));
    if (!mm)
        return NULL;
    atomic_init(&mm->mm_users, 1);
    atomic_init(&mm->mm_count, 1);
    rwsem_init(&mm->lock, "mm.lock");
    list_init(&mm->vmas);
    mm->ctx_id = atomic_fetch_add(&next_ctx_id, 1);
    /* ctx_id_reuse: "recycle ids to keep them small" - breaks the ASID
     * cache's assumption that a ctx_id names one address space forever. */
    if (tlb_inject(TLB_INJECT_CTX_ID_REUSE)) {
        uint64_t recycled = atomic_exchange(&last_freed_ctx_id, 0);
        if (recycled)
            mm->ctx_id = recycled;
    }
    atomic_init(&mm->tlb_gen, 0);
    cpumask_clear(&mm->cpumask);
    mm->name = "mm";
    /* Last: from here on the shadow-TLB checker tracks mm (arch/pte.h). */
    if (!arch_pgd_alloc(mm)) {
        kfree(mm);
        return NULL;
    }
    atomic_fetch_add(&live_mms, 1);
    tlb_ev_mm_created(mm);
    return mm;
}

void mmget(struct mm *mm)
{
    /* Only someone who already holds a user reference (or owns the mm
     * through a task) may take another: 0 -> 1 would resurrect a dead mm. */
    BUG_ON(atomic_fetch_add(&mm->mm_users, 1) <= 0);
}

void mmgrab(struct mm *mm)
{
    count_event(mm, count_atomics);
    BUG_ON(atomic_fetch_add(&mm->mm_count, 1) <= 0);
}

/*
 * May the teardown leave its unhooked tables to the last mmdrop?  Only when
 * this CPU is the only one in mm->cpumask - a single-threaded process's
 * exit, on the CPU it ran on - and not in lazy_mm=mmput mode, whose
 * teardown flush is what ends the borrows (kernel/mm/lazy_mm.c).  Then the
 * teardown flush has nobody to call, and freeing the tables at once would
 * only make this CPU, lazy on mm, leave it for init_mm (leave_mm): a CR3
 * write, and on an emulator without PCID the refill of its whole software
 * TLB, just before the switch to the next task writes CR3 again.  The
 * mask is read without care: the answer only picks when the tables are
 * freed, and either time is safe (see mm_teardown).
 */
static bool teardown_keeps_tables(struct mm *mm)
{
    if (lazy_mm_mode == LAZY_MM_MMPUT)
        return false;
    struct cpumask others;
    for (unsigned i = 0; i < sizeof(others.bits) / sizeof(others.bits[0]); i++)
        others.bits[i] = __atomic_load_n(&mm->cpumask.bits[i], __ATOMIC_RELAXED);
    preempt_disable();
    cpumask_clear_cpu(&others, this_cpu_id());
    preempt_enable();
    return cpumask_empty(&others);
}

/*
 * The last user is gone: nobody runs in this address space any more, but
 * CPUs may still have it loaded (the exiting thread's CPU, lazily) or hold
 * its translations, so every frame keeps its reference until one flush
 * returned (mmu_gather.h; a full batch of frames is flushed and released
 * early), and every table stays allocated until no CPU can walk it:
 *   - usually after the teardown's last flush, made with freed_tables: it
 *     reaches every CPU in mm->cpumask, lazy ones too (they leave mm); in
 *     lazy_mm=mmput mode it also ends each one's borrow of mm
 *     (kernel/mm/lazy_mm.c, ORDERING mmput);
 *   - when teardown_keeps_tables(), at the last mmdrop: the tables are
 *     unhooked here (no new walk can reach them) and kept in
 *     mm->kept_tables, and the flush is made without freed_tables (the lazy
 *     CPUs keep mm loaded; frames may go while a lazy CPU still holds a
 *     translation, as for any flush that skips it).  By the last mmdrop no
 *     CPU has mm in CR3 or borrows it - the lifetime rule every lazy_mm
 *     mode keeps for the PML4 (mmdrop) - so none can walk the tables; a
 *     PCID that cached them is never loaded without a flush again (ctx ids
 *     are never reused).
 */
static void mm_teardown(struct mm *mm)
{
    struct mmu_gather g;
    mmu_gather_init(&g, mm, TLB_CAUSE_TEARDOWN);
    mm_lock(mm);
    /* Every page and every table of the user half (munmap's empty tables,
     * and those an allocation that failed half-way may have left), in one
     * pass over the tables; the flush covers the whole user half, with
     * freed_tables unless the tables are kept. */
    mmu_gather_unmap_all(&g);
    while (!list_empty(&mm->vmas)) {
        struct vma *v = list_first_entry(&mm->vmas, struct vma, link);
        list_del(&v->link);
        vma_free(v);        /* a shared object keeps its frames until the batch's flush */
    }
    if (teardown_keeps_tables(mm))
        mmu_gather_keep_tables(&g, &mm->kept_tables);
    mmu_gather_finish(&g);
    mm_unlock(mm);
}

void mmput(struct mm *mm)
{
    int old = atomic_fetch_sub(&mm->mm_users, 1);
    BUG_ON(old <= 0);
    if (old != 1)
        return;
    BUG_ON(mm == &init_mm);
    mm_teardown(mm);
    mmdrop(mm);         /* the reference all users held together */
}

void mmdrop(struct mm *mm)
{
    count_event(mm, count_atomics);
    int old = atomic_fetch_sub(&mm->mm_count, 1);
    BUG_ON(old <= 0);
    if (old != 1)
        return;
    /* init_mm's counts start at 1 and that reference is never dropped. */
    BUG_ON(mm == &init_mm);
    BUG_ON(atomic_load(&mm->mm_users) != 0);
    BUG_ON(!list_empty(&mm->vmas));
    /*
     * No CPU may have this PML4 loaded or borrow the mm once it is freed.
     * refcount mode: each borrower switched away before dropping its
     * reference (finish_task_switch runs after the CR3 write).
     * shootdown/hazard: borrowers hold no reference; this makes them let go
     * (IPIs: thread context with interrupts on - it checks).  mmput: the
     * teardown's flush ended every borrow (mm_teardown), nothing to do.
     * kernel/mm/lazy_mm.c has the protocol.  Then the checker verifies it
     * (arch_pgd_free).
     */
    lazy_mm_before_free(mm);
    /* The tables a teardown kept (mm_teardown): nothing can walk them now. */
    pt_free_tables(mm, &mm->kept_tables);
    tlb_trace(TLBT_MM_FREE, mm->ctx_id, 0, 0, 0, 0);
    if (tlb_inject(TLB_INJECT_CTX_ID_REUSE))
        atomic_store(&last_freed_ctx_id, mm->ctx_id);
    arch_pgd_free(mm);
    kfree(mm);
    atomic_fetch_sub(&live_mms, 1);
}
