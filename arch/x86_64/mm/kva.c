/*
 * arch/x86_64/mm/kva.c - the page tables of the kernel virtual area
 * (arch/kva.h): built at boot, never freed.
 *
 * WHY NEVER FREED.  A CPU caches not only translations but also the walk
 * to them (its paging-structure caches: "the PD entry for this 2 MiB points
 * at that PT").  Suppose unmapping the last stack page of a 2 MiB region
 * unhooked and freed its PT.  Mapping a page there again would allocate a
 * new PT and hook it in; "not present -> present" needs no flush for the
 * leaf, but a CPU whose paging-structure cache still holds the old PD entry
 * would walk the OLD table - by then a freed frame that may hold anything.
 * Making that safe needs one lock held across unhook -> flush on every
 * CPU -> free, taken by mapping too; with IPIs inside a spinlock that every
 * mapping path also takes with interrupts off, that deadlocks.  Linux keeps
 * the page tables of its vmalloc area for the same reason.  So:
 *
 *   - the stack region's PD and all its PTs (KVA_STACK_SLOTS slots, 512 MiB:
 *     256 PTs, 1 MiB) are allocated here, once;
 *   - the first 2 MiB of the ioremap window too (ioremap.c); further
 *     ioremap tables are allocated on demand and kept (the window is never
 *     unmapped);
 *   - paging_unmap() never unhooks a kernel-half table (paging.c), so no
 *     caller can free one by mistake.
 *
 * Allocating the stack tables up front, rather than on demand and keeping
 * them, also means that kstack_alloc() never allocates a page table and the
 * test suites' frame leak checks see no table appear in the middle of a
 * suite.
 */
#include <arch/kva.h>
#include <arch/paging.h>
#include <kernel/panic.h>

STATIC_ASSERT((uint64_t)KVA_STACK_SLOTS * KVA_STACK_SLOT % LARGE_PAGE_SIZE == 0,
              "the stack region is a whole number of page tables");

void kva_init(void)
{
    /* paging_walk(.., true) allocates the PD and PT under the (already
     * present) kernel-half PDPT. */
    uintptr_t stacks_end = KVA_STACKS_BASE + (uintptr_t)KVA_STACK_SLOTS * KVA_STACK_SLOT;
    for (uintptr_t va = KVA_STACKS_BASE; va < stacks_end; va += LARGE_PAGE_SIZE)
        if (!paging_walk(kernel_pml4, va, true))
            panic("paging_init: out of memory for the kernel stacks' page tables");
    if (!paging_walk(kernel_pml4, KVA_IOREMAP_BASE, true))
        panic("paging_init: out of memory for the ioremap page tables");
}
