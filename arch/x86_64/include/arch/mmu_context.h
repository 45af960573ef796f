/*
 * arch/mmu_context.h - the address-space step of a context switch.
 *
 * switch_mm() makes `next` the CPU's address space; enter_lazy_tlb() is
 * called instead when the next task is a kernel thread, which has no address
 * space of its own and keeps using (borrows) the one loaded.  Both are
 * deliberately trivial here: the TLB work replaces them with the per-CPU lazy
 * TLB state, ASIDs and generation tracking, without changing the scheduler.
 */
#pragma once
#include <kernel/mm.h>
#include <arch/x86.h>

struct task;

static inline void switch_mm(struct mm *prev, struct mm *next, struct task *tsk)
{
    (void)tsk;
    if (prev != next)
        write_cr3(next->pgd);
}

static inline void enter_lazy_tlb(struct mm *mm, struct task *tsk)
{
    (void)mm;
    (void)tsk;
}
