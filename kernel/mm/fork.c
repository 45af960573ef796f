/*
 * kernel/mm/fork.c - copying an address space for fork, copy-on-write.
 *
 * The child gets copies of the VMAs and shares every present page with
 * the parent: the frame's refcount counts both, and both map it read-only
 * so that the first write by either side faults and gets a private copy
 * (fault.c).  Write-protecting the parent's pages is a change to page
 * tables that threads of the parent may be using on other CPUs right now:
 * until those CPUs flush, they could write through their old writable
 * translation into a frame the child now sees.  So fork flushes the parent
 * on every CPU in its cpumask before it returns, still under the parent's
 * lock (no fault of the parent can be resolved before the flush).
 *
 * A shared VMA (kernel/shm.h) is not copied on write: the child's VMA maps
 * the same object, and its pages reach the child's page tables on first
 * touch from the object (fault.c).  Nothing of the parent is
 * write-protected, so such a VMA costs fork no flush and no page walk.
 */
#include "mm_internal.h"
#include <kernel/kmalloc.h>
#include <kernel/shm.h>
#include <uapi/shootdown.h>

/* Share the parent's pages of v with the child (cursors on both: the
 * VMAs come in address order, so one PT serves many pages, and neighbour
 * VMAs often share it).  Returns 0 or -SD_ENOMEM; wp_start..wp_end grows
 * to cover the parent pages write-protected. */
static int share_vma_pages(struct pte_cursor *parent, struct pte_cursor *child, const struct vma *v,
                           uintptr_t *wp_start, uintptr_t *wp_end)
{
    for (uintptr_t va = arch_pte_cursor_next(parent, v->start, v->end); va < v->end;
         va = arch_pte_cursor_next(parent, va + PAGE_SIZE, v->end)) {
        phys_addr_t pa;
        bool wrprotected;
        int err = arch_pte_share_cow(parent, child, va, v->prot, &pa, &wrprotected);
        if (err == -SD_ENOENT)
            continue;
        if (err)
            return err;
        frame_get(pa);      /* the child's mapping */
        if (wrprotected) {
            if (va < *wp_start)
                *wp_start = va;
            /* LAB(findbug) BEGIN: the planted bug: the range's end is exclusive (one past the last page) */
            *wp_end = va + PAGE_SIZE;
            /* LAB(findbug) ELSE
            *wp_end = va;
            LAB(findbug) END */
        }
    }
    return 0;
}

struct mm *mm_fork(struct mm *parent)
{
    struct mm *child = mm_create();
    if (!child)
        return NULL;
    uintptr_t wp_start = UINTPTR_MAX, wp_end = 0;
    int err = 0;
    struct pte_cursor pc, cc;
    arch_pte_cursor_init(&pc, parent);
    arch_pte_cursor_init(&cc, child);

    /* The parent's lock only: the child is not visible to anyone else yet,
     * so it needs no lock until we hand it out (docs/locking.md). */
    mm_lock(parent);
    struct list_head *p;
    list_for_each(p, &parent->vmas) {
        const struct vma *v = list_entry(p, struct vma, link);
        struct vma *n = kmalloc(sizeof(*n));
        if (!n) {
            err = -SD_ENOMEM;
            break;
        }
        n->start = v->start;
        n->end = v->end;
        n->prot = v->prot;
        n->shm = v->shm;
        n->shm_pgoff = v->shm_pgoff;
        list_add_tail(&n->link, &child->vmas);  /* same order: stays sorted */
        if (n->shm) {
            shm_get(n->shm);
            continue;
        }
        err = share_vma_pages(&pc, &cc, v, &wp_start, &wp_end);
        if (err)
            break;
    }
    /* Even on failure: parent pages already write-protected must be flushed
     * (they stay read-only; their next write is a cheap COW reuse). */
    if (wp_start < wp_end)
        flush_tlb_mm_range(parent, wp_start, wp_end, false, TLB_CAUSE_FORK);
    mm_unlock(parent);

    if (err) {
        mmput(child);       /* drops the shared references and frees all */
        return NULL;
    }
    return child;
}
