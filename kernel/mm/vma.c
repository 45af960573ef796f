/*
 * kernel/mm/vma.c - the regions of an address space (mm->vmas) and the
 * operations on them: mmap (anonymous), munmap, mprotect, finding a free
 * range, and writing into an address space from the kernel.
 *
 * mm->vmas is sorted by start and the VMAs never overlap; all of it is
 * guarded by mm->lock, as are the user half's page tables: every change
 * here takes it for writing (mm_internal.h); mm_find_free only reads.  Pages are not
 * allocated by mmap: the first touch faults them in (fault.c).  A shared
 * VMA (v->shm) maps the pages of a shared memory object (kernel/shm.h).
 */
#include "mm_internal.h"
#include "mmu_gather.h"
#include <kernel/kmalloc.h>
#include <kernel/panic.h>
#include <kernel/shm.h>
#include <kernel/debug/tlb_inject.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

#define PROT_ALL (SD_PROT_READ | SD_PROT_WRITE | SD_PROT_EXEC)

struct vma *vma_find(struct mm *mm, uintptr_t addr)
{
    struct list_head *p;
    list_for_each(p, &mm->vmas) {
        struct vma *v = list_entry(p, struct vma, link);
        if (addr < v->start)
            return NULL;        /* sorted: no later VMA can contain it */
        if (addr < v->end)
            return v;
    }
    return NULL;
}

/* [addr, addr+len) is page aligned, non-empty and inside the user half. */
static bool user_range_valid(uintptr_t addr, size_t len)
{
    if ((addr | len) & (PAGE_SIZE - 1) || len == 0)
        return false;
    if (addr < PAGE_SIZE || addr >= SD_USER_TOP || len > SD_USER_TOP - addr)
        return false;
    return true;
}

/* Cut v in two at `at` (strictly inside it): v keeps [start, at), the new
 * VMA after it gets [at, end).  Page tables are untouched: the split is
 * only bookkeeping.  Returns 0 or -SD_ENOMEM. */
static int vma_split(struct vma *v, uintptr_t at)
{
    BUG_ON(at <= v->start || at >= v->end);
    struct vma *n = kmalloc(sizeof(*n));
    if (!n)
        return -SD_ENOMEM;
    n->start = at;
    n->end = v->end;
    n->prot = v->prot;
    n->shm = v->shm;
    n->shm_pgoff = v->shm_pgoff + (at - v->start) / PAGE_SIZE;
    if (n->shm)
        shm_get(n->shm);        /* each half maps the object */
    v->end = at;
    list_add(&n->link, &v->link);
    return 0;
}

/* Split the VMAs that straddle addr or end, so that [addr, end) is covered
 * by whole VMAs only.  On failure nothing is lost: an extra split is
 * harmless. */
static int split_at_edges(struct mm *mm, uintptr_t addr, uintptr_t end)
{
    struct vma *v = vma_find(mm, addr);
    if (v && v->start < addr) {
        int err = vma_split(v, addr);
        if (err)
            return err;
    }
    v = vma_find(mm, end - 1);
    if (v && v->end > end)
        return vma_split(v, end);
    return 0;
}

void vma_free(struct vma *v)
{
    if (v->shm)
        shm_put(v->shm);
    kfree(v);
}

static int map_vma(struct mm *mm, uintptr_t addr, size_t len, unsigned prot, struct shm *shm,
                   size_t pgoff)
{
    if (!user_range_valid(addr, len) || (prot & ~PROT_ALL))
        return -SD_EINVAL;
    if (shm && (pgoff > shm->npages || len / PAGE_SIZE > shm->npages - pgoff))
        return -SD_EINVAL;
    struct vma *n = kmalloc(sizeof(*n));
    if (!n)
        return -SD_ENOMEM;
    n->start = addr;
    n->end = addr + len;
    n->prot = prot;
    n->shm = shm;
    n->shm_pgoff = pgoff;

    mm_lock(mm);
    /* Insert before the first VMA that starts at or after our end, if
     * nothing overlaps. */
    struct list_head *p, *before = &mm->vmas;
    list_for_each(p, &mm->vmas) {
        struct vma *v = list_entry(p, struct vma, link);
        if (v->end <= n->start)
            continue;
        if (v->start < n->end) {
            mm_unlock(mm);
            kfree(n);
            return -SD_EEXIST;
        }
        before = p;
        break;
    }
    if (shm)
        shm_get(shm);
    list_add_tail(&n->link, before);
    mm_unlock(mm);
    return 0;
}

int mm_map_anon(struct mm *mm, uintptr_t addr, size_t len, unsigned prot)
{
    return map_vma(mm, addr, len, prot, NULL, 0);
}

int mm_map_shm(struct mm *mm, uintptr_t addr, size_t len, unsigned prot, struct shm *shm,
               size_t pgoff)
{
    return map_vma(mm, addr, len, prot, shm, pgoff);
}

