/*
 * arch/pte.h - the one way generic code changes the page tables of a user
 * address space (arch/x86_64/mm/pte.c, docs/memory.md "The PTE-update
 * interface").
 *
 * Every store to an entry of an mm's tree is made by one of the functions
 * below, and each of them reports the change to the shadow-TLB checker
 * itself (kernel/debug/tlbcheck.h: tlbcheck_pte_change with the old and the new
 * entry, tlbcheck_tables_unlinked, tlbcheck_tables_free, tlbcheck_mm_create,
 * tlbcheck_mm_free).  Code in kernel/ holds no pointer to an entry and
 * names no entry bit, so a new page-table change cannot forget to tell the
 * checker: tools/check-pte-boundary.py (run by `make test`) fails if
 * kernel/ stores an entry or calls one of those hooks itself.
 *
 * Rights are given arch-neutrally: the SD_PROT_* bits of the VMA
 * (uapi/shootdown.h), plus PROT_COW for a page shared copy-on-write
 * (readable, never writable until the fault that copies it).
 *
 * What the functions do NOT do: take mm->lock (the caller holds it, which
 * guards the user half of mm's tree; arch_pte_map alone takes the page
 * table's lock, for faults under the read side) or flush (the caller knows the range
 * and flushes with flush_tlb_mm_range(); an unmapped frame or an unhooked
 * table is released only after that, kernel/mm/mmu_gather.h).
 */
#pragma once
#include <arch/paging.h>

struct mm;

/* With SD_PROT_*: shared copy-on-write, mapped without write permission. */
#define PROT_COW 0x100u

/* ---- reading an entry ----------------------------------------------------- */

/* The leaf entry for the 4 KiB page at va in mm's tree, one atomic read;
 * 0 (not present) if a table on the way is missing. */
pte_t arch_pte_get(struct mm *mm, uintptr_t va);

static inline bool arch_pte_present(pte_t e) { return e & PTE_P; }

/* The first page in [va, end) that may be mapped in mm (mm->lock held):
 * ranges without page tables are skipped whole, so a loop over a region
 *     for (va = arch_pte_next(mm, start, end); va < end; va = arch_pte_next(mm, va + PAGE_SIZE, end))
 * costs what is mapped, not the region's size.  end if nothing is. */
uintptr_t arch_pte_next(struct mm *mm, uintptr_t va, uintptr_t end);
static inline bool arch_pte_writable(pte_t e) { return e & PTE_W; }
/* The frame a present entry maps. */
static inline phys_addr_t arch_pte_frame(pte_t e) { return e & PTE_ADDR; }

/* ---- changing entries (mm->lock held; the caller flushes) ------------------ */

/*
 * The lock of the page table that holds va's leaf entry (docs/locking.md,
 * "Page-table locks"): false, and nothing locked, when there is no such
 * table (nothing mapped near va).  Under the read side of mm->lock (page
 * faults), hold it around reading an entry and changing it by
 * arch_pte_protect/arch_pte_replace, so that another faulter's change of
 * the same entry cannot come in between.  The table stays while mm->lock
 * is held: tables are freed only under the write side.  Interrupts are
 * off while it is held; never wait for a flush with it (rule 3).
 */
bool arch_pte_lock(struct mm *mm, uintptr_t va, struct pte_lock *l);
void arch_pte_unlock(struct pte_lock *l);

/* Map the empty entry for va to pa with `prot`, allocating tables as
 * needed.  Returns 0, -SD_ENOMEM, or -SD_EEXIST if va is mapped already
 * (another faulter may have mapped it first: tested under the PT's lock,
 * which it takes itself - do not hold it).  Not present -> present: no
 * flush owed. */
int arch_pte_map(struct mm *mm, uintptr_t va, phys_addr_t pa, unsigned prot);

/* Clear the entry for va.  Returns false if nothing was mapped there; else
 * *frame is the frame it mapped (the caller still holds the mapping's
 * reference).  With `tables`, tables left empty are unhooked onto it. */
bool arch_pte_unmap(struct mm *mm, uintptr_t va, phys_addr_t *frame, struct pt_free_list *tables);

/* Give the present entry for va the rights `prot` (same frame).  Returns
 * true if the entry changed (more than the accessed/dirty bits): then a
 * flush is owed if rights were lowered.  False also if va is not mapped. */
bool arch_pte_protect(struct mm *mm, uintptr_t va, unsigned prot);

/*
 * A pass over the pages of one mm in increasing order that keeps the page
 * table it used last (the PT of one aligned 2 MiB), so that the next page
 * of the same 2 MiB costs one entry read instead of a walk from the root.
 * Valid while the caller holds mm->lock for writing and unhooks no table
 * of mm (fork's passes over the parent and over the child it fills).
 */
