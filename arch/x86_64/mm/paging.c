/*
 * arch/x86_64/mm/paging.c - the page-table API (see arch/paging.h).
 *
 * A 4 KiB translation goes PML4 -> PDPT -> PD -> PT; each level is a 4 KiB
 * table of 512 entries indexed by 9 bits of the virtual address.  A PDPT or
 * PD entry with PTE_PS is a leaf (1 GiB / 2 MiB page) and ends the walk.
 *
 * Rights of intermediate entries: the CPU ANDs the W and U bits and ORs the
 * NX bits of every level.  We give intermediate entries P|W (|U in the user
 * half) and never NX, so the leaf alone decides.
 *
 * Freeing tables: paging_unmap() checks whether the PT it cleared an entry
 * in is now all zero and, if so, unhooks it from its PD, then the same for
 * the PD and the PDPT.  A scan of 512 entries is cheap next to the TLB flush
 * that follows every unmap, and it needs no per-table counter to keep right.
 * Only in the user half: kernel-half tables are never unhooked (kva.c says
 * why).
 *
 * Page-table locks (docs/locking.md, "Page-table locks"; pt_lock.c).  Page
 * faults run under the read side of mm->lock, several at once: they change
 * leaf entries only under the lock of the PT that holds them.  Missing
 * tables are installed with a compare-exchange on the parent entry
 * (next_level): two faulters that both find a hole both allocate, one
 * wins, the other frees its table, which nobody could have seen.  Tables
 * are unhooked and freed only under the write side, so a table a reader
 * found stays.
 */
#include <arch/paging.h>
#include <arch/x86/cpufeatures.h>
#include <arch/x86/x86.h>
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/mm.h>
#include <kernel/debug/tlbcheck.h>
#include <lib/string.h>

uint64_t pte_supported_mask = ~(PTE_NX | PTE_G);

static bool va_canonical(uintptr_t va)
{
    /* Bits 63..47 all equal. */
    return (uintptr_t)((intptr_t)(va << 16) >> 16) == va;
}

static bool va_is_user(uintptr_t va)
{
    return va < USER_TOP;
}

/* A kernel-half leaf changed: the shadow-TLB checker records it (user
 * mms' changes are reported by their callers, with the mm). */
static void report_kernel_change(pte_t *pml4, uintptr_t va, pte_t old, pte_t new)
{
    if (pml4 == kernel_pml4 && va >= USER_TOP)
        tlbcheck_pte_change(&init_mm, va, old, new);
}

static pte_t *table_at(pte_t entry)
{
    return phys_to_virt(entry & PTE_ADDR);
}

static pte_t *alloc_table(void)
{
    phys_addr_t pa = page_alloc_zeroed(0);
    if (!pa)
        return NULL;
    pa_to_page(pa)->flags |= PG_PAGETABLE;
    return phys_to_virt(pa);
}

static bool table_empty(const pte_t *t)
{
    for (unsigned i = 0; i < PTES_PER_TABLE; i++)
        if (t[i])
            return false;
    return true;
}

/*
 * The entry pointing to the next level below `table` for va, allocating
 * the next table if `alloc`.  Returns the next table, or NULL if it is missing (and not
 * allocated) or the entry is a large-page leaf (*large).
 *
 * Installing is a compare-exchange of the empty entry: page faults under
 * the read side of mm->lock may both find the hole.  The loser frees its
 * table - never reachable, so no flush is owed for it - and goes on with
 * the winner's.  The table is zeroed before the exchange publishes it (a
 * locked RMW: a walker that sees the entry sees the zeroes behind it).
 */
