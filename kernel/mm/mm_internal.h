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
 * mm->lock (a read/write semaphore, kernel/rwsem.h) guards the VMAs and the
 * user half's page tables (docs/locking.md, "The address-space lock"):
 *   - for writing (mm_lock/mm_unlock): everything that changes the VMAs or
 *     lowers rights over ranges, or frees page tables - mmap, munmap,
 *     mprotect, fork (the parent's write-protect), the teardown, mm_write;
 *   - for reading (mm_read_lock/mm_read_unlock): page faults (demand-zero,
 *     shared first touch, copy-on-write) and the lookups that only read
 *     VMAs.  Readers run at the same time; two readers that change entries
 *     of one page table are ordered by that table's lock
 *     (arch_pte_lock), and new tables are installed race-free
 *     (arch/x86_64/mm/paging.c).  No page table is freed under the read
 *     side.
 * Every change of a page-table entry that lowered rights must have been
 * flushed (flush_tlb_mm_range() returned) before its author lets go: the
 * writer before mm_unlock() (the next holder may rely on the old
 * translation being gone everywhere), a reader before mm_read_unlock() (for
 * its OWN changes: other readers flush theirs).  The shadow-TLB checker
 * asserts both ("flush owed", docs/tlbcheck.md) - use these, never
 * up_write/up_read on mm->lock directly.
 */
static inline void mm_lock(struct mm *mm)
{
    down_write(&mm->lock);
}

static inline void mm_unlock(struct mm *mm)
{
    tlbcheck_mm_unlock(mm);
    up_write(&mm->lock);
}

static inline void mm_read_lock(struct mm *mm)
{
    down_read(&mm->lock);
}

static inline void mm_read_unlock(struct mm *mm)
{
    tlbcheck_mm_read_unlock(mm);
    up_read(&mm->lock);
}

/* The VMA containing addr, or NULL.  Caller holds mm->lock (either side). */
struct vma *vma_find(struct mm *mm, uintptr_t addr);
/* Free a VMA taken off mm->vmas, with its shared object reference. */
void vma_free(struct vma *v);

/* Map the page at va (not present, inside v) for the first time: a fresh
 * zeroed frame for private memory, the object's page for a shared VMA.
 * Caller holds mm->lock (either side).  Returns 0 (also when another
 * thread mapped it first) or -SD_ENOMEM. */
int map_new_page_locked(struct mm *mm, struct vma *v, uintptr_t va);

/* Make the present page at va, mapped read-only by entry `old`, privately
 * writable: copy it if it is shared, just give it write permission if this
 * mm is its last owner.  Caller holds mm->lock (either side) and has
 * checked that the VMA is writable.  Returns 0 (also when another thread
 * changed the entry first: the access is retried) or -SD_ENOMEM.  Counts
 * in mm_stats. */
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
