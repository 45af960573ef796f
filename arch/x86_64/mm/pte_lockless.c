/*
 * arch/x86_64/mm/pte_lockless.c - looking up a user page without the mm's
 * lock, for the lockless walk of kernel/mm/pt_walk.c (arch/pte.h,
 * docs/rcu.md "The lockless walker").
 *
 * The walk reads each level's entry once (READ_ONCE: a concurrent unmap
 * may clear it, and the compiler must not read it twice and act on two
 * different values) and follows it only if it is present and not a large
 * page.  What keeps a table it follows from being freed and reused under
 * it is not here but in its caller's bracket: interrupts off (pt_free=ipi:
 * the freeing side waits for its flush IPI, which this CPU cannot take
 * until the walk is over) or an RCU reader (pt_free=rcu: the tables wait
 * for a grace period).  Hardware walks the same tables the same way; this
 * is the software twin of a page walk, with the bracket in the role of the
 * flush that ends a paging-structure cache entry.
 *
 * Each table entered is announced to the checker before the first load
 * from it (tlbcheck_walk_enter), so that a table freed while a walk is in
 * it is reported (tlbcheck_table_release).
 */
#include <arch/pte.h>
#include <arch/paging.h>
#include <kernel/mm.h>
#include <kernel/debug/tlbcheck.h>
#include <uapi/shootdown.h>

bool arch_pte_lookup_lockless(struct mm *mm, uintptr_t va, bool write, struct arch_pte_ref *ref,
                              phys_addr_t *frame)
{
    if (va >= SD_USER_TOP)
        return false;
    const pte_t *table = mm->pml4;
    const unsigned index[3] = { PML4_INDEX(va), PDPT_INDEX(va), PD_INDEX(va) };
    for (unsigned level = 0; level < 3; level++) {
        pte_t e = READ_ONCE(table[index[level]]);
        if (!(e & PTE_P) || (e & PTE_PS))
            return false;
        tlbcheck_walk_enter(level, e & PTE_ADDR);
        table = phys_to_virt(e & PTE_ADDR);
    }
    const pte_t *slot = &table[PT_INDEX(va)];
    pte_t e = READ_ONCE(*slot);
    if ((e & (PTE_P | PTE_U)) != (PTE_P | PTE_U) || (write && !(e & PTE_W)))
        return false;
    ref->slot = slot;
    ref->entry = e;
    *frame = e & PTE_ADDR;
    return true;
}

bool arch_pte_ref_unchanged(const struct arch_pte_ref *ref)
{
    return READ_ONCE(*ref->slot) == ref->entry;
}

void arch_pte_lockless_end(void)
{
    tlbcheck_walk_end();
}
