/*
 * arch/x86_64/mm/pte.c - the PTE-update interface for user address spaces
 * (arch/pte.h): every store to an entry of an mm's tree, each reported to
 * the shadow-TLB checker by the function that makes it.
 *
 * Locking (docs/locking.md): the caller holds mm->lock.  Under its write
 * side nothing else changes the tree.  Under its read side (page faults)
 * other faulters may change entries of the same tables at the same time:
 * arch_pte_map takes the PT's lock itself, and a caller that reads an entry
 * and then changes it (copy-on-write, raising rights) holds the PT's lock
 * (arch_pte_lock, pt_lock.c) across both.
 *
 * The hook is called right after the store, with the old and the new
 * entry, under mm->lock and before the caller's flush takes its token:
 * the ordering fact (b) of docs/tlbcheck.md ("a change is recorded before
 * flush_tlb_mm_range() takes its token and bumps tlb_gen").  Every store is
 * reported, mappings of empty entries too: the checker itself decides which
 * changes need a flush (tc_pte_change_needs_flush).
 */
#include <arch/pte.h>
#include <arch/paging.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/debug/tlbcheck.h>
#include <uapi/shootdown.h>

#define PROT_ALL (SD_PROT_READ | SD_PROT_WRITE | SD_PROT_EXEC)

/*
 * The leaf flags for `prot`.  x86 cannot map a page that is present but
 * inaccessible to user mode, so a PROT_NONE page is a kernel-only page (no
 * PTE_U): user accesses fault and mm_handle_fault refuses them.  Every
 * mapped user page is readable; PROT_COW drops write permission only.
 */
static uint64_t prot_flags(unsigned prot)
{
    if (!(prot & PROT_ALL))
        return PTE_P | PTE_NX;
    uint64_t f = PTE_P | PTE_U;
    if ((prot & SD_PROT_WRITE) && !(prot & PROT_COW))
        f |= PTE_W;
    if (!(prot & SD_PROT_EXEC))
        f |= PTE_NX;            /* dropped by the paging API on CPUs without NX */
    return f;
}

/* The entry as the paging API would store it (unsupported bits dropped). */
static pte_t make_entry(phys_addr_t pa, unsigned prot)
{
    return pa | ((prot_flags(prot) | PTE_P) & PTE_FLAGS & pte_supported_mask);
}

static pte_t *leaf(struct mm *mm, uintptr_t va)
{
    BUG_ON(va >= SD_USER_TOP);
    pte_t *pte = paging_walk(mm->pml4, va, false);
    return pte && (*pte & PTE_P) ? pte : NULL;
}

pte_t arch_pte_get(struct mm *mm, uintptr_t va)
{
    if (va >= SD_USER_TOP)
        return 0;
    pte_t *pte = paging_walk(mm->pml4, va, false);
    return pte ? READ_ONCE(*pte) : 0;
}

uintptr_t arch_pte_next(struct mm *mm, uintptr_t va, uintptr_t end)
{
    if (end > SD_USER_TOP)
        end = SD_USER_TOP;
    return va >= end ? end : paging_next_present(mm->pml4, va, end);
}

int arch_pte_map(struct mm *mm, uintptr_t va, phys_addr_t pa, unsigned prot)
{
    BUG_ON(va >= SD_USER_TOP || (va & (PAGE_SIZE - 1)) || (pa & ~PTE_ADDR));
    /* The tables on the way are installed race-free (paging.c); the leaf
     * is tested and stored under its PT's lock: two faulters of one page
     * map it once. */
    pte_t *pte = paging_walk(mm->pml4, va, true);
    if (!pte)
        return -SD_ENOMEM;
    struct pte_lock l;
    pt_lock_entry_table(pte, &l);
    int err = 0;
    if (READ_ONCE(*pte) & PTE_P) {
        err = -SD_EEXIST;
    } else {
        pte_t new = make_entry(pa, prot);
        WRITE_ONCE(*pte, new);
        tlbcheck_pte_change(mm, va, 0, new);
    }
    arch_pte_unlock(&l);
    return err;
}

bool arch_pte_unmap(struct mm *mm, uintptr_t va, phys_addr_t *frame, struct pt_free_list *tables)
{
    BUG_ON(va >= SD_USER_TOP);
    pte_t old;
    unsigned unhooked = tables ? tables->count : 0;
    if (paging_unmap(mm->pml4, va, &old, tables) != 0)
        return false;
    tlbcheck_pte_change(mm, va, old, 0);
    if (tables && tables->count != unhooked)
        tlbcheck_tables_unlinked(mm);
    *frame = old & PTE_ADDR;
    return true;
}

