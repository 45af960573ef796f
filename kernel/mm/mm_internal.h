/*
 * kernel/mm/mm_internal.h - helpers shared by the address-space code
 * (mm.c, vma.c, fault.c, fork.c).  Not for use outside kernel/mm/.
 *
 * Frame reference counts: a user page is an order-0 frame whose struct page
 * refcount counts the address spaces that map it.  page_alloc() starts it at
 * 1 (the mm that faulted it in); fork adds one per child; unmapping drops
 * one and the mapping that drops the last frees the frame - but only after
 * the TLB flush that removes the last translation (struct unmap_batch).
 */
#pragma once
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <arch/paging.h>

/* The VMA containing addr, or NULL.  Caller holds mm->lock. */
struct vma *vma_find(struct mm *mm, uintptr_t addr);

/* Leaf flags for a page of a VMA with `prot` that this mm owns alone.
 * A shared (copy-on-write) page gets the same without PTE_W. */
uint64_t vma_pte_flags(unsigned prot);

/* Make the present page at va, mapped read-only by *pte, privately writable:
 * copy it if it is shared, just set PTE_W if this mm is its last owner.
 * Caller holds mm->lock and has checked that the VMA is writable.
 * Returns 0 or -SD_ENOMEM.  Counts in mm_stats. */
int cow_break_locked(struct mm *mm, struct vma *vma, uintptr_t va, pte_t *pte);

static inline void frame_get(phys_addr_t pa)
{
    atomic_fetch_add_explicit(&pa_to_page(pa)->refcount, 1, memory_order_relaxed);
}

static inline uint32_t frame_refcount(phys_addr_t pa)
{
    return atomic_load_explicit(&pa_to_page(pa)->refcount, memory_order_acquire);
}

/* Drop one mapping's reference; true when it was the last (the caller then
 * frees the frame, after the TLB flush).  acq_rel: the other owner's writes
 * to the frame happen before we free it. */
static inline bool frame_put_is_last(phys_addr_t pa)
{
    return atomic_fetch_sub_explicit(&pa_to_page(pa)->refcount, 1, memory_order_acq_rel) == 1;
}

/*
 * Unmapping in batches: page-table entries are cleared first, the frames
 * whose last reference went and the emptied tables are collected, and only
 * after flush_tlb_mm_range() over the range touched so far are they given
 * back to the allocator (a CPU may use a stale translation, or walk a stale
 * table, until it has flushed).
 */
#define UNMAP_BATCH_FRAMES 64
struct unmap_batch {
    struct mm *mm;
    uintptr_t start, end;           /* range cleared since the last flush */
    struct pt_free_list tables;
    unsigned nframes;
    phys_addr_t frames[UNMAP_BATCH_FRAMES];
};
void unmap_batch_init(struct unmap_batch *b, struct mm *mm);
/* Clear the entry for va (if any); `free_tables` unhooks emptied tables. */
void unmap_batch_page(struct unmap_batch *b, uintptr_t va, bool free_tables);
/* Flush (freed_tables if any table is on the list, or `force_tables`), then
 * free the frames and tables.  Leaves the batch empty and reusable. */
void unmap_batch_finish(struct unmap_batch *b, bool force_tables);

/* Unmap every page of [start, end), freeing emptied tables (mm->lock held). */
void unmap_pages_locked(struct mm *mm, struct unmap_batch *b, uintptr_t start, uintptr_t end);