struct pte_cursor {
    struct mm *mm;
    uintptr_t base;     /* the 2 MiB `pt` maps */
    pte_t *pt;          /* NULL: none yet */
};
void arch_pte_cursor_init(struct pte_cursor *c, struct mm *mm);
/* arch_pte_next(c->mm, va, end), reading the remembered table's entries
 * where it can. */
uintptr_t arch_pte_cursor_next(struct pte_cursor *c, uintptr_t va, uintptr_t end);

/* Fork: share the parent's present page at va with the child (whose entry
 * for va is empty): the child maps the same frame with prot | PROT_COW, and
 * the parent's entry loses write permission if it had it (*wrprotected:
 * then a flush of the parent is owed).  *frame is the frame; the caller
 * takes the child's reference.  Returns 0, -SD_ENOENT if the parent maps
 * nothing at va, or -SD_ENOMEM (a child table; nothing changed).  The
 * cursors are on the parent and on the child. */
int arch_pte_share_cow(struct pte_cursor *parent, struct pte_cursor *child, uintptr_t va, unsigned prot,
                       phys_addr_t *frame, bool *wrprotected);

/* Copy-on-write: point the present entry for va at `pa` with `prot`, in
 * one store (a CPU sees the old frame or the new one, never a hole).
 * Returns the frame it mapped before. */
phys_addr_t arch_pte_replace(struct mm *mm, uintptr_t va, phys_addr_t pa, unsigned prot);

/* ---- page tables ------------------------------------------------------------ */

/* Teardown: clear every entry of mm's user half and unhook every table
 * onto `tables`, in one pass over the tables that exist.  Each present
 * entry's frame goes to gather(ctx, va, frame), which takes over the
 * mapping's reference; it may flush and free the tables unhooked so far
 * (each is reported unlinked before the next entry is looked at). */
typedef void (*arch_pte_gather_fn)(void *ctx, uintptr_t va, phys_addr_t frame);
void arch_pte_unmap_all(struct mm *mm, arch_pte_gather_fn gather, void *ctx, struct pt_free_list *tables);

/* Free tables unhooked from mm - only after the flush with freed_tables
 * that covers them returned. */
void arch_pte_free_tables(struct mm *mm, struct pt_free_list *tables);

/* Tables whose flush with freed_tables returned, when they go back to the
 * allocator only later, after an RCU grace period (pt_free=rcu,
 * kernel/mm/pt_free.c): the checker's "no CPU can walk them" is asserted
 * now, while mm is alive; arch_pte_release_tables() frees them. */
void arch_pte_tables_flushed(struct mm *mm, struct pt_free_list *tables);
/* Free tables whose flush returned and whose grace period ended (mm may be
 * gone by then).  The checker asserts that no lockless walker is in one. */
void arch_pte_release_tables(struct pt_free_list *tables);
/* Move every table of src to dst (src is empty afterwards). */
void arch_pte_tables_splice(struct pt_free_list *dst, struct pt_free_list *src);

/* ---- the lockless walk (kernel/mm/pt_walk.c, docs/rcu.md) ------------------- */

/* Where a lockless lookup found the leaf entry, and what it held. */
struct arch_pte_ref {
    const pte_t *slot;
    pte_t entry;
};

/*
 * Look up the user page at va in mm's tree WITHOUT mm->lock: only between
 * pt_walk_begin() and pt_walk_end() (which keep every table it reads from
 * being freed: interrupts off against the flush IPI with pt_free=ipi, an
 * RCU reader with pt_free=rcu).  Each entry is read once.  True with
 * *frame when va is mapped present, user accessible, writable if `write`,
 * by a 4 KiB entry; false on anything else (the caller takes the slow,
 * locked path).  *ref lets the caller check the entry again.
 */
bool arch_pte_lookup_lockless(struct mm *mm, uintptr_t va, bool write, struct arch_pte_ref *ref,
                              phys_addr_t *frame);
/* The entry ref found still holds the same value (inside the same walk). */
bool arch_pte_ref_unchanged(const struct arch_pte_ref *ref);
/* The walk of this CPU is over: it holds no pointer into any table now
 * (pt_walk_end, before its read side ends; tells the checker). */
void arch_pte_lockless_end(void);

/* The top-level table of a new address space (mm->pml4, mm->pgd), its
 * kernel half filled in; false when out of memory.  Call it last in the
 * creation: the checker starts tracking mm here.  And its release, when
 * no CPU can use it any more (the user half must be empty). */
bool arch_pgd_alloc(struct mm *mm);
void arch_pgd_free(struct mm *mm);
