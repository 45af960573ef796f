/*
 * kernel/mm/mmu_gather.c - unmapping in batches: clear the entries, gather
 * the frames (with their references) and the emptied page tables, flush,
 * and only then release them.  The contract is in mmu_gather.h.
 *
 * Every path that removes or replaces a user mapping goes through here:
 * munmap (vma.c), the copy of a copy-on-write break (fault.c) and the
 * teardown of an address space (mm.c; fork's failure path ends there too).
 * mprotect never removes a mapping (PROT_NONE keeps the frame mapped,
 * kernel-only), so it owes no frame and frees no table.
 */
#include "mmu_gather.h"
#include "mm_internal.h"
#include "pt_free.h"
#include <kernel/panic.h>
#include <kernel/debug/tlb_inject.h>
#include <uapi/shootdown.h>

void mmu_gather_init(struct mmu_gather *g, struct mm *mm, enum tlb_flush_cause cause)
{
    g->mm = mm;
    g->cause = cause;
    g->start = UINTPTR_MAX;
    g->end = 0;
    g->freed_tables = false;
    g->tables = (struct pt_free_list)PT_FREE_LIST_INIT;
    g->npages = 0;
}

static void cover(struct mmu_gather *g, uintptr_t va)
{
    if (va < g->start)
        g->start = va;
    if (va + PAGE_SIZE > g->end)
        g->end = va + PAGE_SIZE;
}

void mmu_gather_page(struct mmu_gather *g, uintptr_t va, phys_addr_t pa)
{
    cover(g, va);
    g->pages[g->npages++] = pa;
    /* Full: flush what we have and release it, then go on.  Never the
     * other way round. */
    if (g->npages == MMU_GATHER_PAGES)
        mmu_gather_flush(g);
}

void mmu_gather_unmap(struct mmu_gather *g, uintptr_t va, bool free_tables)
{
    phys_addr_t pa;
    if (!arch_pte_unmap(g->mm, va, &pa, free_tables ? &g->tables : NULL))
        return;                 /* never faulted in */
    if (g->tables.count)
        g->freed_tables = true;
    mmu_gather_page(g, va, pa);
}

/* arch_pte_unmap_all's gather: the tables it unhooked so far are in
 * g->tables, so an early flush of a full batch must free them too. */
static void gather_unmapped(void *ctx, uintptr_t va, phys_addr_t pa)
{
    struct mmu_gather *g = ctx;
    if (g->tables.count)
        g->freed_tables = true;
    mmu_gather_page(g, va, pa);
}

void mmu_gather_unmap_all(struct mmu_gather *g)
{
    arch_pte_unmap_all(g->mm, gather_unmapped, g, &g->tables);
    g->start = 0;
    g->end = SD_USER_TOP;
    g->freed_tables = true;
}

void mmu_gather_keep_tables(struct mmu_gather *g, struct pt_free_list *keep)
{
    arch_pte_tables_splice(keep, &g->tables);
    g->freed_tables = false;
}

/* Drop the gathered pages' references; free the frames whose last went. */
static void release_pages(struct mmu_gather *g)
{
    for (unsigned i = 0; i < g->npages; i++)
        if (frame_put_is_last(g->pages[i]))
            page_free(g->pages[i], 0);
    g->npages = 0;
}

void mmu_gather_flush(struct mmu_gather *g)
{
    BUG_ON(g->tables.count && !g->freed_tables);
    if (tlb_inject(TLB_INJECT_FREE_BEFORE_FLUSH))
        release_pages(g);       /* free_before_flush: the bug this file exists to prevent */
    if (g->start < g->end || g->freed_tables)
        flush_tlb_mm_range(g->mm, g->start < g->end ? g->start : 0,
                           g->start < g->end ? g->end : 0, g->freed_tables, g->cause);
    /*
     * flush_tlb_mm_range() returned: every CPU that could hold one of the
     * old translations, or walk one of the unhooked tables, has dropped it
     * (its completion is R2 -> A2 in kernel/smp/smp_call.c).  Only now may the
     * other owners of a frame see its count fall.
     */
    release_pages(g);
    /* No CPU caches the tables now; pt_free=rcu also waits until no
     * lockless walker can be inside one (pt_free.c). */
    pt_free_tables(g->mm, &g->tables);
    mmu_gather_init(g, g->mm, g->cause);
}

void mmu_gather_finish(struct mmu_gather *g)
{
    if (g->npages || g->freed_tables || g->start < g->end)
        mmu_gather_flush(g);
}