static pte_t *next_level(pte_t *table, unsigned index, uintptr_t va, bool alloc, bool *large)
{
    pte_t e = READ_ONCE(table[index]);
    if (!(e & PTE_P)) {
        if (!alloc)
            return NULL;
        pte_t *t = alloc_table();
        if (!t)
            return NULL;
        pte_t flags = PTE_P | PTE_W | (va_is_user(va) ? PTE_U : 0);
        pte_t want = virt_to_phys(t) | flags;
        pte_t expected = 0;
        if (__atomic_compare_exchange_n(&table[index], &expected, want, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return t;
        page_free(virt_to_phys(t), 0);  /* another faulter installed one first */
        e = expected;
        if (!(e & PTE_P))
            return NULL;        /* not a table entry: nothing else stores one here */
    }
    if (e & PTE_PS) {
        *large = true;
        return NULL;
    }
    return table_at(e);
}

pte_t *paging_walk(pte_t *pml4, uintptr_t va, bool alloc)
{
    bool large = false;
    if (!va_canonical(va))
        return NULL;
    pte_t *pdpt = next_level(pml4, PML4_INDEX(va), va, alloc, &large);
    if (!pdpt)
        return NULL;
    pte_t *pd = next_level(pdpt, PDPT_INDEX(va), va, alloc, &large);
    if (!pd)
        return NULL;
    pte_t *pt = next_level(pd, PD_INDEX(va), va, alloc, &large);
    if (!pt)
        return NULL;
    return &pt[PT_INDEX(va)];
}

uintptr_t paging_next_present(pte_t *pml4, uintptr_t va, uintptr_t end)
{
    /* Each level's missing entry skips the whole span it would map: 512 GiB,
     * 1 GiB, 2 MiB, then single pages inside a present table. */
    static const unsigned shift[3] = { 39, 30, 21 };
    while (va < end) {
        if (!va_canonical(va))
            return end;
        pte_t *table = pml4;
        unsigned level;
        for (level = 0; level < 3; level++) {
            pte_t e = table[(va >> shift[level]) & 511];
            if (!(e & PTE_P) || (e & PTE_PS))
                break;
            table = table_at(e);
        }
        if (level < 3) {
            uintptr_t span = (uintptr_t)1 << shift[level];
            uintptr_t next = (va | (span - 1)) + 1;
            if (table[(va >> shift[level]) & 511] & PTE_P)     /* a large page: its first 4 KiB */
                return va;
            if (next <= va)
                return end;
            va = next;
            continue;
        }
        if (table[PT_INDEX(va)] & PTE_P)
            return va;
        va += PAGE_SIZE;
    }
    return end;
}

/* Like paging_walk(pml4, va, false) but tells a large page from a hole. */
static pte_t *walk_existing(pte_t *pml4, uintptr_t va, bool *large)
{
    *large = false;
    pte_t *pdpt = next_level(pml4, PML4_INDEX(va), va, false, large);
    if (!pdpt)
        return NULL;
    pte_t *pd = next_level(pdpt, PDPT_INDEX(va), va, false, large);
    if (!pd)
        return NULL;
    pte_t *pt = next_level(pd, PD_INDEX(va), va, false, large);
    if (!pt)
        return NULL;
    return &pt[PT_INDEX(va)];
}

int paging_map(pte_t *pml4, uintptr_t va, phys_addr_t pa, uint64_t flags)
{
    if (!va_canonical(va) || (va & (PAGE_SIZE - 1)) || (pa & ~PTE_ADDR) || (flags & PTE_PS))
        return PT_EINVAL;
    bool large = false;
    if (walk_existing(pml4, va, &large) == NULL && large)
        return PT_EEXIST;
    pte_t *pte = paging_walk(pml4, va, true);
    if (!pte)
        return PT_ENOMEM;
    if (*pte & PTE_P)
        return PT_EEXIST;
    WRITE_ONCE(*pte, pa | ((flags | PTE_P) & PTE_FLAGS & pte_supported_mask));
    return 0;
}

static void free_list_add(struct pt_free_list *freed, pte_t *table)
{
    *(pte_t **)table = freed->head;
    freed->head = table;
    freed->count++;
}

/* The present 4 KiB leaf entry for va, or why there is none. */
static int present_leaf(pte_t *pml4, uintptr_t va, pte_t **leaf)
{
    if (!va_canonical(va) || (va & (PAGE_SIZE - 1)))
        return PT_EINVAL;
    bool large;
    pte_t *pte = walk_existing(pml4, va, &large);
    if (!pte)
        return large ? PT_EINVAL : PT_ENOENT;
    if (!(*pte & PTE_P))
        return PT_ENOENT;
    *leaf = pte;
    return 0;
}

int paging_unmap(pte_t *pml4, uintptr_t va, pte_t *old, struct pt_free_list *freed)
{
    pte_t *pte;
    int err = present_leaf(pml4, va, &pte);
    if (err)
        return err;
    pte_t e = *pte;
    WRITE_ONCE(*pte, 0);
    report_kernel_change(pml4, va, e, 0);
    if (old)
        *old = e;
    /* Kernel-half tables stay for ever: a CPU's paging-structure caches may
     * point at them with no flush owed to anyone (kva.c). */
    if (!freed || !va_is_user(va))
        return 0;

    /* Unhook the tables that are now empty, bottom up. */
    pte_t *pdpt = table_at(pml4[PML4_INDEX(va)]);
    pte_t *pd = table_at(pdpt[PDPT_INDEX(va)]);
    pte_t *pt = table_at(pd[PD_INDEX(va)]);
    if (!table_empty(pt))
        return 0;
    WRITE_ONCE(pd[PD_INDEX(va)], 0);
    free_list_add(freed, pt);
    if (!table_empty(pd))
        return 0;
    WRITE_ONCE(pdpt[PDPT_INDEX(va)], 0);
    free_list_add(freed, pd);
    if (!table_empty(pdpt))
        return 0;
    WRITE_ONCE(pml4[PML4_INDEX(va)], 0);
    free_list_add(freed, pdpt);
    return 0;
}

void pt_free_list_release(struct pt_free_list *freed)
{
    while (freed->head) {
        pte_t *t = freed->head;
        freed->head = *(pte_t **)t;
        freed->count--;
        page_free(virt_to_phys(t), 0);
    }
    BUG_ON(freed->count != 0);
}

int paging_protect(pte_t *pml4, uintptr_t va, uint64_t flags, pte_t *old)
{
    if (flags & PTE_PS)
        return PT_EINVAL;
    pte_t *pte;
    int err = present_leaf(pml4, va, &pte);
    if (err)
        return err;
    pte_t e = *pte;
    if (old)
        *old = e;
    WRITE_ONCE(*pte, (e & PTE_ADDR) | ((flags | PTE_P) & PTE_FLAGS & pte_supported_mask));
    report_kernel_change(pml4, va, e, *pte);
    return 0;
}

bool paging_lookup(pte_t *pml4, uintptr_t va, phys_addr_t *pa, uint64_t *flags, size_t *size)
{
    if (!va_canonical(va))
        return false;
    pte_t *table = pml4;
    /* Level shifts: PML4 39, PDPT 30, PD 21, PT 12. */
    for (unsigned shift = 39;; shift -= 9) {
        pte_t e = READ_ONCE(table[(va >> shift) & 511]);
        if (!(e & PTE_P))
            return false;
        bool leaf = shift == 12 || ((e & PTE_PS) && (shift == 30 || shift == 21));
        if (leaf) {
            size_t sz = 1ul << shift;
            /* A large page's address field also holds the PAT bit (bit 12);
             * mask to the page size. */
            phys_addr_t base = e & PTE_ADDR & ~(sz - 1);
            if (pa)
                *pa = base | (va & (sz - 1));
            if (flags)
                *flags = e & PTE_FLAGS;
            if (size)
                *size = sz;
            return true;
        }
        table = table_at(e);
    }
}

pte_t *paging_new_pml4(void)
{
    pte_t *pml4 = alloc_table();
    if (!pml4)
        return NULL;
    memcpy(&pml4[PML4_KERNEL_FIRST], &kernel_pml4[PML4_KERNEL_FIRST],
           (PTES_PER_TABLE - PML4_KERNEL_FIRST) * sizeof(pte_t));
    return pml4;
}

void paging_free_pml4(pte_t *pml4)
{
    BUG_ON(pml4 == kernel_pml4);
    for (unsigned i = 0; i < PML4_KERNEL_FIRST; i++)
        if (pml4[i])
            panic("paging_free_pml4(%p): user half still has tables (entry %u = %#lx)", pml4, i, pml4[i]);
    page_free(virt_to_phys(pml4), 0);
}
