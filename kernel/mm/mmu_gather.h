/*
 * kernel/mm/mmu_gather.h - removing mappings of a user address space in
 * batches, and freeing what they pointed to only after the TLB flush that
 * covers them returned (kernel/mm/mmu_gather.c, docs/memory.md).  Internal
 * to kernel/mm/.
 *
 * THE RULE.  Between the store that clears (or replaces) a page-table entry
 * and the return of the flush that covers it, another CPU may still use the
 * old translation: read or write the old frame, or walk an unhooked page
 * table through its paging-structure caches.  So for that time the frame
 * keeps the reference the mapping held, and the table stays allocated.  Only
 * after flush_tlb_mm_range() returned are the references dropped (a frame
 * whose last reference goes is freed) and the tables freed.
 *
 * Why the reference and not only the free: a frame shared after fork has
 * another owner.  If our reference went before the flush, that owner could
 * see "last reference" and take the page over in place (a write fault with
 * refcount 1 just makes it writable, fault.c) and write its private data
 * into it, while a thread of our mm on another CPU still reads the frame
 * through its stale TLB entry.  Holding the reference makes the other owner
 * copy instead.  Linux's mmu_gather (mm/mmu_gather.c) keeps the same
 * contract.
 *
 * Usage, all under mm->lock (the write side; a copy-on-write fault gathers
 * its one replaced page under the read side, kernel/mm/fault.c):
 *     struct mmu_gather g;
 *     mmu_gather_init(&g, mm, TLB_CAUSE_MUNMAP);
 *     mmu_gather_unmap(&g, va, true);          (any number of times)
 *     mmu_gather_finish(&g);                   (flush, then release)
 * When the batch of pages fills up, it is flushed and released early and
 * starts again: a release never comes before its flush.
 */
#pragma once
#include <kernel/mm.h>
#include <arch/paging.h>

#define MMU_GATHER_PAGES 64

struct mmu_gather {
    struct mm *mm;
    enum tlb_flush_cause cause; /* why its flushes are made (the trace) */
    uintptr_t start, end;       /* entries changed since the last flush */
    bool freed_tables;          /* the flush must drop paging-structure caches */
    struct pt_free_list tables; /* unhooked, waiting for the flush */
    unsigned npages;
    /* Frames whose mapping was removed; each still holds that mapping's
     * reference until the flush returned. */
    phys_addr_t pages[MMU_GATHER_PAGES];
};

void mmu_gather_init(struct mmu_gather *g, struct mm *mm, enum tlb_flush_cause cause);

/* Clear the entry for va, if it is mapped, and gather its frame.  With
 * `free_tables`, tables left empty are unhooked and gathered too. */
void mmu_gather_unmap(struct mmu_gather *g, uintptr_t va, bool free_tables);

/* The entry for va no longer points at `pa` (the caller replaced it, e.g.
 * by a copy-on-write copy): gather pa with the reference that entry held. */
void mmu_gather_page(struct mmu_gather *g, uintptr_t va, phys_addr_t pa);

/* Teardown: clear every entry of the user half and gather its frame,
 * unhook every table into the batch, and make the flush cover the whole
 * user half, with freed_tables.  One pass over the tables that exist: the
 * cost follows what is mapped, not the size of the VMAs. */
void mmu_gather_unmap_all(struct mmu_gather *g);

/* The teardown's choice (kernel/mm/mm.c, mm_teardown): move the tables
 * unhooked so far to `keep`, whose owner frees them later, and flush the
 * rest of the batch without freed_tables. */
void mmu_gather_keep_tables(struct mmu_gather *g, struct pt_free_list *keep);

/* Flush what was gathered, then drop the pages' references (freeing the
 * frames whose last reference went) and free the tables.  The batch is
 * empty and usable again afterwards. */
void mmu_gather_flush(struct mmu_gather *g);

/* The end of a batch: mmu_gather_flush() if anything was gathered. */
void mmu_gather_finish(struct mmu_gather *g);
