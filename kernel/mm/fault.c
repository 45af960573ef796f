/*
 * kernel/mm/fault.c - resolving page faults in user address spaces.
 *
 * Two kinds of fault are legitimate and fixed here; every other one is the
 * program's (or a bad user pointer's) fault and gets -SD_EFAULT:
 *   - demand-zero: the first touch of a page of a VMA maps a fresh zeroed
 *     frame (mmap allocates nothing);
 *   - copy-on-write: a write to a present read-only page inside a writable
 *     VMA.  After fork both address spaces map the same frame read-only and
 *     its refcount counts them; the writer gets its own copy, or - when it
 *     is the last owner left (refcount 1) - simply gets the page back
 *     writable.
 *   - a shared mapping's first touch in this mm maps the shared object's
 *     page (kernel/shm.h); shared pages are never copied on write.
 * Faults take mm->lock for READING (kernel/mm/mm_internal.h): the threads
 * of one process fault at the same time on several CPUs, and their
 * copy-on-write flushes of one mm overlap (docs/tlb.md, "Generations under
 * concurrent flushes").  An entry is read without a lock, then tested again
 * and changed under the lock of its page table (arch_pte_lock): when
 * another faulter changed it first, nothing is done and the access is
 * retried, finding the other's result.  mm->lock may sleep: never call
 * mm_handle_fault() with a spinlock held or interrupts off.
 */
#include "mm_internal.h"
#include "mmu_gather.h"
#include <kernel/panic.h>
#include <kernel/shm.h>
#include <kernel/debug/tlb_inject.h>
#include <kernel/debug/mm_events.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

/* Does the VMA allow this access at all?  On x86 every mapped page is
 * readable, so any of READ/WRITE/EXEC grants reads. */
static bool vma_allows(const struct vma *v, bool write, bool exec)
{
    if (write && !(v->prot & SD_PROT_WRITE))
        return false;
    if (exec && !(v->prot & SD_PROT_EXEC))
        return false;
    return (v->prot & (SD_PROT_READ | SD_PROT_WRITE | SD_PROT_EXEC)) != 0;
}

/* The entry for va still maps what `old` mapped, with the same rights (the
 * accessed bit, which the CPU may set meanwhile, does not count).  Caller
 * holds va's page-table lock. */
static bool entry_unchanged(struct mm *mm, uintptr_t va, pte_t old)
{
    pte_t now = arch_pte_get(mm, va);
    return arch_pte_present(now) && arch_pte_frame(now) == arch_pte_frame(old) &&
           arch_pte_writable(now) == arch_pte_writable(old);
}

int cow_break_locked(struct mm *mm, struct vma *vma, uintptr_t va, pte_t old)
{
    phys_addr_t old_pa = arch_pte_frame(old);
    /*
     * A frame with other owners is copied: its copy is allocated before the
     * page table's lock is taken (page_alloc is not for under it), so that
     * one locked round decides and maps.  The count read here without the
     * lock is a hint only, and a safe one: while we hold mm->lock the
     * frame's owners can only go (only fork of this mm adds owners, and it
     * holds mm->lock for writing), so a 1 stays 1, and a count that falls
     * to 1 meanwhile is found under the lock (the copy then goes unused).
     * If the entry moved on meanwhile, the frame may even be another one
     * now: the test under the lock finds that too.
     */
    phys_addr_t copy = 0;
    if (frame_refcount(old_pa) != 1) {
        copy = page_alloc(0);
        if (!copy)
            return -SD_ENOMEM;
        mm_ev_cow_copy_allocated(va);       /* a test's pause before the test below */
    }
    /* Present, so its table exists; it stays while we hold mm->lock. */
    struct pte_lock ptl;
    bool locked = arch_pte_lock(mm, va, &ptl);
    BUG_ON(!locked);
    if (!entry_unchanged(mm, va, old)) {
        /* Another thread of this mm broke it first (maybe while we
         * allocated): its result is mapped; retry the access. */
        arch_pte_unlock(&ptl);
        if (copy) {
            page_free(copy, 0);             /* never mapped */
            atomic_fetch_add(&mm_stats.cow_copy_raced, 1);
        }
        return 0;
    }
    /*
     * Last owner: nobody else maps the frame and nobody can start to (see
     * above; an unmapping owner keeps its reference until its flush
     * returned, mmu_gather.h), so the page is ours to write.  Raising
     * rights needs no remote flush: a CPU with the old read-only
     * translation takes a spurious fault that finds the entry writable.
     */
    if (frame_refcount(old_pa) == 1) {
        arch_pte_protect(mm, va, vma->prot);
        arch_pte_unlock(&ptl);
        local_flush_tlb_page(va);
        if (copy)
            page_free(copy, 0);             /* the other owners left meanwhile: never mapped */
        atomic_fetch_add(&mm_stats.cow_reuses, 1);
        return 0;
    }
    BUG_ON(!copy);                          /* a count of 1 never grows under mm->lock */
    /* Under the lock the entry still maps old_pa, and its reference keeps
     * the frame: copy it now. */
    memcpy(phys_to_virt(copy), phys_to_virt(old_pa), PAGE_SIZE);
    /* Point the entry at the copy in one store: a CPU sees either the old
     * shared frame read-only or the private copy. */
    struct mmu_gather g;
    mmu_gather_init(&g, mm, TLB_CAUSE_COW);
    BUG_ON(arch_pte_replace(mm, va, copy, vma->prot) != old_pa);
    mmu_gather_page(&g, va, old_pa);
    arch_pte_unlock(&ptl);
    /* Threads of this mm on other CPUs may hold the old translation and
     * would go on reading the shared frame while we write the copy; and our
     * reference to it must outlive that translation (mmu_gather.h): the
     * other owners hold their own mm's lock, not ours, and whoever drops
     * the last reference frees.  The flush waits for other CPUs: after the
     * page-table lock (docs/locking.md, rule 3), still under mm->lock -
     * our own change is flushed before the fault returns, while other
     * faulters' flushes of this mm may overlap it (docs/tlb.md). */
    mmu_gather_finish(&g);
    atomic_fetch_add(&mm_stats.cow_copies, 1);
    return 0;
}

