/*
 * arch/mmu_context.h - the address-space step of a context switch.
 *
 * switch_mm() makes `next` the CPU's address space; enter_lazy_tlb() is
 * called instead when the next task is a kernel thread, which has no address
 * space of its own and keeps using (borrows) the one loaded.  leave_mm()
 * makes a CPU stop using a user address space it has loaded (lazily) and
 * load init_mm's: for flushes that free page tables and for lazy-mm
 * shootdowns.  All three run with interrupts off.
 *
 * The TLB work (arch/x86_64/mm/tlb.c) replaces this simple version with
 * per-CPU lazy TLB state, ASIDs and generation tracking behind the same
 * names.
 *
 * mm->cpumask: the CPUs that may hold translations of the mm.  A CPU sets
 * its bit here before it loads the mm and (in this simple scheme) never
 * clears it; flush_tlb_mm_range() (arch/x86_64/mm/tlb_mm.c) calls every CPU
 * in it, and each checks CR3 to see whether it has anything to flush.
 */
#pragma once
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <arch/paging.h>
#include <arch/x86.h>
#include <kernel/tlbcheck.h>

struct task;

/* `prev` is the scheduler's idea of what was loaded (may be NULL); the CPU's
 * own record of what CR3 holds is what counts. */
static inline void switch_mm(struct mm *prev, struct mm *next, struct task *tsk)
{
    (void)prev;
    (void)tsk;
    unsigned cpu = this_cpu_id();
    /*
     * Set our bit before CR3 is written: the atomic RMW is a full barrier
     * that pairs with the tlb_gen increment in flush_tlb_mm_range() (see
     * there).  Test first: the bit is usually set already, and a locked
     * write to a line every CPU of the mm reads would bounce it for nothing.
     */
    if (!bitmap_test_bit_atomic(next->cpumask.bits, cpu))
        cpumask_test_and_set_cpu_atomic(&next->cpumask, cpu);
    if ((read_cr3() & PTE_ADDR) != next->pgd)
        load_cr3(next->pgd);
    tlbcheck_set_lazy(false);   /* running next for real (kernel/tlbcheck.h) */
}

static inline void enter_lazy_tlb(struct mm *mm, struct task *tsk)
{
    (void)tsk;
    if (mm && mm != &init_mm)
        tlbcheck_set_lazy(true);
}

/* This CPU stops using whatever user mm it has loaded: init_mm from now on. */
static inline void leave_mm(void)
{
    if ((read_cr3() & PTE_ADDR) != init_mm.pgd)
        switch_mm(NULL, &init_mm, NULL);
}