bool arch_pte_protect(struct mm *mm, uintptr_t va, unsigned prot)
{
    pte_t *pte = leaf(mm, va);
    if (!pte)
        return false;
    pte_t old;
    if (paging_protect(mm->pml4, va, prot_flags(prot), &old) != 0)
        return false;
    pte_t new = READ_ONCE(*pte);
    tlbcheck_pte_change(mm, va, old, new);
    return ((old ^ new) & ~(PTE_A | PTE_D)) != 0;
}

/* What one PT maps. */
#define PT_SPAN ((uintptr_t)PTES_PER_TABLE * PAGE_SIZE)

void arch_pte_cursor_init(struct pte_cursor *c, struct mm *mm)
{
    c->mm = mm;
    c->base = 0;
    c->pt = NULL;
}

/* The PT that holds va's entry (allocating the tables on the way if
 * `alloc`), remembered for the next call; NULL if there is none. */
static pte_t *cursor_pt(struct pte_cursor *c, uintptr_t va, bool alloc)
{
    uintptr_t base = va & ~(PT_SPAN - 1);
    if (c->pt && c->base == base)
        return c->pt;
    pte_t *pte = paging_walk(c->mm->pml4, va, alloc);
    if (!pte)
        return NULL;
    c->base = base;
    c->pt = pte - PT_INDEX(va);
    return c->pt;
}

uintptr_t arch_pte_cursor_next(struct pte_cursor *c, uintptr_t va, uintptr_t end)
{
    if (end > SD_USER_TOP)
        end = SD_USER_TOP;
    while (va < end) {
        uintptr_t base = va & ~(PT_SPAN - 1);
        if (!c->pt || c->base != base) {
            /* Skips missing tables whole, as arch_pte_next. */
            va = paging_next_present(c->mm->pml4, va, end);
            if (va < end)
                cursor_pt(c, va, false);    /* NULL only for a large page */
            return va;
        }
        uintptr_t stop = end - base > PT_SPAN ? base + PT_SPAN : end;
        for (; va < stop; va += PAGE_SIZE)
            if (c->pt[PT_INDEX(va)] & PTE_P)
                return va;
    }
    return end;
}

int arch_pte_share_cow(struct pte_cursor *parent, struct pte_cursor *child, uintptr_t va, unsigned prot,
                       phys_addr_t *frame, bool *wrprotected)
{
    /* One entry of each tree, through the cursors: fork calls this for
     * every present page, mostly for neighbours in one PT. */
    BUG_ON(va >= SD_USER_TOP);
    pte_t *ppt = cursor_pt(parent, va, false);
    if (!ppt || !(ppt[PT_INDEX(va)] & PTE_P))
        return -SD_ENOENT;
    pte_t *src = &ppt[PT_INDEX(va)];
    pte_t old = *src;
    pte_t *cpt = cursor_pt(child, va, true);
    if (!cpt)
        return -SD_ENOMEM;
    pte_t *dst = &cpt[PT_INDEX(va)];
    BUG_ON(*dst & PTE_P);
    pte_t shared = make_entry(old & PTE_ADDR, prot | PROT_COW);
    WRITE_ONCE(*dst, shared);
    tlbcheck_pte_change(child->mm, va, 0, shared);
    *frame = old & PTE_ADDR;
    *wrprotected = (old & PTE_W) != 0;
    if (*wrprotected) {
        WRITE_ONCE(*src, old & ~PTE_W);
        tlbcheck_pte_change(parent->mm, va, old, old & ~PTE_W);
    }
    return 0;
}

phys_addr_t arch_pte_replace(struct mm *mm, uintptr_t va, phys_addr_t pa, unsigned prot)
{
    pte_t *pte = leaf(mm, va);
    BUG_ON(!pte);
    pte_t old = *pte, new = make_entry(pa, prot);
    WRITE_ONCE(*pte, new);
    tlbcheck_pte_change(mm, va, old, new);
    return old & PTE_ADDR;
}

/* Put `table` on the list (linked through its first word, arch/paging.h). */
static void collect(struct pt_free_list *tables, pte_t *table)
{
    *(pte_t **)table = tables->head;
    tables->head = table;
    tables->count++;
}

/* Unhook the table an entry of its parent points to, onto the list.  The
 * checker learns of it before any flush can free it: the gather callback
 * may flush (and free what was unhooked so far) at any leaf. */
static void unhook(struct mm *mm, pte_t *entry, pte_t *table, struct pt_free_list *tables)
{
    WRITE_ONCE(*entry, 0);
    collect(tables, table);
    tlbcheck_tables_unlinked(mm);
}