int map_new_page_locked(struct mm *mm, struct vma *v, uintptr_t va)
{
    phys_addr_t pa;
    if (v->shm) {
        /* The object's page (allocated at its first touch through any
         * mapping), with a reference for our entry. */
        pa = shm_frame(v->shm, v->shm_pgoff + (va - v->start) / PAGE_SIZE);
        if (!pa)
            return -SD_ENOMEM;
        /* shm_no_get: the first unmap then frees the frame under every
         * other mapping (the checker's frame_mapped rule). */
        if (!tlb_inject(TLB_INJECT_SHM_NO_GET))
            frame_get(pa);
    } else {
        pa = page_alloc_zeroed(0);
        if (!pa)
            return -SD_ENOMEM;
    }
    int err = arch_pte_map(mm, va, pa, v->prot);
    if (err) {
        /* Never mapped, so never in a TLB: our reference goes at once
         * (the last one only for a private page).  -SD_EEXIST: another
         * faulter of this mm mapped the page first - the access retries
         * and finds its page. */
        if (frame_put_is_last(pa))
            page_free(pa, 0);
        return err == -SD_EEXIST ? 0 : -SD_ENOMEM;
    }
    atomic_fetch_add(v->shm ? &mm_stats.shared_faults : &mm_stats.demand_zero_faults, 1);
    return 0;
}

int mm_handle_fault(struct mm *mm, uintptr_t addr, bool write, bool exec, bool user)
{
    (void)user;     /* a kernel access to a user address follows the same rules */
    if (!mm || mm == &init_mm || addr >= SD_USER_TOP)
        return -SD_EFAULT;
    uintptr_t page = ALIGN_DOWN(addr, PAGE_SIZE);
    int ret = 0;

    mm_read_lock(mm);
    struct vma *v = vma_find(mm, page);
    if (!v || !vma_allows(v, write, exec)) {
        ret = -SD_EFAULT;
        goto out;
    }
    pte_t e = arch_pte_get(mm, page);
    if (!arch_pte_present(e)) {
        /* Demand-zero, or a shared page: the first touch in this mm. */
        ret = map_new_page_locked(mm, v, page);
        goto out;
    }
    if (write && !arch_pte_writable(e) && v->shm) {
        /* A shared page is never copied: its entry follows the VMA's rights
         * (mprotect sets both), so only raise them.  No remote flush, as
         * for any raise of rights.  Under the page table's lock: another
         * faulter may be raising them too. */
        struct pte_lock ptl;
        bool locked = arch_pte_lock(mm, page, &ptl);    /* present: its table exists */
        BUG_ON(!locked);
        arch_pte_protect(mm, page, v->prot);
        arch_pte_unlock(&ptl);
        local_flush_tlb_page(page);
        goto out;
    }
    if (write && !arch_pte_writable(e)) {
        /* The VMA is writable (checked above), the page is not: COW. */
        ret = cow_break_locked(mm, v, page, e);
        goto out;
    }
    /*
     * The entry already allows the access: another thread fixed it first,
     * or this CPU held an older, narrower translation (rights are raised
     * without a remote flush).  Drop ours and let the access retry.
     */
    local_flush_tlb_page(page);
out:
    mm_read_unlock(mm);
    return ret;
}
