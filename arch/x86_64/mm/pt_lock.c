/*
 * arch/x86_64/mm/pt_lock.c - one lock per page table (docs/locking.md,
 * "Page-table locks"): arch_pte_lock / arch_pte_unlock of arch/pte.h.
 *
 * Page faults hold mm->lock only for reading, several at once; two of them
 * that change entries of the same page table (PT: 512 pages, 2 MiB) are
 * ordered by that table's lock, and faults in different tables do not meet.
 *
 * Where the lock lives: in the table's frame, its struct page's owner_data
 * word (0: free, 1: held) - page_alloc() zeroes it, so every table starts
 * unlocked, and nothing has to be allocated or freed with a table (a
 * struct spinlock of its own, 40 bytes, would not fit the frame table's 16
 * bytes per frame; Linux keeps a pointer there when its spinlocks grow,
 * but an allocation per table would also change the free-frame counts the
 * tests keep exact).
 *
 * The lock-rank check (kernel/smp/lock_order.c) sees every table's lock
 * as one lock, `pt_lock_order` below, of rank PTL: a CPU holding one page
 * table's lock may take none of another (two of one rank), and the
 * checker's locks (TC_MM, TC_FRAME), which the PTE hooks take under it,
 * rank below it.  Like every lock ranked at or above SLEEPERS, it is held
 * with interrupts off (rule 2), and it disables preemption as a spinlock
 * does.  Never wait for other CPUs with it held (rule 3).
 *
 * Test-and-set with a read-only wait: held for a few hundred instructions
 * (a leaf store with its checker hook, or the copy of one page), by faults
 * of one mm only.
 */
#include <arch/pte.h>
#include <arch/paging.h>
#include <arch/cpu.h>
#include <kernel/page_alloc.h>
#include <kernel/mm.h>
#include <kernel/preempt.h>
#include <kernel/spinlock.h>
#include <kernel/lock_order.h>
#include <kernel/panic.h>
#include <arch/x86/x86.h>

/* The identity of every page table's lock for the rank check (its own
 * fields are never locked). */
static struct spinlock pt_lock_order = SPINLOCK_INIT("pt.lock", LOCK_RANK_PTL);

static uint16_t *lock_word(const pte_t *entry)
{
    uintptr_t table = (uintptr_t)entry & ~(uintptr_t)(PAGE_SIZE - 1);
    return &pa_to_page(virt_to_phys((void *)table))->owner_data;
}

void pt_lock_entry_table(const pte_t *entry, struct pte_lock *l)
{
    l->word = lock_word(entry);
    l->flags = arch_irq_save();
    preempt_disable();
    lock_order_check(&pt_lock_order);
    /* Acquire: pairs with the release store in pt_unlock. */
    while (__atomic_exchange_n(l->word, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l->word, __ATOMIC_RELAXED))
            arch_cpu_relax();
    lock_order_acquired(&pt_lock_order);
}

void arch_pte_unlock(struct pte_lock *l)
{
    lock_order_released(&pt_lock_order);
    __atomic_store_n(l->word, 0, __ATOMIC_RELEASE);
    preempt_enable();
    arch_irq_restore(l->flags);
}

bool arch_pte_lock(struct mm *mm, uintptr_t va, struct pte_lock *l)
{
    pte_t *pte = paging_walk(mm->pml4, va, false);
    if (!pte)
        return false;
    pt_lock_entry_table(pte, l);
    return true;
}
