/*
 * kernel/mm/mm_internal.h - helpers shared by the address-space code
 * (mm.c, vma.c, fault.c, fork.c).  Not for use outside kernel/mm/.
 *
 * Frame reference counts: a user page is an order-0 frame whose struct page
 * refcount counts the address spaces that map it.  page_alloc() starts it at
 * 1 (the mm that faulted it in); fork adds one per child; removing a
 * mapping drops one and whoever drops the last frees the frame.  A page of
 * a shared memory object (kernel/shm.h) has one more: the object's own,
 * taken at allocation (so its count is above 1 while any entry maps it:
 * copy-on-write never applies to it).  A mapping's
 * reference is dropped only after the TLB flush that removes its
 * translation returned (struct mmu_gather, mmu_gather.h): until then another
 * CPU may still use it.
 */
#pragma once
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/debug/tlbcheck.h>
#include <arch/pte.h>

/*
 * mm->lock guards the VMAs and the user half's page tables.  Every change
 * of a page-table entry made under it that lowered rights must have been
 * flushed (flush_tlb_mm_range() returned) before it is released: another
 * thread of the mm that takes the lock next may rely on the old translation
 * being gone everywhere.  mm_unlock() has the shadow-TLB checker assert it
 * ("flush owed", docs/tlbcheck.md) - use it, never mutex_unlock(&mm->lock).
 */
static inline void mm_lock(struct mm *mm)
{
    mutex_lock(&mm->lock);
}

static inline void mm_unlock(struct mm *mm)
{
    tlbcheck_mm_unlock(mm);
    mutex_unlock(&mm->lock);
}

/* The VMA containing addr, or NULL.  Caller holds mm->lock. */
struct vma *vma_find(struct mm *mm, uintptr_t addr);
/* Free a VMA taken off mm->vmas, with its shared object reference. */
void vma_free(struct vma *v);

/* Map the page at va (not present, inside v) for the first time: a fresh
 * zeroed frame for private memory, the object's page for a shared VMA.
 * Caller holds mm->lock.  Returns 0 or -SD_ENOMEM. */
int map_new_page_locked(struct mm *mm, struct vma *v, uintptr_t va);

/* Make the present page at va, mapped read-only by entry `old`, privately
 * writable: copy it if it is shared, just give it write permission if this
 * mm is its last owner.  Caller holds mm->lock and has checked that the
 * VMA is writable.  Returns 0 or -SD_ENOMEM.  Counts in mm_stats. */
int cow_break_locked(struct mm *mm, struct vma *vma, uintptr_t va, pte_t old);

static inline void frame_get(phys_addr_t pa)
{
    atomic_fetch_add_explicit(&pa_to_page(pa)->refcount, 1, memory_order_relaxed);
}

static inline uint32_t frame_refcount(phys_addr_t pa)
{
    return atomic_load_explicit(&pa_to_page(pa)->refcount, memory_order_acquire);
}

/* Drop one mapping's reference - only after the flush of that mapping
 * returned (mmu_gather_flush); true when it was the last (the caller frees
 * the frame).  acq_rel: the other owner's writes
 * to the frame happen before we free it. */
static inline bool frame_put_is_last(phys_addr_t pa)
{
    return atomic_fetch_sub_explicit(&pa_to_page(pa)->refcount, 1, memory_order_acq_rel) == 1;
}