/* Eight entries at a time: most entries of a table are empty, and eight
 * loads with one test and branch cost an emulator far fewer instructions
 * than eight tests and branches. */
static bool eight_empty(const pte_t *t)
{
    return (t[0] | t[1] | t[2] | t[3] | t[4] | t[5] | t[6] | t[7]) == 0;
}

/* Clear every present entry of one page table (the 2 MiB at base). */
static void clear_pt(struct mm *mm, pte_t *pt, uintptr_t base, arch_pte_gather_fn gather, void *ctx)
{
    for (unsigned l = 0; l < PTES_PER_TABLE; l++) {
        if (l % 8 == 0 && eight_empty(&pt[l])) {
            l += 7;
            continue;
        }
        pte_t old = pt[l];
        if (!old)
            continue;
        uintptr_t va = base + (uintptr_t)l * PAGE_SIZE;
        WRITE_ONCE(pt[l], 0);
        tlbcheck_pte_change(mm, va, old, 0);
        if (old & PTE_P)
            gather(ctx, va, old & PTE_ADDR);
    }
}

void arch_pte_unmap_all(struct mm *mm, arch_pte_gather_fn gather, void *ctx, struct pt_free_list *tables)
{
    /* One pass over the tables that exist, each read once: the walk from
     * the root per page it replaces read four entries for every page, and
     * then every table again to unhook it. */
    pte_t *pml4 = mm->pml4;
    for (unsigned i = 0; i < PML4_KERNEL_FIRST; i++) {
        if (!(pml4[i] & PTE_P))
            continue;
        pte_t *pdpt = phys_to_virt(pml4[i] & PTE_ADDR);
        for (unsigned j = 0; j < PTES_PER_TABLE; j++) {
            if (j % 8 == 0 && eight_empty(&pdpt[j])) {
                j += 7;
                continue;
            }
            if (!(pdpt[j] & PTE_P))
                continue;
            BUG_ON(pdpt[j] & PTE_PS);
            pte_t *pd = phys_to_virt(pdpt[j] & PTE_ADDR);
            for (unsigned k = 0; k < PTES_PER_TABLE; k++) {
                if (k % 8 == 0 && eight_empty(&pd[k])) {
                    k += 7;
                    continue;
                }
                if (!(pd[k] & PTE_P))
                    continue;
                BUG_ON(pd[k] & PTE_PS);
                pte_t *pt = phys_to_virt(pd[k] & PTE_ADDR);
                uintptr_t base = (uintptr_t)i << 39 | (uintptr_t)j << 30 | (uintptr_t)k << 21;
                clear_pt(mm, pt, base, gather, ctx);
                unhook(mm, &pd[k], pt, tables);
            }
            unhook(mm, &pdpt[j], pd, tables);
        }
        unhook(mm, &pml4[i], pdpt, tables);
    }
}

void arch_pte_free_tables(struct mm *mm, struct pt_free_list *tables)
{
    if (tables->count)
        tlbcheck_tables_free(mm);       /* asserts no CPU can walk them any more */
    arch_pte_release_tables(tables);
}

void arch_pte_tables_flushed(struct mm *mm, struct pt_free_list *tables)
{
    if (tables->count)
        tlbcheck_tables_free(mm);       /* no CPU caches them: the flush returned */
}

void arch_pte_release_tables(struct pt_free_list *tables)
{
    /* No lockless walker may be in one (docs/tlbcheck.md, "Lockless walkers"). */
    if (tlbcheck_on())
        for (pte_t *t = tables->head; t; t = *(pte_t **)t)
            tlbcheck_table_release(virt_to_phys(t));
    pt_free_list_release(tables);
}

void arch_pte_tables_splice(struct pt_free_list *dst, struct pt_free_list *src)
{
    if (!src->head)
        return;
    pte_t *last = src->head;
    while (*(pte_t **)last)
        last = *(pte_t **)last;
    *(pte_t **)last = dst->head;        /* a table's first word: its link */
    dst->head = src->head;
    dst->count += src->count;
    *src = (struct pt_free_list)PT_FREE_LIST_INIT;
}

bool arch_pgd_alloc(struct mm *mm)
{
    pte_t *pml4 = paging_new_pml4();
    if (!pml4)
        return false;
    mm->pml4 = pml4;
    mm->pgd = virt_to_phys(pml4);
    tlbcheck_mm_create(mm);
    return true;
}

void arch_pgd_free(struct mm *mm)
{
    /* Asserts that no CPU has the PML4 in CR3 or borrows mm. */
    tlbcheck_mm_free(mm);
    paging_free_pml4(mm->pml4);
}
