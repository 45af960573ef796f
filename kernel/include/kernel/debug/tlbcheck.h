/*
 * kernel/debug/tlbcheck.h - the shadow-TLB checker's hooks (boot option
 * tlbcheck=on|off; on in `make test`).  docs/tlbcheck.md.
 *
 * No emulator here keeps a PCID-tagged TLB, so a missed flush of a cached
 * ASID is invisible to QEMU and Bochs.  The checker is an independent model
 * of what each CPU may still have cached, per PCID, driven only by what the
 * kernel actually does:
 *   - the TLB instructions it executes (CR3 writes with and without NOFLUSH,
 *     INVLPG, INVPCID, CR4.PGE toggles: arch/tlbcheck/insn.h, called from the
 *     arch primitives that execute them);
 *   - every change of a user PTE, recorded with the checker's own sequence
 *     number for the mm (the hooks below, called only by the arch
 *     functions that make the stores, arch/pte.h: kernel/ never stores an
 *     entry itself, tools/check-pte-boundary.py);
 *   - which CPUs are lazy and which mm each CPU's kernel thread borrows.
 * It reports (naming the CPU, the mm's ctx_id, the address and the
 * operation) and panics when a CPU could use a stale translation after the
 * flush covering it returned, when a page table or a PML4 is freed while a
 * CPU can still reach it, or when an mm is freed while a CPU borrows it.
 *
 * Every hook is a no-op (one predictable branch) when the checker is off.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <kernel/compiler.h>
#include <arch/memlayout.h>

struct mm;

extern bool tlbcheck_enabled;           /* tlbcheck=on|off, read-mostly */
static inline bool tlbcheck_on(void) { return __builtin_expect(tlbcheck_enabled, 0); }

/* At boot, once the page allocator and kmalloc work: the checker's own
 * memory (the frame records, below). */
void tlbcheck_init(void);

/* An mm is created / is about to be freed (its PML4 too).  At free the
 * checker asserts that no CPU has its PML4 in CR3 and no CPU borrows it. */
void tlbcheck_mm_create(struct mm *mm);
void tlbcheck_mm_free(struct mm *mm);

/* A user leaf entry of mm for va changed from old to new (mm->lock held;
 * called after the store).  Changes that need no flush on real hardware
 * (not present -> present, only adding write permission) are ignored. */
void tlbcheck_pte_change(struct mm *mm, uintptr_t va, uint64_t old, uint64_t new);
/* Page-table pages of mm were unhooked (called after the stores), and are
 * about to go back to the allocator after the flush (called just before):
 * at the free the checker asserts that no CPU can still walk them - no CPU
 * has mm in CR3 (lazily or not) without a flush of its paging-structure
 * caches since the unhooking. */
void tlbcheck_tables_unlinked(struct mm *mm);
void tlbcheck_tables_free(struct mm *mm);

/*
 * Lockless walkers (docs/tlbcheck.md, "Lockless walkers"): this CPU's
 * lockless page-table walk (arch_pte_lookup_lockless, inside pt_walk_begin/
 * end) is about to read the table at `table` (called after reading the
 * entry that points to it, before the first load from it) / is over.  And
 * the table at `table` goes back to the allocator: the checker asserts that
 * no CPU's walk that entered it is still going on.
 */
void tlbcheck_walk_enter(unsigned level, phys_addr_t table);
void tlbcheck_walk_end(void);
void tlbcheck_table_release(phys_addr_t table);

/* flush_tlb_mm_range() brackets: begin returns a token (the change
 * sequence it covers); end asserts that every CPU running mm non-lazily is
 * clean up to it, and publishes it: from then on any CPU that touches mm's
 * user memory (return to user, uaccess) must be clean up to it. */
uint64_t tlbcheck_flush_begin(struct mm *mm);
void tlbcheck_flush_end(struct mm *mm, uint64_t token);

/* This CPU enters lazy mode (enter_lazy_tlb) / is back to running its loaded
 * mm non-lazily (called at the END of the switch, after any catch-up). */
void tlbcheck_set_lazy(bool lazy);
/* This CPU's current kernel thread starts borrowing mm (NULL: stops). */
void tlbcheck_borrow(struct mm *mm);

/* This CPU is about to use user translations of its loaded mm: each return
 * to user mode and each kernel access to user memory.  Asserts that it can
 * hold no stale translation of a change whose flush has returned. */
void tlbcheck_user_access(void);
/* The same, at a return to user mode (the end of a system call, an
 * exception or an interrupt from user mode), and also: if this thread made
 * the latest change of its mm, that change was flushed. */
void tlbcheck_user_return(void);

/*
 * Flush owed (docs/tlbcheck.md): the mm's lock is about to be released
 * for writing (kernel/mm's mm_unlock, by the thread that holds it).
 * Asserts that every change of mm that lowered rights was covered by a
 * completed flush.
 */
void tlbcheck_mm_unlock(struct mm *mm);
/* The same for the read side (mm_read_unlock): only the changes the
 * calling thread made must be covered - other readers flush their own. */
void tlbcheck_mm_read_unlock(struct mm *mm);

/*
 * Frame lifetime (docs/tlbcheck.md): the block of 2^order frames at pa
 * goes back to the page allocator (page_free).  Asserts that no frame of
 * it was unmapped (or replaced) by a change whose flush has not completed:
 * some CPU could still reach it through a stale translation.  The frames
 * a change takes out of a mapping are learnt by tlbcheck_pte_change().
 */
void tlbcheck_frame_free(phys_addr_t pa, unsigned order);