uintptr_t mm_find_free(struct mm *mm, uintptr_t hint, size_t len)
{
    if (hint == 0)
        hint = SD_USER_MMAP_BASE;
    hint = ALIGN_UP(hint, PAGE_SIZE);
    len = ALIGN_UP(len, PAGE_SIZE);
    if (len == 0 || hint < PAGE_SIZE || hint >= SD_USER_TOP || len > SD_USER_TOP - hint)
        return 0;
    uintptr_t found = 0, cand = hint;
    mm_read_lock(mm);
    struct list_head *p;
    list_for_each(p, &mm->vmas) {
        struct vma *v = list_entry(p, struct vma, link);
        if (v->end <= cand)
            continue;
        if (v->start >= cand + len)
            break;              /* the gap before v fits */
        cand = v->end;          /* overlaps: try right after it */
        if (len > SD_USER_TOP - cand) {
            cand = 0;
            break;
        }
    }
    if (cand && len <= SD_USER_TOP - cand)
        found = cand;
    mm_read_unlock(mm);
    return found;
}

int mm_unmap(struct mm *mm, uintptr_t addr, size_t len)
{
    if (!user_range_valid(addr, len))
        return -SD_EINVAL;
    uintptr_t end = addr + len;
    mm_lock(mm);
    int err = split_at_edges(mm, addr, end);
    if (err) {
        mm_unlock(mm);
        return err;
    }
    struct mmu_gather g;
    mmu_gather_init(&g, mm, TLB_CAUSE_MUNMAP);
    struct list_head *p, *tmp;
    list_for_each_safe(p, tmp, &mm->vmas) {
        struct vma *v = list_entry(p, struct vma, link);
        if (v->end <= addr)
            continue;
        if (v->start >= end)
            break;
        for (uintptr_t va = arch_pte_next(mm, v->start, v->end); va < v->end;
             va = arch_pte_next(mm, va + PAGE_SIZE, v->end))
            mmu_gather_unmap(&g, va, true);
        list_del(&v->link);
        /* A shared object's own frame references may go now: each frame
         * unmapped above keeps the reference of its entry in the batch
         * until the flush (kernel/mm/shm.c). */
        vma_free(v);
    }
    /* Frames and tables go only after the flush (mmu_gather.h). */
    mmu_gather_finish(&g);
    mm_unlock(mm);
    return 0;
}

int mm_protect(struct mm *mm, uintptr_t addr, size_t len, unsigned prot)
{
    if (!user_range_valid(addr, len) || (prot & ~PROT_ALL))
        return -SD_EINVAL;
    uintptr_t end = addr + len;
    mm_lock(mm);
    /* Like POSIX mprotect: the whole range must be mapped. */
    for (uintptr_t a = addr; a < end;) {
        struct vma *v = vma_find(mm, a);
        if (!v) {
            mm_unlock(mm);
            return -SD_ENOMEM;
        }
        a = v->end;
    }
    int err = split_at_edges(mm, addr, end);
    if (err) {
        mm_unlock(mm);
        return err;
    }
    uintptr_t changed_start = UINTPTR_MAX, changed_end = 0;
    for (uintptr_t a = addr; a < end;) {
        struct vma *v = vma_find(mm, a);
        v->prot = prot;
        for (uintptr_t va = arch_pte_next(mm, v->start, v->end); va < v->end;
             va = arch_pte_next(mm, va + PAGE_SIZE, v->end)) {
            pte_t e = arch_pte_get(mm, va);
            if (!arch_pte_present(e))
                continue;
            /* A private page still shared with another mm after fork
             * stays read-only: the first write copies it (fault.c).  A
             * shared mapping's pages are meant to be shared (their count
             * includes the object's reference): never copy-on-write. */
            unsigned p = prot;
            if (!v->shm && frame_refcount(arch_pte_frame(e)) > 1)
                p |= PROT_COW;
            if (!arch_pte_protect(mm, va, p))
                continue;
            if (va < changed_start)
                changed_start = va;
            changed_end = va + PAGE_SIZE;
        }
        a = v->end;
    }
    /* Reduced rights must be gone on every CPU before we return; raised
     * ones would only cost a spurious fault, but one flush covers both. */
    if (changed_start < changed_end && !tlb_inject(TLB_INJECT_SKIP_FLUSH))
        flush_tlb_mm_range(mm, changed_start, changed_end, false, TLB_CAUSE_MPROTECT);
    mm_unlock(mm);
    return 0;
}

int mm_write(struct mm *mm, uintptr_t uaddr, const void *src, size_t len)
{
    if (len == 0)
        return 0;
    if (uaddr >= SD_USER_TOP || len > SD_USER_TOP - uaddr)
        return -SD_EFAULT;
    const uint8_t *from = src;
    int err = 0;
    mm_lock(mm);
    while (len) {
        uintptr_t page = ALIGN_DOWN(uaddr, PAGE_SIZE);
        size_t off = uaddr - page;
        size_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
        struct vma *v = vma_find(mm, page);
        if (!v) {
            err = -SD_EFAULT;
            break;
        }
        pte_t e = arch_pte_get(mm, page);
        if (!arch_pte_present(e)) {
            err = map_new_page_locked(mm, v, page);
            if (err)
                break;
        } else if (!v->shm && frame_refcount(arch_pte_frame(e)) > 1) {
            /* Shared after fork: the other owner must not see our write. */
            err = cow_break_locked(mm, v, page, e);
            if (err)
                break;
        }
        /* Through the direct map: the mm need not be loaded here, and the
         * VMA's protections do not apply to the kernel's own writes. */
        e = arch_pte_get(mm, page);
        memcpy((uint8_t *)phys_to_virt(arch_pte_frame(e)) + off, from, n);
        from += n;
        uaddr += n;
        len -= n;
    }
    mm_unlock(mm);
    return err;
}
