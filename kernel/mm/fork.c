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
 * lock (no fault of the parent can be resolved before the flush): one flush
 * per VMA it write-protected pages of when the parent has no other thread,
 * one flush over all of them otherwise (mm_fork says why).
 *
 * One page is copied at once instead (fork_copy_now): the page under the
 * forking thread's stack pointer, when the parent has no other thread.
 * Both sides write it first thing - the parent as fork returns, the child
 * as it starts - so sharing it only buys two faults (a copy in one, a reuse
 * in the other) and, in the parent, a flush of one more page.
 *
 * A shared VMA (kernel/shm.h) is not copied on write: the child's VMA maps
 * the same object, and its pages reach the child's page tables on first
 * touch from the object (fault.c).  Nothing of the parent is
 * write-protected, so such a VMA costs fork no flush and no page walk.
 */
#include "mm_internal.h"
#include <kernel/kmalloc.h>
#include <kernel/page_alloc.h>
#include <kernel/shm.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

/*
 * The page at va of a parent with no other thread, for the child now: a
 * copy of the frame the parent maps writable at va, mapped writable in the
 * child; the parent's entry is not touched (no flush owed for it).  The
 * copy is a snapshot only because no other thread can write the page
 * meanwhile: the forking thread is in the kernel, and the parent has no
 * other (mm_fork checks mm_users under its lock; only this thread could
 * make one).  Returns 0 when copied, -SD_ENOENT when the parent's entry is
 * not present and writable (then the page is shared like any other: a
 * read-only entry has owners already), -SD_ENOMEM.
 */
static int fork_copy_now(struct mm *parent, struct mm *child, uintptr_t va, unsigned prot)
{
    pte_t e = arch_pte_get(parent, va);
    if (!arch_pte_present(e) || !arch_pte_writable(e))
        return -SD_ENOENT;
    phys_addr_t copy = page_alloc(0);
    if (!copy)
        return -SD_ENOMEM;
    memcpy(phys_to_virt(copy), phys_to_virt(arch_pte_frame(e)), PAGE_SIZE);
    /* The child's entry is empty (fork fills each once) and nobody else
     * sees the child yet. */
    int err = arch_pte_map(child, va, copy, prot);
    if (err) {
        page_free(copy, 0);                 /* never mapped */
        return err == -SD_EEXIST ? -SD_ENOENT : err;
    }
    atomic_fetch_add(&mm_stats.fork_copies, 1);
    return 0;
}

/* Share the parent's pages of v with the child (cursors on both: the
 * VMAs come in address order, so one PT serves many pages, and neighbour
 * VMAs often share it), but copy the page at copy_now (fork_copy_now; -1:
 * none).  Returns 0 or -SD_ENOMEM; wp_start..wp_end grows to cover the
 * parent pages write-protected. */
static int share_vma_pages(struct pte_cursor *parent, struct pte_cursor *child, const struct vma *v,
                           uintptr_t copy_now, uintptr_t *wp_start, uintptr_t *wp_end)
{
    for (uintptr_t va = arch_pte_cursor_next(parent, v->start, v->end); va < v->end;
         va = arch_pte_cursor_next(parent, va + PAGE_SIZE, v->end)) {
        if (va == copy_now) {
            int err = fork_copy_now(parent->mm, child->mm, va, v->prot);
            if (err != -SD_ENOENT) {
                if (err)
                    return err;
                continue;
            }
        }
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
    return mm_fork_thread(parent, 0);
}

struct mm *mm_fork_thread(struct mm *parent, uintptr_t user_sp)
{
    struct mm *child = mm_create();
    if (!child)
        return NULL;
    uintptr_t all_start = UINTPTR_MAX, all_end = 0;
    int err = 0;
    struct pte_cursor pc, cc;
    arch_pte_cursor_init(&pc, parent);
    arch_pte_cursor_init(&cc, child);

    /* The parent's lock only: the child is not visible to anyone else yet,
     * so it needs no lock until we hand it out (docs/locking.md). */
    mm_lock(parent);
    /*
     * The flush of the parent's write-protected pages.  They lie far apart
     * (the data pages near the program, the stack at the top of the user
     * half), so one range over them all is a full flush: every translation
     * of the parent dropped and walked again (on an emulator, the CPU's whole
     * software TLB) for a handful of pages.  A parent whose mm has no other
     * user (a single-threaded process: the forking thread is its only one,
     * so none can start meanwhile) has no other CPU to call, so it flushes
     * each VMA's pages right after write-protecting them: INVLPGs only, and
     * each flush covers every change made before it, as its generation says
     * (invariant G, arch/x86_64/mm/tlb.c).  With other users, an IPI round
     * per VMA would cost more: one flush over everything at the end.
     */
    bool per_vma = atomic_load(&parent->mm_users) == 1;
    /* The page of the stack pointer's next push: both sides write it
     * first (fork_copy_now).  Only with no other thread. */
    uintptr_t copy_now = per_vma && user_sp ? ALIGN_DOWN(user_sp - 8, PAGE_SIZE) : (uintptr_t)-1;
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
        uintptr_t wp_start = UINTPTR_MAX, wp_end = 0;
        err = share_vma_pages(&pc, &cc, v, copy_now, &wp_start, &wp_end);
        /* Even on failure: parent pages already write-protected must be
         * flushed (they stay read-only; their next write is a cheap COW
         * reuse). */
        if (per_vma && wp_start < wp_end)
            flush_tlb_mm_range(parent, wp_start, wp_end, false, TLB_CAUSE_FORK);
        if (!per_vma && wp_start < all_start)
            all_start = wp_start;
        if (!per_vma && wp_end > all_end)
            all_end = wp_end;
        if (err)
            break;
    }
    if (all_start < all_end)
        flush_tlb_mm_range(parent, all_start, all_end, false, TLB_CAUSE_FORK);
    mm_unlock(parent);

    if (err) {
        mmput(child);       /* drops the shared references and frees all */
        return NULL;
    }
    return child;
}
